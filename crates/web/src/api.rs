//! The REST handlers. Every error is JSON `{"error": "..."}` with a 4xx/5xx status.

use crate::imaging::{analyze, decode_image, DecodeError};
use crate::{AppState, Worker};
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use moodlens_common::Emotion;
use moodlens_recommend::store::Store;
use moodlens_recommend::{Ask, Mood, RecommendError, Strategy};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("{e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> ApiError {
        let status = match e {
            DecodeError::Empty | DecodeError::Corrupt(_) => StatusCode::BAD_REQUEST,
            DecodeError::NotAnImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DecodeError::TooManyPixels { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        };
        ApiError::new(status, e.to_string())
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("file too large (max {})", human_size(max)),
    )
}

/// "10 MB", "512 KB": a size for people (MiB and KiB, called MB and KB as people do).
pub(crate) fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        let mb = bytes as f64 / (1024.0 * 1024.0);
        if mb.fract() == 0.0 {
            format!("{mb:.0} MB")
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page or endpoint")
}

/// `GET /health`
pub async fn health(State(st): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "model": st.classifier.source,
        "sessions_in_use": st.limits_sessions_in_use(),
        "max_sessions": st.max_sessions,
        "limits": {
            "max_upload_bytes": st.limits.max_upload_bytes,
            "max_ws_message_bytes": st.limits.max_ws_message_bytes,
            "max_upload_pixels": st.limits.max_upload_pixels,
            "max_frame_pixels": st.limits.max_frame_pixels,
        }
    }))
}

impl AppState {
    fn limits_sessions_in_use(&self) -> usize {
        // permits handed out = configured - available (configured is not stored by the semaphore)
        self.max_sessions_configured() - self.sessions.available_permits()
    }

    fn max_sessions_configured(&self) -> usize {
        self.max_sessions
    }

    /// A detector+classifier pair from the pool (or a new one).
    pub(crate) fn take_worker(&self) -> Result<Worker, moodlens_vision::VisionError> {
        if let Some(w) = self.pool.lock().ok().and_then(|mut p| p.pop()) {
            return Ok(w);
        }
        crate::image_pipeline(&self.detector, self.classifier.clone())
    }

    pub(crate) fn give_back(&self, w: Worker) {
        if let Ok(mut p) = self.pool.lock() {
            p.push(w);
        }
    }
}

/// The image bytes of a detect request: the raw body, or the first file (else first) field of a
/// multipart form.
async fn image_bytes(st: &AppState, req: Request) -> Result<Bytes, ApiError> {
    let max = st.limits.max_upload_bytes;
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > max as u64 {
            return Err(too_large(max));
        }
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
        .unwrap_or(false);
    if is_multipart {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("malformed multipart form: {e}")))?;
        let mut first: Option<Bytes> = None;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e, max)),
            };
            let is_file = field.file_name().is_some();
            let data = field.bytes().await.map_err(|e| multipart_error(e, max))?;
            if is_file {
                return Ok(data);
            }
            if first.is_none() {
                first = Some(data);
            }
        }
        return first.ok_or_else(|| {
            ApiError::bad_request("the multipart form has no field: send the image as a file field")
        });
    }
    axum::body::to_bytes(req.into_body(), max)
        .await
        .map_err(|_| too_large(max))
}

fn multipart_error(e: axum::extract::multipart::MultipartError, max: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ApiError::new(
            e.status(),
            format!("malformed multipart form: {}", e.body_text()),
        )
    }
}

/// `POST /api/detect`: faces, boxes, the 7 probabilities and top-3 of an image.
pub async fn detect(State(st): State<Arc<AppState>>, req: Request) -> Response {
    match detect_inner(st, req).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn detect_inner(
    st: Arc<AppState>,
    req: Request,
) -> Result<crate::imaging::DetectResponse, ApiError> {
    let bytes = image_bytes(&st, req).await?;
    let _permit = st
        .cpu
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    let st2 = st.clone();
    let res = tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let image = decode_image(&bytes, st2.limits.max_upload_pixels)?;
        drop(bytes);
        let mut w = st2.take_worker().map_err(ApiError::internal)?;
        let r = analyze(&mut w, image);
        st2.give_back(w);
        let mut r = r.map_err(ApiError::internal)?;
        r.ms = t0.elapsed().as_secs_f64() * 1000.0;
        Ok::<_, ApiError>(r)
    })
    .await
    .map_err(ApiError::internal)?;
    res
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendQuery {
    pub mood: Option<String>,
    /// Seven comma-separated probabilities (angry,disgust,fear,happy,sad,surprise,neutral).
    pub probabilities: Option<String>,
    pub strategy: Option<String>,
    pub movies: Option<usize>,
    pub music: Option<usize>,
    pub seed: Option<u64>,
    /// manual (default) | camera | image
    pub source: Option<String>,
    /// Record the session in the history (default true).
    pub record: Option<bool>,
    /// New picks for the same mood and strategy (the list otherwise stays the same in a session).
    pub shuffle: Option<bool>,
    /// The page's session name (a browser tab): same mood + strategy → same list within it.
    pub session: Option<String>,
}

