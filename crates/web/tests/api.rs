//! API tests against a real server on a free port: every endpoint, including oversized, empty and
//! malformed requests, the Host/Origin guard and the WebSocket protocol. Photos come from the shared
//! data (`$MOODLENS_DATA` or `../shared/data`); these tests fail without it.

mod common;

use common::{connect_ws, happy_photos, json_of, next_json, refused_as_too_large, server_in, LAST};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io::{Read, Write};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn photo_bytes() -> Vec<u8> {
    std::fs::read(&happy_photos()[0]).expect("photo")
}

/// The first happy photo in which the server finds a face.
fn face_photo(url: &str) -> Vec<u8> {
    for p in happy_photos().iter().take(20) {
        let b = std::fs::read(p).expect("photo");
        let (s, v) = json_of(
            ureq::post(&format!("{url}/api/detect"))
                .set("Content-Type", "image/jpeg")
                .send_bytes(&b),
        );
        assert_eq!(s, 200, "{v}");
        if !v["faces"].as_array().expect("faces").is_empty() {
            return b;
        }
    }
    panic!("no face found in the first 20 happy photos");
}

/// The one documented face shape (`moodlens_vision::FaceReport`): the same keys in `detect
/// --json`, `live --json` (crates/app/tests/cli.rs checks those), `/api/detect` and `/ws`.
const FACE_KEYS: [&str; 9] = [
    "bbox",
    "emotion",
    "face",
    "landmarks",
    "probabilities",
    "score",
    "smoothed",
    "top3",
    "track_id",
];

fn check_face(f: &Value) {
    let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, FACE_KEYS, "{f}");
    let b = &f["bbox"];
    assert!(
        b["w"].as_i64().unwrap() > 20 && b["h"].as_i64().unwrap() > 20,
        "{f}"
    );
    let probs = f["probabilities"].as_object().expect("probabilities");
    assert_eq!(probs.len(), 7);
    let sum: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}");
    let top = f["top3"].as_array().expect("top3");
    assert_eq!(top.len(), 3);
    assert!(top[0]["probability"].as_f64() >= top[1]["probability"].as_f64());
    assert!(probs.contains_key(top[0]["emotion"].as_str().unwrap()));
    // the default detector (YuNet) gives a score and five landmarks
    assert!(f["score"].as_f64().is_some_and(|s| s > 0.5), "{f}");
    assert_eq!(f["landmarks"].as_array().map(|l| l.len()), Some(5), "{f}");
}

#[test]
fn recommend_lists_are_stable_in_a_session_and_shuffle_gives_new_picks() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let url = srv.url();
    let titles = |q: &str| -> Vec<String> {
        let (s, v) = json_of(ureq::get(&format!("{url}/api/recommend?{q}")).call());
        assert_eq!(s, 200, "{v}");
        v["movies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap().to_string())
            .collect()
    };
    let a = titles("mood=happy&session=tab1&movies=5");
    let b = titles("mood=happy&session=tab1&movies=5");
    assert_eq!(a, b, "same session, same mood and strategy: same list");
    let c = titles("mood=happy&session=tab1&movies=5&shuffle=true");
    assert_ne!(a, c, "shuffle gives new picks");
    let (s, _) =
        json_of(ureq::get(&format!("{url}/api/recommend?mood=happy&session=a%20b")).call());
    assert_eq!(s, 400);
}

#[test]
fn health_page_and_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let url = srv.url();
    let (s, v) = json_of(ureq::get(&format!("{url}/health")).call());
    assert_eq!(s, 200);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["model"], "embedded");

    let r = ureq::get(&format!("{url}/")).call().expect("page");
    assert!(r.content_type().starts_with("text/html"));
    let csp = r
        .header("content-security-policy")
        .unwrap_or("")
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = r.into_string().unwrap();
    assert!(html.contains("Start camera") && html.contains("/app.js"));
    let js = ureq::get(&format!("{url}/app.js")).call().expect("js");
    assert!(js.content_type().contains("javascript"));
    assert!(js.into_string().unwrap().contains("new WebSocket"));
    let css = ureq::get(&format!("{url}/style.css")).call().expect("css");
    assert_eq!(css.content_type(), "text/css");

    let (s, v) = json_of(ureq::get(&format!("{url}/nope")).call());
    assert_eq!(s, 404);
    assert!(v["error"].is_string());
}

