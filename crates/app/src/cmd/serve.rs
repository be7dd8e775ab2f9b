//! `moodlens serve`: the local web app on 127.0.0.1 (camera in the browser, uploads,
//! recommendations, history).

use super::args::StoreArgs;
use anyhow::Result;
use clap::Args;
use moodlens_model::engine::EngineKind;
use moodlens_model::nets::Arch;
use moodlens_vision::DetectorKind;
use moodlens_web::ServeConfig;
use std::net::IpAddr;
use std::path::PathBuf;

/// The web library's defaults, which the options below show and start from.
fn web() -> ServeConfig {
    ServeConfig::default()
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to bind. The default keeps the app on this machine; anything else exposes your
    /// camera session to the network (a warning is printed).
    #[arg(long, default_value_t = web().host)]
    pub host: IpAddr,
    /// Port (0: any free port).
    #[arg(long, default_value_t = web().port)]
    pub port: u16,
    /// Open the page in the default browser once the server is up.
    #[arg(long)]
    pub open: bool,
    /// Face detector: yunet (embedded YuNet, eye-aligned crops) or haar (OpenCV's Haar cascade).
    #[arg(long, default_value_t = web().detector, value_name = "yunet|haar")]
    pub detector: DetectorKind,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Use only the embedded and imported catalogs, even when API keys are set.
    #[arg(long)]
    pub offline: bool,
    /// Weights file (.bpk from `moodlens train`) instead of the embedded model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Architecture of --weights.
    #[arg(long, default_value_t = web().arch)]
    pub arch: Arch,
    /// Classifier engine: auto (ONNX Runtime when its library is installed, else burn), burn,
    /// ort or opencv (docs/ONNX.md).
    #[arg(long, default_value_t = web().engine, value_name = "ENGINE")]
    pub engine: EngineKind,
    /// Images analysed at the same time (CPU-bound work runs on this many threads at most).
    #[arg(long, default_value_t = web().workers)]
    pub workers: usize,
    /// Live camera sessions (WebSockets) at the same time; more are refused with 503.
    #[arg(long, default_value_t = web().max_sessions)]
    pub max_sessions: usize,
    /// Largest upload to /api/detect, in MiB.
    #[arg(long, default_value_t = web().max_upload_mib)]
    pub max_upload_mib: usize,
    /// Extra origin allowed to open the WebSocket and post to the API (e.g.
    /// http://mybox.lan:8765); repeatable. The page's own origin is always allowed.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
}

impl ServeArgs {
    pub fn config(&self) -> ServeConfig {
        ServeConfig {
            host: self.host,
            port: self.port,
            detector: self.detector,
            service: self.store.service(self.offline),
            weights: self.weights.clone(),
            arch: self.arch,
            engine: self.engine,
            workers: self.workers,
            max_sessions: self.max_sessions,
            max_upload_mib: self.max_upload_mib,
            allow_origins: self.allow_origins.clone(),
        }
    }
}

/// Runs until Ctrl-C.
pub fn run(a: ServeArgs) -> Result<i32> {
    moodlens_web::serve_until_ctrl_c(&a.config(), |url| {
        println!("moodlens is running at {url}  (Ctrl-C to stop)");
        if a.open {
            open_browser(url);
        }
    })?;
    Ok(0)
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
