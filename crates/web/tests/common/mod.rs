//! Shared helpers of the web tests: the shared data, a server on a free port with a temp database,
//! and small HTTP helpers.
#![allow(dead_code)]

use moodlens_web::{spawn, Limits, RunningServer, ServeConfig};
use std::path::{Path, PathBuf};

/// `$MOODLENS_DATA` or `../shared/data` beside the repository. Tests that need it FAIL without it.
pub fn data_dir() -> PathBuf {
    moodlens_common::require_shared_data(&["realfaces"])
}

/// Real photos of happy faces, sorted by name.
pub fn happy_photos() -> Vec<PathBuf> {
    let dir = data_dir().join("realfaces/happy");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().map(|x| x == "jpg").unwrap_or(false))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no photos in {}", dir.display());
    v
}

/// A server on 127.0.0.1 (free port), offline, with its own database in `dir`.
pub fn server_in(dir: &Path, tweak: impl FnOnce(&mut ServeConfig, &mut Limits)) -> RunningServer {
    let mut args = ServeConfig {
        port: 0,
        service: moodlens_recommend::ServiceConfig {
            db: Some(dir.join("moodlens.db")),
            config: None,
            offline: true,
        },
        ..ServeConfig::default()
    };
    let mut limits = Limits::default();
    tweak(&mut args, &mut limits);
    spawn(&args, limits).expect("server starts")
}

/// (status, JSON body) of a response or an error status.
pub fn json_of(r: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().expect("body");
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, v)
}

/// For a body over the limit: the server answers 413 from the Content-Length without reading the
/// body, and may close the connection while the client is still sending, so the client sees either
/// the 413 (with its JSON message) or a broken pipe / reset. Anything else fails.
pub fn refused_as_too_large(r: Result<ureq::Response, ureq::Error>) {
    match r {
        Err(ureq::Error::Transport(t)) => {
            let m = t.to_string();
            assert!(
                m.contains("Broken pipe") || m.contains("reset"),
                "transport error: {m}"
            );
        }
        other => {
            let (s, v) = json_of(other);
            assert_eq!(s, 413, "{v}");
            let m = v["error"].as_str().unwrap_or("");
            assert!(m.contains("too large") || m.contains("limit"), "{v}");
        }
    }
}

/// Messages sent last on a test WebSocket, shown when no reply comes.
pub static LAST: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the server's WebSocket as the page it serves would (its own Origin).
pub async fn connect_ws(srv: &RunningServer) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}/ws", srv.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Origin", srv.url().parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket connects")
        .0
}

/// The next JSON text message (pings and pongs skipped), within 60 s; anything else fails.
pub async fn next_json(ws: &mut Ws) -> serde_json::Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no message in time (last sent: {})", LAST.lock().unwrap()))
            .expect("open")
            .expect("message");
        match m {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}