/// Builds the mood of a recommend request.
fn parse_mood(q: &RecommendQuery) -> Result<Mood, ApiError> {
    match (&q.mood, &q.probabilities) {
        (Some(m), Some(_)) => {
            // both: the probabilities place the mood, the name says which it is (a camera
            // session's mood is its most frequent smoothed emotion, not the averages' argmax)
            let emotion = m
                .parse::<Emotion>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let q2 = RecommendQuery {
                mood: None,
                probabilities: q.probabilities.clone(),
                strategy: None,
                movies: None,
                music: None,
                seed: None,
                source: None,
                record: None,
                shuffle: None,
                session: None,
            };
            let mut mood = parse_mood(&q2)?;
            mood.emotion = emotion;
            Ok(mood)
        }
        (None, None) => Err(ApiError::bad_request(
            "missing mood: ?mood=happy (angry, disgust, fear, happy, sad, surprise, neutral) or ?probabilities=p1,...,p7",
        )),
        (Some(m), None) => m
            .parse::<Emotion>()
            .map(Mood::from_emotion)
            .map_err(|e| ApiError::bad_request(e.to_string())),
        (None, Some(p)) => {
            let v = p
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    ApiError::bad_request("probabilities must be 7 comma-separated numbers")
                })?;
            Mood::from_probabilities(&v).map_err(|e| ApiError::bad_request(e.to_string()))
        }
    }
}

/// The stored session name of the page's `session` (a reading in a browser tab).
pub(crate) fn session_name(sess: &str) -> Result<String, ApiError> {
    if sess.is_empty()
        || sess.len() > 64
        || !sess.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::bad_request(
            "session: 1 to 64 letters, digits or '-'",
        ));
    }
    Ok(format!("web-{sess}"))
}

/// What a request asks for (its strategy; the rest defaults), for the server's recommender.
pub(crate) fn options(strategy: Option<&str>) -> Result<Ask, ApiError> {
    let strategy = match strategy {
        None | Some("") => None,
        Some(s) => Some(s.parse::<Strategy>().map_err(|e| {
            ApiError::bad_request(format!(
                "{e} (strategies: match, uplift, calm, comfort; none: the mood's default)"
            ))
        })?),
    };
    Ok(Ask {
        strategy,
        ..Ask::default()
    })
}

/// `GET /api/recommend?mood=..&strategy=..`
pub async fn recommend(
    State(st): State<Arc<AppState>>,
    q: Result<Query<RecommendQuery>, QueryRejection>,
) -> Response {
    let inner = async {
        let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let mood = parse_mood(&q)?;
        let mut opts = options(q.strategy.as_deref())?;
        let n = |v: Option<usize>, name: &str| match v {
            Some(n) if n > 50 => Err(ApiError::bad_request(format!("{name}: at most 50"))),
            Some(n) => Ok(n),
            None => Ok(5),
        };
        opts.movies = n(q.movies, "movies")?;
        opts.music = n(q.music, "music")?;
        opts.seed = q.seed;
        opts.record = q.record.unwrap_or(true);
        opts.shuffle = q.shuffle.unwrap_or(false);
        if let Some(sess) = &q.session {
            opts.session = Some(session_name(sess)?);
        }
        let source = match q.source.as_deref().unwrap_or("manual") {
            s @ ("manual" | "camera" | "image") => s.to_string(),
            s => {
                return Err(ApiError::bad_request(format!(
                    "unknown source '{s}' (manual, camera or image)"
                )))
            }
        };
        let service = st.recommender.clone();
        let rec = tokio::task::spawn_blocking(move || service.for_mood(mood, &source, &opts))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        Ok::<_, ApiError>(Json(rec))
    };
    match inner.await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// The item's key (from a recommendation) or its title.
    pub item: String,
    pub liked: bool,
}

/// `POST /api/feedback` with `{"item": "<key or title>", "liked": true|false}`.
pub async fn feedback(
    State(st): State<Arc<AppState>>,
    body: Result<Json<FeedbackBody>, JsonRejection>,
) -> Response {
    let inner = async {
        let Json(b) = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let item = b.item.trim().to_string();
        if item.is_empty() || item.len() > 500 {
            return Err(ApiError::bad_request(
                "item must be a non-empty key or title (at most 500 bytes)",
            ));
        }
        let fb = with_store(&st, move |store| {
            moodlens_recommend::engine::feedback(store, &item, b.liked).map_err(|e| match e {
                RecommendError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
                e => ApiError::internal(e),
            })
        })
        .await?;
        Ok::<_, ApiError>(Json(json!({
            "item_key": fb.item_key,
            "kind": fb.kind,
            "title": fb.title,
            "liked": fb.liked,
        })))
    };
    match inner.await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The last N entries (default 200, at most 10000).
    pub last: Option<usize>,
}

