//! moodlens-web: `moodlens serve`, the local web app. An axum server on 127.0.0.1 with the page
//! embedded in the binary (plain HTML/JS/CSS, no front-end build step), a JSON REST API and a
//! WebSocket for live camera sessions.
//!
//! Data flow: the browser sends downscaled JPEG frames over the WebSocket (`/ws`), one at a time;
//! each frame is decoded in memory (never written to disk), faces are found and classified by
//! `moodlens-vision`'s [`Pipeline`](moodlens_vision::Pipeline) with the `moodlens-model`
//! classifier, tracked and smoothed per connection by `moodlens-session`; "finish" turns the
//! session's mood into recommendations through `moodlens-recommend`.
//!
//! Routes ([`router`]): `GET /` (the page), `GET /health`, `POST /api/detect`,
//! `GET /api/recommend`, `POST|GET|DELETE /api/feedback`, `GET|DELETE /api/history`,
//! `DELETE /api/history/{id}`, `GET /api/history/export`, `GET /ws`. The shapes are
//! documented in the README.
//!
//! Must not hold application logic of its own beyond HTTP glue: vision, model, session and
//! recommendation logic live in their crates.

mod api;
mod assets;
mod guard;
mod imaging;
mod ws;

pub use imaging::{decode_image, DecodeError};

use axum::Router;
use moodlens_model::engine::EngineKind;
use moodlens_model::nets::Arch;
use moodlens_model::Classifier;
use moodlens_recommend::ServiceConfig;
use moodlens_vision::detect::DetectorConfig;
use moodlens_vision::{DetectorKind, VisionError};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Default port of `moodlens serve`.
pub const DEFAULT_PORT: u16 = 8765;

/// What the server is set up with; `ServeConfig::default()` holds every default (the `serve`
/// command's options are derived from it).
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Address to bind (loopback by default: anything else exposes the camera sessions).
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    pub detector: DetectorKind,
    /// The recommendation service: database, configuration file, offline.
    pub service: ServiceConfig,
    /// Weights file instead of the embedded model, and its architecture.
    pub weights: Option<PathBuf>,
    pub arch: Arch,
    pub engine: EngineKind,
    /// Images analysed at the same time (CPU-bound work runs on this many threads at most).
    pub workers: usize,
    /// Live camera sessions (WebSockets) at the same time; more are refused with 503.
    pub max_sessions: usize,
    /// Largest upload to /api/detect, in MiB.
    pub max_upload_mib: usize,
    /// Extra origins allowed to open the WebSocket and post to the API.
    pub allow_origins: Vec<String>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_PORT,
            detector: DetectorKind::default(),
            service: ServiceConfig::default(),
            weights: None,
            arch: Arch::Compact,
            engine: EngineKind::default(),
            workers: 2,
            max_sessions: 8,
            max_upload_mib: 10,
            allow_origins: Vec::new(),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("loading the model: {0}")]
    Model(#[source] moodlens_model::classifier::ClassifierError),
    #[error("setting up the {engine} engine: {source}")]
    Engine {
        engine: EngineKind,
        source: moodlens_model::classifier::ClassifierError,
    },
    #[error("creating the face detector: {0}")]
    Detector(#[from] VisionError),
    #[error(transparent)]
    Recommend(#[from] moodlens_recommend::RecommendError),
    #[error("cannot listen on {addr} (in use? choose another with --port): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Size and time limits (all enforced before the data is kept in memory).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body of `POST /api/detect` (raw or multipart).
    pub max_upload_bytes: usize,
    /// Largest decoded upload, in pixels.
    pub max_upload_pixels: u64,
    /// Largest WebSocket message (one JPEG frame or a control message).
    pub max_ws_message_bytes: usize,
    /// Largest decoded camera frame, in pixels.
    pub max_frame_pixels: u64,
    /// A WebSocket that sends nothing for this long is closed.
    pub ws_idle: Duration,
    /// A request (body included) that takes longer is answered 408.
    pub request_timeout: Duration,
    /// Control messages waiting behind a frame; more are refused.
    pub max_pending_controls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 10 * 1024 * 1024,
            max_upload_pixels: 40_000_000,
            max_ws_message_bytes: 2 * 1024 * 1024,
            max_frame_pixels: 4_000_000,
            ws_idle: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            max_pending_controls: 4,
        }
    }
}

/// The analysis pipeline of one uploaded image at a time (no smoothing: window 1).
pub(crate) type Worker = moodlens_vision::run::BoxedPipeline<Classifier>;

/// Shared server state.
pub struct AppState {
    pub(crate) classifier: Classifier,
    pub(crate) detector: DetectorConfig,
    pub(crate) pool: Mutex<Vec<Worker>>,
    /// CPU-bound jobs (decode, detect, classify) in flight at most.
    pub(crate) cpu: Arc<Semaphore>,
    /// Live sessions at most.
    pub(crate) sessions: Arc<Semaphore>,
    pub(crate) max_sessions: usize,
    /// The recommendation service, built once (config, live clients, the database).
    pub(crate) recommender: Arc<moodlens_recommend::Recommender>,
    pub(crate) limits: Limits,
    /// Bound to a loopback address: Host headers must name this machine (DNS rebinding).
    pub(crate) loopback_only: bool,
    pub(crate) allow_origins: Vec<String>,
}

