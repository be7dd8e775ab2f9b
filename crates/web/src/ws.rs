//! `GET /ws`: a live camera session.
//!
//! Client → server: binary messages are JPEG (or PNG) frames; text messages are JSON controls:
//! `{"type":"finish","strategy":"match","session":"tab-r1"}` (end the session: summary and recommendations; a new
//! session starts) and `{"type":"reset"}`.
//!
//! Server → client (JSON text): `{"type":"hello",...}` once; `{"type":"frame",...}` per processed
//! frame; `{"type":"summary",...}` after finish; `{"type":"reset"}`; `{"type":"error","message":..}`.
//!
//! At most one frame waits while another is processed: a newer frame replaces it (the replaced one
//! is counted in `dropped`), so a fast or hostile client cannot queue work or memory. Frames are
//! decoded in memory and never stored.

use crate::imaging::decode_image;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use moodlens_model::Classifier;
use moodlens_vision::source::Frame;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

type Pipe = moodlens_vision::run::BoxedPipeline<Classifier>;

pub async fn upgrade(State(st): State<Arc<AppState>>, ws: WebSocketUpgrade) -> Response {
    let Ok(permit) = st.sessions.clone().try_acquire_owned() else {
        return crate::api::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many live sessions at once; try again later",
        )
        .into_response();
    };
    let max = st.limits.max_ws_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| live_connection(st, socket, permit))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Control {
    Finish {
        #[serde(default)]
        strategy: Option<String>,
        /// The page's name for this reading (its re-ranks through `/api/recommend` update the
        /// same history entry).
        #[serde(default)]
        session: Option<String>,
    },
    Reset,
}

enum Job {
    Frame(Bytes),
    Control(Control),
}

async fn send(socket: &mut WebSocket, v: &Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

/// The pipeline of one camera connection: the CLI's defaults (`moodlens live`: smoothing window,
/// tracking, crops, region scans) around the shared classifier. An error is said on the socket.
async fn open_pipeline(st: &AppState, socket: &mut WebSocket) -> Option<Pipe> {
    let detector = st.detector.clone();
    let clf = st.classifier.clone();
    let made = tokio::task::spawn_blocking(move || {
        moodlens_vision::VisionConfig {
            detector,
            ..Default::default()
        }
        .pipeline(clf)
    })
    .await;
    match made {
        Ok(Ok(p)) => Some(p),
        Ok(Err(e)) => {
            let m = format!("face detector: {e}");
            let _ = send(socket, &json!({"type":"error","message":m})).await;
            None
        }
        Err(e) => {
            tracing::error!("{e}");
            None
        }
    }
}

/// What one connection has received and not yet handed to the pipeline.
#[derive(Default)]
struct Inbox {
    /// The newest frame (a newer one replaces it: `dropped` counts those).
    frame: Option<Bytes>,
    controls: VecDeque<Control>,
    dropped: u64,
}

impl Inbox {
    /// The next job: the waiting frame first, then the controls in order.
    fn next_job(&mut self) -> Option<Job> {
        match self.frame.take() {
            Some(b) => Some(Job::Frame(b)),
            None => self.controls.pop_front().map(Job::Control),
        }
    }

    /// Takes in one client message: `Ok(false)` when the client closed, `Err(reply)` for an error
    /// to tell the client.
    fn take(&mut self, msg: Message, max_controls: usize) -> Result<bool, Value> {
        match msg {
            Message::Binary(b) => {
                if self.frame.replace(b).is_some() {
                    self.dropped += 1;
                }
            }
            Message::Text(t) => match serde_json::from_str::<Control>(t.as_str()) {
                Ok(c) if self.controls.len() < max_controls => self.controls.push_back(c),
                Ok(_) => {
                    return Err(
                        json!({"type":"error","message":"too many control messages waiting"}),
                    )
                }
                Err(e) => {
                    let m = format!("malformed control message ({e}); expected {{\"type\":\"finish\",\"strategy\":\"match\"}} or {{\"type\":\"reset\"}}, or a binary JPEG frame");
                    return Err(json!({"type":"error","message":m}));
                }
            },
            Message::Close(_) => return Ok(false),
            Message::Ping(_) | Message::Pong(_) => {}
        }
        Ok(true)
    }
}

/// One camera connection: frames and controls in, one reply per job out, one job at a time on the
/// CPU pool (see the module docs).
async fn live_connection(st: Arc<AppState>, mut socket: WebSocket, _permit: OwnedSemaphorePermit) {
    let Some(p) = open_pipeline(&st, &mut socket).await else {
        return;
    };
    let mut pipe = Some(p);
    let limits = st.limits.clone();
    let hello = json!({
        "type": "hello",
        "max_message_bytes": limits.max_ws_message_bytes,
        "max_frame_pixels": limits.max_frame_pixels,
    });
    if !send(&mut socket, &hello).await {
        return;
    }
    let mut inbox = Inbox::default();
    let mut index: u64 = 0;
    let mut job: Option<JoinHandle<Option<(Pipe, Value)>>> = None;
    loop {
        if job.is_none() && pipe.is_some() {
            if let Some(next) = inbox.next_job() {
                let p = pipe.take().expect("checked above");
                job = Some(start(&st, p, next, index, inbox.dropped));
                index += 1;
            }
        }
        tokio::select! {
            msg = tokio::time::timeout(limits.ws_idle, socket.recv()) => {
                let msg = match msg {
                    Err(_) => {
                        let _ = send(&mut socket, &json!({"type":"error","message":"closed: no message for too long"})).await;
                        break;
                    }
                    Ok(None) | Ok(Some(Err(_))) => break,
                    Ok(Some(Ok(m))) => m,
                };
                match inbox.take(msg, limits.max_pending_controls) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(reply) => if !send(&mut socket, &reply).await { break },
                }
            }
            res = async { job.as_mut().expect("guarded by the select condition").await }, if job.is_some() => {
                job = None;
                let Ok(Some((p, reply))) = res else {
                    let _ = send(&mut socket, &json!({"type":"error","message":"internal error: the session ended"})).await;
                    break;
                };
                pipe = Some(p);
                if !send(&mut socket, &reply).await { break; }
            }
        }
    }
    if let Some(j) = job {
        j.abort();
    }
}