#[test]
fn detect_raw_multipart_and_bad_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |a, _| a.max_upload_mib = 1);
    let url = srv.url();
    let detect = format!("{url}/api/detect");
    let jpeg = face_photo(&url);

    // raw bytes
    let (s, v) = json_of(
        ureq::post(&detect)
            .set("Content-Type", "application/octet-stream")
            .send_bytes(&jpeg),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["width"], 350);
    let faces = v["faces"].as_array().unwrap();
    assert!(!faces.is_empty());
    faces.iter().for_each(check_face);
    assert!(v["summary"]["final_mood"].is_string());

    // multipart (a text field first, then the file)
    let boundary = "XmoodlensX";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend_from_slice(&jpeg);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (s, v2) = json_of(
        ureq::post(&detect)
            .set(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send_bytes(&body),
    );
    assert_eq!(s, 200, "{v2}");
    assert_eq!(v2["faces"], v["faces"]);

    // empty
    let (s, v) = json_of(ureq::post(&detect).send_bytes(&[]));
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("empty"), "{v}");
    // not an image
    let (s, v) = json_of(
        ureq::post(&detect)
            .set("Content-Type", "image/jpeg")
            .send_bytes(b"hello, I am text pretending to be a JPEG"),
    );
    assert_eq!(s, 415);
    assert!(v["error"].as_str().unwrap().contains("not an image"), "{v}");
    // truncated JPEG
    let (s, v) = json_of(ureq::post(&detect).send_bytes(&jpeg[..jpeg.len() / 2]));
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("decoded"), "{v}");
    // oversized (limit 1 MiB)
    let big = vec![0xFFu8; 1024 * 1024 + 10];
    refused_as_too_large(ureq::post(&detect).send_bytes(&big));
    // oversized multipart
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n").as_bytes());
    body.extend_from_slice(&big);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    refused_as_too_large(
        ureq::post(&detect)
            .set(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send_bytes(&body),
    );
    // malformed multipart
    let (s, v) = json_of(
        ureq::post(&detect)
            .set("Content-Type", "multipart/form-data; boundary=zzz")
            .send_bytes(b"this is not multipart at all"),
    );
    assert_eq!(s, 400, "{v}");
    let (s, _) = json_of(
        ureq::post(&detect)
            .set("Content-Type", "multipart/form-data")
            .send_bytes(b"--x\r\n"),
    );
    assert_eq!(s, 400);
    // wrong method
    let r = ureq::get(&detect).call();
    assert!(matches!(r, Err(ureq::Error::Status(405, _))));
}

#[test]
fn detect_pixel_limit() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, l| l.max_upload_pixels = 10_000);
    let (s, v) =
        json_of(ureq::post(&format!("{}/api/detect", srv.url())).send_bytes(&photo_bytes()));
    assert_eq!(s, 413);
    assert!(v["error"].as_str().unwrap().contains("350x350"), "{v}");
}