/// Runs `f` on the server's database, off the async threads.
async fn with_store<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let service = st.recommender.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = None;
        service
            .with_store(|store| {
                out = Some(f(store));
                Ok(())
            })
            .map_err(|e| ApiError::internal(format!("{e}")))?;
        out.expect("ran")
    })
    .await
    .map_err(ApiError::internal)?
}

fn respond<T: IntoResponse>(r: Result<T, ApiError>) -> Response {
    match r {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/history?last=N`: `{"sessions": [...], "count": N, "database": path}`, one entry
/// per mood reading (re-ranks update their entry), oldest first; `count` is the number of
/// entries stored (all of them, not only the last N).
pub async fn history(
    State(st): State<Arc<AppState>>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Response {
    let inner = async {
        let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let last = q.last.unwrap_or(200);
        if last == 0 || last > 10_000 {
            return Err(ApiError::bad_request("last must be between 1 and 10000"));
        }
        let (sessions, count, path) = with_store(&st, move |s| {
            let h = s.history(Some(last)).map_err(ApiError::internal)?;
            let n = s.history_count().map_err(ApiError::internal)?;
            let path = s.path().map(|p| p.display().to_string());
            Ok((h, n, path))
        })
        .await?;
        Ok(Json(
            json!({ "sessions": sessions, "count": count, "database": path }),
        ))
    };
    respond(inner.await)
}

/// `DELETE /api/history/{id}`: one entry (with every re-rank it groups and what was shown).
pub async fn delete_history_entry(
    State(st): State<Arc<AppState>>,
    id: Result<axum::extract::Path<i64>, axum::extract::rejection::PathRejection>,
) -> Response {
    let inner = async {
        let axum::extract::Path(id) =
            id.map_err(|_| ApiError::bad_request("the history entry id must be a number"))?;
        let (deleted, count) = with_store(&st, move |s| {
            let d = s.delete_history_entry(id).map_err(ApiError::internal)?;
            Ok((d, s.history_count().map_err(ApiError::internal)?))
        })
        .await?;
        if !deleted {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no history entry with id {id}"),
            ));
        }
        Ok(Json(json!({ "deleted": id, "count": count })))
    };
    respond(inner.await)
}

/// `DELETE /api/history`: the whole history (likes and dislikes stay).
pub async fn clear_history(State(st): State<Arc<AppState>>) -> Response {
    let inner = async {
        let n = with_store(&st, |s| s.clear_history().map_err(ApiError::internal)).await?;
        Ok(Json(json!({ "deleted": n, "count": 0 })))
    };
    respond(inner.await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// json (default) or csv
    pub format: Option<String>,
}

/// `GET /api/history/export?format=json|csv`: the whole history as a download (the same as
/// `moodlens history --export FILE.json|FILE.csv`).
pub async fn export_history(
    State(st): State<Arc<AppState>>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    let inner = async {
        let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let (format, mime, ext) = match q.format.as_deref().unwrap_or("json") {
            "json" => (
                moodlens_recommend::export::ExportFormat::Json,
                "application/json",
                "json",
            ),
            "csv" => (
                moodlens_recommend::export::ExportFormat::Csv,
                "text/csv; charset=utf-8",
                "csv",
            ),
            f => {
                return Err(ApiError::bad_request(format!(
                    "unknown format '{f}' (json or csv)"
                )))
            }
        };
        let bytes = with_store(&st, move |s| {
            let h = s.history(None).map_err(ApiError::internal)?;
            moodlens_recommend::export::history_bytes(&h, format).map_err(ApiError::internal)
        })
        .await?;
        Ok((
            [
                (header::CONTENT_TYPE, mime.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"moodlens-history.{ext}\""),
                ),
            ],
            bytes,
        ))
    };
    respond(inner.await)
}

/// `GET /api/feedback`: every like and dislike, oldest first.
pub async fn list_feedback(State(st): State<Arc<AppState>>) -> Response {
    let inner = async {
        let fb = with_store(&st, |s| s.feedback().map_err(ApiError::internal)).await?;
        let items: Vec<_> = fb
            .into_iter()
            .map(|f| json!({"item_key": f.item_key, "kind": f.kind, "title": f.title, "liked": f.liked}))
            .collect();
        Ok(Json(json!({ "feedback": items })))
    };
    respond(inner.await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoQuery {
    /// The item's key.
    pub item: String,
}

/// `DELETE /api/feedback?item=KEY`: undoes a like or dislike.
pub async fn delete_feedback(
    State(st): State<Arc<AppState>>,
    q: Result<Query<UndoQuery>, QueryRejection>,
) -> Response {
    let inner = async {
        let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let key = q.item.trim().to_string();
        if key.is_empty() || key.len() > 500 {
            return Err(ApiError::bad_request(
                "item must be a non-empty key (at most 500 bytes)",
            ));
        }
        let k2 = key.clone();
        let removed = with_store(&st, move |s| {
            s.delete_feedback(&k2).map_err(ApiError::internal)
        })
        .await?;
        if !removed {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no like or dislike for '{key}'"),
            ));
        }
        Ok(Json(json!({ "removed": key })))
    };
    respond(inner.await)
}