fn start(
    st: &Arc<AppState>,
    mut p: Pipe,
    job: Job,
    index: u64,
    dropped: u64,
) -> JoinHandle<Option<(Pipe, Value)>> {
    let st = st.clone();
    tokio::spawn(async move {
        let permit = st.cpu.clone().acquire_owned().await.ok()?;
        let r = tokio::task::spawn_blocking(move || {
            let reply = match job {
                Job::Frame(bytes) => frame_reply(&st, &mut p, &bytes, index, dropped),
                Job::Control(Control::Reset) => {
                    p.reset();
                    json!({"type":"reset"})
                }
                Job::Control(Control::Finish { strategy, session }) => {
                    finish_reply(&st, &mut p, strategy, session)
                }
            };
            (p, reply)
        })
        .await
        .ok();
        drop(permit);
        r
    })
}

fn frame_reply(st: &AppState, p: &mut Pipe, bytes: &[u8], index: u64, dropped: u64) -> Value {
    let t0 = Instant::now();
    let image = match decode_image(bytes, st.limits.max_frame_pixels) {
        Ok(m) => m,
        Err(e) => return json!({"type":"error","message":format!("frame {index}: {e}")}),
    };
    let frame = Frame {
        index,
        timestamp_ms: 0.0,
        image,
    };
    match p.process(&frame) {
        Ok(r) => {
            let faces = moodlens_vision::FaceReport::all(&r.faces, &r.detections);
            json!({
                "type": "frame",
                "frame": index,
                "width": r.width,
                "height": r.height,
                "faces": faces,
                "dropped": dropped,
                "ms": t0.elapsed().as_secs_f64() * 1000.0,
            })
        }
        Err(e) => json!({"type":"error","message":format!("frame {index}: {e}")}),
    }
}

fn finish_reply(
    st: &AppState,
    p: &mut Pipe,
    strategy: Option<String>,
    session: Option<String>,
) -> Value {
    let summary = p.summary();
    p.reset();
    let mut reply = json!({"type":"summary","summary":summary,"recommendations":null});
    if summary.final_mood.is_none() {
        reply["message"] = json!("No face was seen, so no mood and no recommendations.");
        return reply;
    }
    let mut opts = match crate::api::options(strategy.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            reply["message"] = json!(e.message);
            return reply;
        }
    };
    if let Some(s) = session.as_deref() {
        match crate::api::session_name(s) {
            Ok(name) => opts.session = Some(name),
            Err(e) => {
                reply["message"] = json!(e.message);
                return reply;
            }
        }
    }
    // the session's mood by the one rule the CLI uses too (moodlens_session::mood): each person's
    // when several were seen for a while, and one list for the group (least misery by default)
    let Some(mood) = summary.mood() else {
        reply["message"] = json!("No face was seen, so no mood and no recommendations.");
        return reply;
    };
    let result = st.recommender.for_session(&mood, "camera", &opts);
    match result {
        Ok(rec) => reply["recommendations"] = json!(rec),
        Err(e) => reply["message"] = json!(format!("no recommendations: {e:#}")),
    }
    reply
}