#[test]
fn recommend_feedback_history() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let url = srv.url();
    let (s, v) = json_of(ureq::get(&format!("{url}/api/history")).call());
    assert_eq!(s, 200);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 0);

    let (s, rec) = json_of(
        ureq::get(&format!(
            "{url}/api/recommend?mood=happy&strategy=uplift&seed=7&movies=3&music=4"
        ))
        .call(),
    );
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["mood"], "happy");
    assert_eq!(rec["strategy"], "uplift");
    assert_eq!(rec["movies"].as_array().unwrap().len(), 3);
    assert_eq!(rec["music"].as_array().unwrap().len(), 4);
    let movie = &rec["movies"][0];
    assert!(movie["link"].as_str().unwrap().starts_with("https://"));

    let probs = "0.05,0.05,0.05,0.05,0.6,0.1,0.1";
    let (s, rec2) = json_of(
        ureq::get(&format!(
            "{url}/api/recommend?probabilities={probs}&source=camera&record=false"
        ))
        .call(),
    );
    assert_eq!(s, 200, "{rec2}");
    assert_eq!(rec2["mood"], "sad");
    // no strategy given: the mood's default (sad → comfort)
    assert_eq!(rec2["strategy"], "comfort");
    assert!(
        rec2["movies"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{rec2}"
    );

    for (q, needle) in [
        ("mood=grumpy", "grumpy"),
        ("mood=happy&strategy=sideways", "sideways"),
        ("", "missing mood"),
        ("mood=happy&probabilities=1,2,x", "7 comma-separated"),
        ("probabilities=1,2,x", "7 comma-separated"),
        ("probabilities=0.5,0.5", "7"),
        ("mood=happy&movies=1000", "at most 50"),
        ("mood=happy&movies=-1", ""),
        ("mood=happy&source=radio", "radio"),
        ("mood=happy&colour=blue", "colour"),
    ] {
        let (s, v) = json_of(ureq::get(&format!("{url}/api/recommend?{q}")).call());
        assert_eq!(s, 400, "{q}: {v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{q}: {v}");
    }

    // feedback on the recommended movie
    let key = movie["key"].as_str().unwrap();
    let (s, fb) = json_of(
        ureq::post(&format!("{url}/api/feedback")).send_json(json!({"item": key, "liked": true})),
    );
    assert_eq!(s, 200, "{fb}");
    assert_eq!(fb["item_key"], key);
    assert_eq!(fb["liked"], true);
    let (s, fb) = json_of(
        ureq::post(&format!("{url}/api/feedback"))
            .send_json(json!({"item": rec["music"][0]["key"], "liked": false})),
    );
    assert_eq!(s, 200, "{fb}");
    assert_eq!(fb["kind"], "track");
    // unknown item, malformed bodies
    let (s, v) = json_of(
        ureq::post(&format!("{url}/api/feedback"))
            .send_json(json!({"item": "no such film ever made", "liked": true})),
    );
    assert_eq!(s, 404, "{v}");
    for (ct, body) in [
        ("application/json", "{\"item\": "),
        ("application/json", "{\"liked\": true}"),
        ("application/json", "{\"item\": \"x\", \"liked\": \"yes\"}"),
        ("application/json", "{\"item\": \"\", \"liked\": true}"),
        ("application/json", ""),
        ("text/plain", "{\"item\": \"x\", \"liked\": true}"),
    ] {
        let (s, v) = json_of(
            ureq::post(&format!("{url}/api/feedback"))
                .set("Content-Type", ct)
                .send_string(body),
        );
        assert!((400..500).contains(&s), "{body}: {s} {v}");
        assert!(v["error"].is_string(), "{body}: {v}");
    }
    let huge = format!("{{\"item\": \"{}\", \"liked\": true}}", "x".repeat(100_000));
    refused_as_too_large(
        ureq::post(&format!("{url}/api/feedback"))
            .set("Content-Type", "application/json")
            .send_string(&huge),
    );

    // history: one recorded session (the second asked not to be recorded)
    let (s, v) = json_of(ureq::get(&format!("{url}/api/history?last=10")).call());
    assert_eq!(s, 200);
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{v}");
    assert_eq!(sessions[0]["mood"], "happy");
    assert_eq!(sessions[0]["strategy"], "uplift");
    for q in ["last=0", "last=abc", "last=99999999", "since=yesterday"] {
        let (s, v) = json_of(ureq::get(&format!("{url}/api/history?{q}")).call());
        assert_eq!(s, 400, "{q}: {v}");
    }
}

