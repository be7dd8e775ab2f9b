//! The CLI path (`moodlens live --input video --json`) and the web path (the same frames over the
//! web app's WebSocket, then "finish") compute the session's mood by the one rule and ask the
//! recommender the same thing. The frames are a real face that reads mostly happy (twice) and a
//! real face that reads strongly sad (once): the most frequent smoothed emotion is happy, while the
//! mean of the raw probabilities leans sad, so a front end that averaged instead of voting would
//! disagree. Real photos from `../shared/data/realfaces` (FAILS without them), the embedded model.

use moodlens_vision::opencv::core::{Mat, Vector};
use moodlens_vision::opencv::prelude::*;
use moodlens_vision::opencv::{imgcodecs, videoio};
use moodlens_vision::testvideo::{compose_video, Actor};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const EMOTIONS: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
];

/// A face that reads happy, but not by much over sad, and one that reads clearly sad (checked
/// below: the test's premise).
const MOSTLY_HAPPY: &str = "happy/Suzanne_Mubarak_0001.jpg";
const CLEARLY_SAD: &str = "sad/Chante_Jawan_Mallard_0001.jpg";

fn photo(rel: &str) -> PathBuf {
    let p = moodlens_common::require_shared_data(&["realfaces"])
        .join("realfaces")
        .join(rel);
    assert!(p.is_file(), "{} is missing", p.display());
    p
}

/// Three 640x480 frames: the mostly-happy face twice, then the sad face at the same place (one
/// person, one track).
fn video(dir: &Path) -> PathBuf {
    let v = dir.join("session.avi");
    let actor = |rel: &str, from, until| Actor {
        photo: photo(rel),
        side: 300,
        start: (170, 90),
        velocity: (0, 0),
        brightness: 0.0,
        from,
        until,
    };
    compose_video(
        &v,
        (640, 480),
        10.0,
        3,
        &[actor(MOSTLY_HAPPY, 0, 2), actor(CLEARLY_SAD, 2, 3)],
    )
    .unwrap();
    v
}

/// The video's frames as the CLI decodes them, each encoded losslessly (PNG) for the WebSocket.
fn frames_as_png(video: &Path) -> Vec<Vec<u8>> {
    let mut cap =
        videoio::VideoCapture::from_file(video.to_str().unwrap(), videoio::CAP_ANY).unwrap();
    let mut out = Vec::new();
    let mut m = Mat::default();
    while cap.read(&mut m).unwrap() && !m.empty() {
        let mut buf = Vector::<u8>::new();
        imgcodecs::imencode(".png", &m, &mut buf, &Vector::new()).unwrap();
        out.push(buf.to_vec());
    }
    out
}

fn probs(face: &Value, key: &str) -> [f64; 7] {
    EMOTIONS.map(|e| face[key][e].as_f64().unwrap())
}

fn argmax(p: &[f64; 7]) -> &'static str {
    let i = (0..7).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    EMOTIONS[i]
}

/// The request part of a recommendation answer: everything the recommender was asked, not the
/// (seeded) picks.
fn request(rec: &Value) -> Value {
    let mut r = serde_json::Map::new();
    for k in [
        "mood",
        "probabilities",
        "valence",
        "arousal",
        "strategy",
        "genres",
        "excluded_genres",
        "music_mix",
        "people",
        "aggregation",
    ] {
        r.insert(k.into(), rec[k].clone());
    }
    Value::Object(r)
}

/// Numbers equal to 1e-6 (the two paths decode the same pixels; JSON round trips floats).
fn assert_same(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() < 1e-6, "{path}: {x} vs {y}");
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (k, v) in x {
                assert_same(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                assert_same(u, v, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn cli_and_web_give_the_same_mood_and_ask_the_same_of_the_recommender() {
    let dir = tempfile::tempdir().unwrap();
    let video = video(dir.path());

    // --- the CLI path
    let out = Command::new(env!("CARGO_BIN_EXE_moodlens"))
        .args(["live", "--headless", "--json", "--offline", "--input"])
        .arg(&video)
        .arg("--db")
        .arg(dir.path().join("cli.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (cli_end, cli_frames) = lines.split_last().unwrap();
    assert_eq!(cli_frames.len(), 3);
    let raw: Vec<[f64; 7]> = cli_frames
        .iter()
        .map(|f| {
            let faces = f["faces"].as_array().unwrap();
            assert_eq!(faces.len(), 1, "one face per frame: {f}");
            probs(&faces[0], "probabilities")
        })
        .collect();
    // The premise: voting on the smoothed emotion says happy, averaging the raw probabilities
    // says sad.
    let mean: [f64; 7] = std::array::from_fn(|i| raw.iter().map(|p| p[i]).sum::<f64>() / 3.0);
    let votes: Vec<&str> = cli_frames
        .iter()
        .map(|f| argmax(&probs(&f["faces"][0], "smoothed")))
        .collect();
    assert_eq!(argmax(&mean), "sad", "premise: raw mean {mean:?}");
    assert_eq!(
        votes.iter().filter(|v| **v == "happy").count(),
        2,
        "premise: smoothed votes {votes:?}"
    );
    assert_eq!(cli_end["summary"]["final_mood"], "happy", "{cli_end}");
    let cli_rec = &cli_end["recommendations"];
    assert_eq!(cli_rec["mood"], "happy", "{cli_rec}");

    // --- the web path: the same frames, one at a time, then "finish"
    let srv = moodlens_web::spawn(
        &moodlens_web::ServeConfig {
            port: 0,
            service: moodlens_recommend::ServiceConfig {
                db: Some(dir.path().join("web.db")),
                config: None,
                offline: true,
            },
            ..Default::default()
        },
        moodlens_web::Limits::default(),
    )
    .unwrap();
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{}/ws",
        srv.addr
    ))
    .unwrap();
    req.headers_mut()
        .insert("Origin", srv.url().parse().unwrap());
    let (mut ws, _) = tungstenite::connect(req).unwrap();
    let next = |ws: &mut tungstenite::WebSocket<_>| loop {
        match ws.read().unwrap() {
            tungstenite::Message::Text(t) => {
                break serde_json::from_str::<Value>(t.as_str()).unwrap()
            }
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
            m => panic!("unexpected {m:?}"),
        }
    };
    assert_eq!(next(&mut ws)["type"], "hello");
    for (i, png) in frames_as_png(&video).into_iter().enumerate() {
        ws.send(tungstenite::Message::Binary(png.into())).unwrap();
        let f = next(&mut ws);
        assert_eq!(f["type"], "frame", "{f}");
        // the same pixels give the same probabilities as the CLI's frame
        assert_same(
            &f["faces"][0]["probabilities"],
            &cli_frames[i]["faces"][0]["probabilities"],
            &format!("frame {i}"),
        );
    }
    ws.send(tungstenite::Message::Text(r#"{"type":"finish"}"#.into()))
        .unwrap();
    let end = next(&mut ws);
    assert_eq!(end["type"], "summary", "{end}");
    assert_eq!(end["summary"]["final_mood"], "happy", "{end}");
    let web_rec = &end["recommendations"];
    assert_eq!(web_rec["mood"], "happy", "{web_rec}");
    assert_same(&request(web_rec), &request(cli_rec), "request");
}
