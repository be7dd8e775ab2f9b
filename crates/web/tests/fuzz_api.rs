//! Fuzz-style property tests (proptest, bounded case counts) for the API request parsing of
//! `moodlens serve`: arbitrary query strings for `/api/recommend` and `/api/history`, arbitrary
//! bodies for `/api/feedback` and `/api/detect` (raw and multipart, random bytes and mutated JPEGs),
//! and arbitrary WebSocket text and binary messages. Every request must get a 2xx or a 4xx with a
//! JSON error (never a 5xx, never a dropped connection), every WebSocket message a JSON reply, and
//! the server must stay healthy afterwards.

mod common;

use common::{connect_ws, happy_photos, json_of, next_json, server_in, LAST};
use futures_util::SinkExt;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::cell::Cell;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

/// 2xx, or 4xx with a JSON `error` message.
fn assert_handled(what: &str, r: Result<ureq::Response, ureq::Error>) -> u16 {
    let (status, v) = json_of(r);
    assert!(status < 500, "{what}: server error {status}: {v}");
    if status >= 400 {
        assert!(
            v["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {status} without an error message: {v}"
        );
    }
    status
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Percent-encodes every byte that is not unreserved, so any string becomes a valid query part.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(angry|disgust|fear|happy|sad|surprise|neutral|HAPPY|joy|)".prop_map(String::from),
        proptest::collection::vec(-2.0f64..2.0, 0..9).prop_map(|v| v
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")),
        any::<i64>().prop_map(|n| n.to_string()),
        "(match|uplift|calm|true|false|camera|manual|image|NaN|inf|-1|1e309)"
            .prop_map(String::from),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        "(mood|probabilities|strategy|movies|music|seed|source|record|last)".prop_map(String::from),
        any::<String>(),
    ];
    proptest::collection::vec((key, query_value(), any::<bool>()), 0..6).prop_map(|kv| {
        kv.into_iter()
            .map(|(k, v, raw)| {
                if raw {
                    // unencoded: '&', '=', '%' and friends reach the parser as they are
                    format!("{}={}", enc(&k), v.replace([' ', '#'], "+"))
                } else {
                    format!("{}={}", enc(&k), enc(&v))
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[test]
fn recommend_and_history_queries_never_break_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let a = agent();
    let ok = Cell::new(0usize);
    let sent = Cell::new(0usize);
    runner(96)
        .run(&(query(), any::<bool>()), |(q, history)| {
            let path = if history {
                "api/history"
            } else {
                "api/recommend"
            };
            let url = format!("{}/{path}?{q}", srv.url());
            sent.set(sent.get() + 1);
            if assert_handled(&url, a.get(&url).call()) < 300 {
                ok.set(ok.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    // the generator reaches valid requests too, not only rejections
    eprintln!("queries: {} of {} accepted", ok.get(), sent.get());
    assert!(ok.get() > 0, "no request was accepted");
    assert_handled("health", a.get(&format!("{}/health", srv.url())).call());
}

fn feedback_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        any::<String>().prop_map(String::into_bytes),
        (any::<String>(), any::<bool>(), any::<Option<i32>>()).prop_map(|(item, liked, extra)| {
            let mut v = serde_json::json!({ "item": item, "liked": liked });
            if let Some(x) = extra {
                v["extra"] = x.into();
            }
            v.to_string().into_bytes()
        }),
        (query_value(), query_value()).prop_map(|(i, l)| {
            format!(
                "{{\"item\":{},\"liked\":{l}}}",
                serde_json::Value::String(i)
            )
            .into_bytes()
        }),
    ]
}

#[test]
fn feedback_bodies_never_break_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let a = agent();
    let url = format!("{}/api/feedback", srv.url());
    runner(96)
        .run(&(feedback_body(), any::<bool>()), |(body, json_type)| {
            let req = a.post(&url);
            let req = if json_type {
                req.set("Content-Type", "application/json")
            } else {
                req
            };
            assert_handled(&url, req.send_bytes(&body));
            Ok(())
        })
        .unwrap();
    assert_handled("health", a.get(&format!("{}/health", srv.url())).call());
}

/// A real photo with byte mutations and an optional truncation.
fn mutated_photo(photo: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = photo.len();
    (
        proptest::collection::vec((0..n, any::<u8>()), 0..6),
        prop_oneof![Just(n), 0..n],
    )
        .prop_map(move |(muts, cut)| {
            let mut b = photo.clone();
            for (i, v) in muts {
                // keep the first bytes (the JPEG signature) so decoding goes past the sniffing
                if i > 16 {
                    b[i] = v;
                }
            }
            b.truncate(cut.max(1));
            b
        })
}

fn multipart(body: &[u8], file: bool) -> (String, Vec<u8>) {
    let boundary = "----moodlensfuzz7d3a";
    let disp = if file {
        "form-data; name=\"image\"; filename=\"x.jpg\""
    } else {
        "form-data; name=\"image\""
    };
    let mut out = format!("--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n").into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), out)
}

#[test]
fn detect_bodies_never_break_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let a = agent();
    let url = format!("{}/api/detect", srv.url());
    let photo = std::fs::read(&happy_photos()[0]).unwrap();
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        mutated_photo(photo),
    ];
    // 0: raw body, 1: multipart file field, 2: multipart plain field, 3: a broken multipart form
    let accepted = Cell::new(0usize);
    let sent = Cell::new(0usize);
    runner(48)
        .run(&(body, 0u8..4), |(b, how)| {
            sent.set(sent.get() + 1);
            let r = match how {
                0 => a.post(&url).send_bytes(&b),
                1 | 2 => {
                    let (ct, m) = multipart(&b, how == 1);
                    a.post(&url).set("Content-Type", &ct).send_bytes(&m)
                }
                _ => a
                    .post(&url)
                    .set("Content-Type", "multipart/form-data; boundary=zz")
                    .send_bytes(&b),
            };
            if assert_handled(&url, r) < 300 {
                accepted.set(accepted.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "detect: {} of {} bodies analysed",
        accepted.get(),
        sent.get()
    );
    assert!(accepted.get() > 0, "no mutated photo was decoded");
    assert_handled("health", a.get(&format!("{}/health", srv.url())).call());
}

#[test]
fn websocket_messages_never_break_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, l| l.max_ws_message_bytes = 64 * 1024);
    let msg = prop_oneof![
        any::<String>().prop_map(Message::from),
        (
            "(finish|reset|dance|)",
            proptest::option::of("(match|uplift|calm|nope)")
        )
            .prop_map(|(t, s)| {
                let mut v = serde_json::json!({ "type": t });
                if let Some(s) = s {
                    v["strategy"] = s.into();
                }
                Message::from(v.to_string())
            }),
        proptest::collection::vec(any::<u8>(), 0..2048).prop_map(|b| Message::Binary(b.into())),
    ];
    let mut runner = runner(64);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ws = connect_ws(&srv).await;
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["type"], "hello");
        // proptest's runner is synchronous: generate the messages first, then send them in order
        let mut msgs = Vec::new();
        for _ in 0..runner.config().cases {
            msgs.push(msg.new_tree(&mut runner).unwrap().current());
        }
        let mut replies = 0;
        for m in msgs {
            let shown = format!("{m:?}");
            *LAST.lock().unwrap() = shown.clone();
            ws.send(m).await.unwrap();
            let v = next_json(&mut ws).await;
            assert!(
                v["type"].is_string(),
                "reply without a type to {shown}: {v}"
            );
            replies += 1;
        }
        eprintln!("websocket: {replies} messages answered");
        assert_eq!(replies, runner.config().cases as usize);
    });
    assert_handled(
        "health",
        agent().get(&format!("{}/health", srv.url())).call(),
    );
}