/// One history entry per reading: re-ranks of a page's reading (same `session`, same mood) update
/// it; `count` is the stored number; entries can be deleted one by one or all at once and
/// exported; likes are listed and undone; sizes are said in MB.
#[test]
fn history_entries_export_delete_and_likes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let url = srv.url();
    let get = |q: &str| json_of(ureq::get(&format!("{url}/api/recommend?{q}")).call());
    // a manual reading, re-ranked twice (strategy switch, new picks)
    for q in [
        "mood=happy&session=tab-r1",
        "mood=happy&session=tab-r1&strategy=calm",
        "mood=happy&session=tab-r1&strategy=calm&shuffle=true",
    ] {
        let (s, v) = get(q);
        assert_eq!(s, 200, "{q}: {v}");
    }
    // a camera reading named by the page, placed by its probabilities: the name wins
    let (s, v) = get("mood=neutral&probabilities=0.1,0,0,0.5,0,0,0.4&session=tab-r2&source=camera");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["mood"], "neutral");
    let (s, h) = json_of(ureq::get(&format!("{url}/api/history?last=1")).call());
    assert_eq!(s, 200);
    assert_eq!(h["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(h["count"], 2, "{h}");
    assert!(h["database"].as_str().unwrap().ends_with("moodlens.db"));
    let (_, h) = json_of(ureq::get(&format!("{url}/api/history")).call());
    let first = &h["sessions"][0];
    assert_eq!(first["mood"], "happy");
    assert_eq!(first["strategy"], "calm");
    let id = first["id"].as_i64().unwrap();

    // export
    let csv = ureq::get(&format!("{url}/api/history/export?format=csv"))
        .call()
        .unwrap();
    assert!(csv
        .header("Content-Disposition")
        .unwrap()
        .contains("moodlens-history.csv"));
    let csv = csv.into_string().unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let (s, j) = json_of(ureq::get(&format!("{url}/api/history/export")).call());
    assert_eq!(s, 200);
    assert_eq!(j.as_array().unwrap().len(), 2);
    let (s, v) = json_of(ureq::get(&format!("{url}/api/history/export?format=xml")).call());
    assert_eq!(s, 400, "{v}");

    // delete one, a missing one, a bad id; then clear
    let (s, v) = json_of(ureq::delete(&format!("{url}/api/history/{id}")).call());
    assert_eq!((s, v["count"].as_i64()), (200, Some(1)), "{v}");
    let (s, v) = json_of(ureq::delete(&format!("{url}/api/history/{id}")).call());
    assert_eq!(s, 404, "{v}");
    let (s, v) = json_of(ureq::delete(&format!("{url}/api/history/abc")).call());
    assert_eq!(s, 400, "{v}");
    let (s, v) = json_of(ureq::delete(&format!("{url}/api/history")).call());
    assert_eq!((s, v["deleted"].as_i64()), (200, Some(1)), "{v}");
    let (_, h) = json_of(ureq::get(&format!("{url}/api/history")).call());
    assert_eq!(h["count"], 0);

    // likes: listed, undone, a second undo is 404
    let (_, rec) = get("mood=sad&record=false");
    let key = rec["movies"][0]["key"].as_str().unwrap().to_string();
    let (s, _) = json_of(
        ureq::post(&format!("{url}/api/feedback")).send_json(json!({"item": key, "liked": true})),
    );
    assert_eq!(s, 200);
    let (_, fb) = json_of(ureq::get(&format!("{url}/api/feedback")).call());
    assert_eq!(fb["feedback"][0]["item_key"], key.as_str());
    assert_eq!(fb["feedback"][0]["liked"], true);
    let undo = format!("{url}/api/feedback?item={}", urlencode(&key));
    let (s, v) = json_of(ureq::delete(&undo).call());
    assert_eq!(s, 200, "{v}");
    let (s, _) = json_of(ureq::delete(&undo).call());
    assert_eq!(s, 404);
    let (_, fb) = json_of(ureq::get(&format!("{url}/api/feedback")).call());
    assert!(fb["feedback"].as_array().unwrap().is_empty());

    // a cross-origin page cannot delete the history
    let (s, _) = json_of(
        ureq::delete(&format!("{url}/api/history"))
            .set("Origin", "http://evil.example")
            .call(),
    );
    assert_eq!(s, 403);
    // the favicon is served (no 404 in the browser's console)
    let fav = ureq::get(&format!("{url}/favicon.ico")).call().unwrap();
    assert_eq!(fav.header("Content-Type"), Some("image/svg+xml"));
    // the upload limit is said in MB, not bytes
    let (_, health) = json_of(ureq::get(&format!("{url}/health")).call());
    assert_eq!(health["max_sessions"], 8);
    let big = vec![0u8; 10 * 1024 * 1024 + 10];
    match ureq::post(&format!("{url}/api/detect")).send_bytes(&big) {
        Err(ureq::Error::Status(413, r)) => {
            let v: Value = r.into_json().unwrap();
            assert_eq!(v["error"], "file too large (max 10 MB)");
        }
        Err(ureq::Error::Transport(_)) => {} // closed while sending: see refused_as_too_large
        other => panic!("{other:?}"),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Raw HTTP/1.1 request (to send Host/Origin headers a client library would set itself).
fn raw(addr: std::net::SocketAddr, req: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn host_and_origin_guard() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let port = srv.addr.port();
    // DNS rebinding: a foreign Host name is refused while bound to loopback
    let r = raw(
        srv.addr,
        "GET /api/history HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    let r = raw(
        srv.addr,
        &format!("GET /health HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // cross-site POST refused, same-origin POST accepted
    let body = "{\"item\":\"x\",\"liked\":true}";
    let post = |origin: &str| {
        raw(
            srv.addr,
            &format!(
                "POST /api/feedback HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let r = post("https://evil.example");
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    assert!(r.contains("not allowed"));
    let r = post(&format!("http://127.0.0.1:{port}"));
    assert!(r.starts_with("HTTP/1.1 404"), "{r}"); // passed the guard; "x" is no item
}

#[test]
fn exposure_warning_only_off_loopback() {
    assert!(moodlens_web::exposure_warning("127.0.0.1".parse().unwrap()).is_none());
    assert!(moodlens_web::exposure_warning("::1".parse().unwrap()).is_none());
    let w = moodlens_web::exposure_warning("0.0.0.0".parse().unwrap()).unwrap();
    assert!(w.contains("warning"));
}

#[test]
fn websocket_session() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, l| l.max_ws_message_bytes = 512 * 1024);
    let url = srv.url();
    let jpeg = face_photo(&url);
    let ws_url = format!("ws://{}/ws", srv.addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // a foreign Origin is refused at the handshake
        let mut req = ws_url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("Origin", "https://evil.example".parse().unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
            other => panic!("expected 403, got {other:?}"),
        }

        let mut ws = connect_ws(&srv).await;
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["type"], "hello");
        assert_eq!(hello["max_message_bytes"], 512 * 1024);

        // frames, one at a time
        let mut ids = Vec::new();
        for _ in 0..3 {
            ws.send(Message::Binary(jpeg.clone().into())).await.unwrap();
            let f = next_json(&mut ws).await;
            assert_eq!(f["type"], "frame", "{f}");
            let faces = f["faces"].as_array().unwrap();
            assert!(!faces.is_empty(), "{f}");
            for face in faces {
                check_face(face);
                assert_eq!(face["smoothed"].as_object().unwrap().len(), 7);
            }
            ids.push(faces[0]["track_id"].clone());
        }
        assert!(
            ids.iter().all(|i| *i == ids[0]),
            "the same face keeps its id: {ids:?}"
        );

        // garbage and malformed controls are answered with errors; the session goes on
        *LAST.lock().unwrap() = "not a jpeg".into();
        ws.send(Message::Binary(b"not a jpeg".to_vec().into()))
            .await
            .unwrap();
        let e = next_json(&mut ws).await;
        assert_eq!(e["type"], "error");
        assert!(
            e["message"].as_str().unwrap().contains("not an image"),
            "{e}"
        );
        *LAST.lock().unwrap() = "dance".into();
        ws.send(Message::Text("{\"type\":\"dance\"}".into()))
            .await
            .unwrap();
        let e = next_json(&mut ws).await;
        assert_eq!(e["type"], "error");
        assert!(e["message"].as_str().unwrap().contains("malformed"), "{e}");
        *LAST.lock().unwrap() = "empty binary".into();
        ws.send(Message::Binary(Vec::new().into())).await.unwrap();
        let e = next_json(&mut ws).await;
        assert!(e["message"].as_str().unwrap().contains("empty"), "{e}");

        // a burst of frames: frames are dropped, not queued
        *LAST.lock().unwrap() = "burst".into();
        for _ in 0..6 {
            ws.send(Message::Binary(jpeg.clone().into())).await.unwrap();
        }
        ws.send(Message::Text(
            json!({"type":"finish","strategy":"calm"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        let mut frames_answered = 0;
        let summary = loop {
            let m = next_json(&mut ws).await;
            match m["type"].as_str() {
                Some("frame") => frames_answered += 1,
                Some("summary") => break m,
                _ => panic!("unexpected {m}"),
            }
        };
        assert!((1..=6).contains(&frames_answered));
        let s = &summary["summary"];
        assert!(s["frames"].as_u64().unwrap() >= 4, "{s}");
        let mood = s["final_mood"].as_str().expect("a mood");
        let rec = &summary["recommendations"];
        assert_eq!(rec["mood"], mood);
        assert_eq!(rec["strategy"], "calm");
        assert!(!rec["movies"].as_array().unwrap().is_empty());

        // finishing with no face seen gives no recommendations
        *LAST.lock().unwrap() = "second finish".into();
        ws.send(Message::Text("{\"type\":\"finish\"}".into()))
            .await
            .unwrap();
        let m = next_json(&mut ws).await;
        assert_eq!(m["type"], "summary");
        assert!(m["recommendations"].is_null());
        assert!(m["message"].as_str().unwrap().contains("No face"));

        // an oversized message closes the connection
        ws.send(Message::Binary(vec![0u8; 600 * 1024].into()))
            .await
            .unwrap();
        let end = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            loop {
                match ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(
            end.is_ok(),
            "the server should close an oversized message's connection"
        );
    });
    // the camera session was recorded in the history
    let (_, v) = json_of(ureq::get(&format!("{url}/api/history")).call());
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["source"], "camera");
}

#[test]
fn websocket_session_limit() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |a, _| a.max_sessions = 1);
    let ws_url = format!("ws://{}/ws", srv.addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut first, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("first session");
        assert_eq!(next_json(&mut first).await["type"], "hello");
        match tokio_tungstenite::connect_async(ws_url.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
            other => panic!("expected 503, got {other:?}"),
        }
    });
}
