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

use anyhow::Context;
use axum::Router;
use clap::Args;
use moodlens_model::nets::Arch;
use moodlens_model::Classifier;
use moodlens_recommend::cli::{RecommendOptions, StoreArgs};
use moodlens_vision::detect::DetectorConfig;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Default port of `moodlens serve`.
pub const DEFAULT_PORT: u16 = 8765;

/// `moodlens serve`: options.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to bind. The default keeps the app on this machine; anything else exposes your
    /// camera session to the network (a warning is printed).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Open the page in the default browser once the server is up.
    #[arg(long)]
    pub open: bool,
    /// Face detector: yunet (embedded YuNet, eye-aligned crops) or haar (OpenCV's Haar cascade).
    #[arg(long, default_value = "yunet", value_name = "yunet|haar")]
    pub detector: moodlens_vision::DetectorKind,
    /// SQLite database (history, feedback). Default: $MOODLENS_DB, else the platform data folder.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Recommend configuration (TOML). Default: $MOODLENS_RECOMMEND_CONFIG, else built-in.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Use only the embedded and imported catalogs, even when API keys are set.
    #[arg(long)]
    pub offline: bool,
    /// Weights file (.bpk from `moodlens train`) instead of the embedded model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Architecture of --weights.
    #[arg(long, default_value = "compact")]
    pub arch: Arch,
    /// Classifier engine: auto (ONNX Runtime when its library is installed, else burn), burn,
    /// ort or opencv (docs/ONNX.md).
    #[arg(long, default_value = "auto", value_name = "ENGINE")]
    pub engine: moodlens_model::engine::EngineKind,
    /// Images analysed at the same time (CPU-bound work runs on this many threads at most).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Live camera sessions (WebSockets) at the same time; more are refused with 503.
    #[arg(long, default_value_t = 8)]
    pub max_sessions: usize,
    /// Largest upload to /api/detect, in MiB.
    #[arg(long, default_value_t = 10)]
    pub max_upload_mib: usize,
    /// Extra origin allowed to open the WebSocket and post to the API (e.g.
    /// http://mybox.lan:8765); repeatable. The page's own origin is always allowed.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            host: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_PORT,
            open: false,
            detector: Default::default(),
            db: None,
            config: None,
            offline: false,
            weights: None,
            arch: Arch::Compact,
            engine: Default::default(),
            workers: 2,
            max_sessions: 8,
            max_upload_mib: 10,
            allow_origins: Vec::new(),
        }
    }
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

/// A face detector and a classifier, used by one request at a time.
pub(crate) struct Worker {
    pub detector: Box<dyn moodlens_vision::FaceDetector + Send>,
    pub classifier: Classifier,
}

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
    /// State for `args`: loads the classifier and checks that the face detector can be created.
    pub fn new(args: &ServeArgs, limits: Limits) -> anyhow::Result<AppState> {
        let mut classifier = match &args.weights {
            Some(p) => Classifier::from_file(p, args.arch).context("loading weights")?,
            None => Classifier::embedded().context("loading the embedded model")?,
        };
        moodlens_dnn::use_engine(&mut classifier, args.engine)
            .with_context(|| format!("setting up the {} engine", args.engine))?;
        let detector_config = DetectorConfig::of(args.detector);
        let detector = detector_config
            .build()
            .context("creating the face detector")?;
        let workers = args.workers.max(1);
        let recommend = RecommendOptions {
            offline: args.offline,
            store: StoreArgs {
                db: args.db.clone(),
                config: args.config.clone(),
            },
            ..RecommendOptions::default()
        };
        let recommender = Arc::new(recommend.recommender()?);
        Ok(AppState {
            pool: Mutex::new(vec![Worker {
                detector,
                classifier: classifier.clone(),
            }]),
            classifier,
            detector: detector_config,
            cpu: Arc::new(Semaphore::new(workers)),
            sessions: Arc::new(Semaphore::new(args.max_sessions.max(1))),
            max_sessions: args.max_sessions.max(1),
            recommender,
            limits: Limits {
                max_upload_bytes: args.max_upload_mib.max(1) * 1024 * 1024,
                ..limits
            },
            loopback_only: args.host.is_loopback(),
            allow_origins: args
                .allow_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        })
    }
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

fn runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(workers.max(1) + 4)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Starts the server on a background thread and returns once it listens.
pub fn spawn(args: &ServeArgs, limits: Limits) -> anyhow::Result<RunningServer> {
    let state = Arc::new(AppState::new(args, limits)?);
    let addr = SocketAddr::new(args.host, args.port);
    let rt = runtime(args.workers)?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
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

/// `moodlens serve`: runs until Ctrl-C.
pub fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(w) = exposure_warning(args.host) {
        tracing::warn!("{w}");
    }
    let state = Arc::new(AppState::new(&args, Limits::default())?);
    let rt = runtime(args.workers)?;
    rt.block_on(async move {
        let addr = SocketAddr::new(args.host, args.port);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} (in use? choose another with --port)")
        })?;
        let local = listener.local_addr()?;
        let shown = if local.ip().is_unspecified() {
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), local.port())
        } else {
            local
        };
        let url = format!("http://{shown}/");
        println!("moodlens is running at {url}  (Ctrl-C to stop)");
        if args.open {
            open_browser(&url);
        }
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
                eprintln!("stopping");
            })
            .await
            .context("serving")
    })
}

fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(cmd)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => eprintln!("note: could not open a browser ({cmd}: {e}); open {url} yourself"),
    }
}