impl AppState {
    /// State for `cfg`: loads the classifier, checks that the face detector can be created and
    /// builds the recommendation service once.
    pub fn new(cfg: &ServeConfig, limits: Limits) -> Result<AppState, WebError> {
        let mut classifier = match &cfg.weights {
            Some(p) => Classifier::from_file(p, cfg.arch),
            None => Classifier::embedded(),
        }
        .map_err(WebError::Model)?;
        moodlens_dnn::use_engine(&mut classifier, cfg.engine).map_err(|source| {
            WebError::Engine {
                engine: cfg.engine,
                source,
            }
        })?;
        let detector = DetectorConfig::of(cfg.detector);
        let first = image_pipeline(&detector, classifier.clone())?;
        let workers = cfg.workers.max(1);
        let recommender = Arc::new(moodlens_recommend::Recommender::open(&cfg.service, &|k| {
            std::env::var(k).ok()
        })?);
        Ok(AppState {
            pool: Mutex::new(vec![first]),
            classifier,
            detector,
            cpu: Arc::new(Semaphore::new(workers)),
            sessions: Arc::new(Semaphore::new(cfg.max_sessions.max(1))),
            max_sessions: cfg.max_sessions.max(1),
            recommender,
            limits: Limits {
                max_upload_bytes: cfg.max_upload_mib.max(1) * 1024 * 1024,
                ..limits
            },
            loopback_only: cfg.host.is_loopback(),
            allow_origins: cfg
                .allow_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        })
    }
}

/// The pipeline that analyses one uploaded image: the detector of `detector`, default crops, no
/// smoothing (window 1), so each image's faces stand alone.
pub(crate) fn image_pipeline(
    detector: &DetectorConfig,
    classifier: Classifier,
) -> Result<Worker, VisionError> {
    moodlens_vision::VisionConfig {
        detector: detector.clone(),
        session: moodlens_vision::SessionConfig {
            window: 1,
            ..Default::default()
        },
        full_scan_every: 1,
        ..Default::default()
    }
    .pipeline(classifier)
}

/// The app's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.limits.max_upload_bytes;
    Router::new()
        .route("/", axum::routing::get(assets::index))
        .route("/app.js", axum::routing::get(assets::script))
        .route("/style.css", axum::routing::get(assets::style))
        .route("/favicon.svg", axum::routing::get(assets::favicon))
        .route("/favicon.ico", axum::routing::get(assets::favicon))
        .route("/health", axum::routing::get(api::health))
        .route(
            "/api/detect",
            axum::routing::post(api::detect)
                .layer(axum::extract::DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/recommend", axum::routing::get(api::recommend))
        .route(
            "/api/feedback",
            axum::routing::post(api::feedback)
                .get(api::list_feedback)
                .delete(api::delete_feedback),
        )
        .route(
            "/api/history",
            axum::routing::get(api::history).delete(api::clear_history),
        )
        .route(
            "/api/history/export",
            axum::routing::get(api::export_history),
        )
        .route(
            "/api/history/{id}",
            axum::routing::delete(api::delete_history_entry),
        )
        .route("/ws", axum::routing::get(ws::upgrade))
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}

/// A server running on a background thread (tests, embedding). Dropping it stops the server.
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT` (or the bound address).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn runtime(workers: usize) -> Result<tokio::runtime::Runtime, WebError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(workers.max(1) + 4)
        .enable_all()
        .build()
        .map_err(|source| WebError::Io {
            what: "starting the async runtime",
            source,
        })
}

/// Starts the server on a background thread and returns once it listens.
pub fn spawn(cfg: &ServeConfig, limits: Limits) -> Result<RunningServer, WebError> {
    let state = Arc::new(AppState::new(cfg, limits)?);
    let addr = SocketAddr::new(cfg.host, cfg.port);
    let rt = runtime(cfg.workers)?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|source| WebError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| WebError::Io {
        what: "reading the bound address",
        source,
    })?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("moodlens-web".into())
        .spawn(move || {
            rt.block_on(async move {
                let app = router(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
            rt.shutdown_timeout(Duration::from_secs(2));
        })
        .map_err(|source| WebError::Io {
            what: "starting the server thread",
            source,
        })?;
    Ok(RunningServer {
        addr,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// The warning printed when binding to a non-loopback address.
pub fn exposure_warning(host: IpAddr) -> Option<String> {
    (!host.is_loopback()).then(|| {
        format!(
            "warning: listening on {host}, not on 127.0.0.1: anyone who can reach this machine \
             can use the app, its camera sessions and your history. There is no login and no TLS \
             (browsers allow the camera only on https or localhost)."
        )
    })
}

/// Serves until Ctrl-C (or SIGINT): `on_ready` gets the page's URL once the server listens (the
/// `serve` command prints it and may open a browser).
pub fn serve_until_ctrl_c(cfg: &ServeConfig, on_ready: impl FnOnce(&str)) -> Result<(), WebError> {
    if let Some(w) = exposure_warning(cfg.host) {
        tracing::warn!("{w}");
    }
    let state = Arc::new(AppState::new(cfg, Limits::default())?);
    let rt = runtime(cfg.workers)?;
    let addr = SocketAddr::new(cfg.host, cfg.port);
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| WebError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| WebError::Io {
            what: "reading the bound address",
            source,
        })?;
        let shown = if local.ip().is_unspecified() {
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), local.port())
        } else {
            local
        };
        on_ready(&format!("http://{shown}/"));
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("stopping");
            })
            .await
            .map_err(|source| WebError::Io {
                what: "serving",
                source,
            })
    })
}
