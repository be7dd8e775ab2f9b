//! `moodlens train`: FER-2013 training with checkpoints every epoch, `--resume`, Ctrl-C after the
//! current epoch, curves and the confusion matrix; also the `--backend` choice that `eval` and
//! `bench --train` share.

use anyhow::{bail, Context, Result};
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use moodlens_model::augment::AugmentConfig;
use moodlens_model::dataset::{self, DEFAULT_MAX_BAD_FRACTION};
use moodlens_model::fer_csv::Split;
use moodlens_model::nets::Arch;
use moodlens_model::train::{
    self, ClassWeighting, EpochRecord, Labels, Progress, Schedule, TrainConfig,
};
use moodlens_model::{checkpoint, ferplus};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    /// burn's Flex CPU backend (default).
    Flex,
    /// burn's libtorch backend on the CPU (build with `--features tch`).
    Tch,
    /// burn's libtorch backend on CUDA GPU `--gpu` (build with `--features tch` against a CUDA
    /// build of torch).
    TchCuda,
    /// burn's CubeCL CUDA backend on GPU `--gpu` (build with `--features cuda`).
    Cuda,
}

/// `--backend` and `--gpu`, shared by train, eval and bench.
#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    /// Compute backend (tch and cuda need a build with that cargo feature).
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    /// GPU index for the tch-cuda and cuda backends.
    #[arg(long, default_value_t = 0)]
    pub gpu: usize,
}

impl BackendArgs {
    pub fn device(&self) -> Result<Device> {
        device(self.backend, self.gpu)
    }
}

/// The burn device for a backend; `gpu` is the GPU index for the CUDA backends.
pub fn device(b: Backend, gpu: usize) -> Result<Device> {
    let _ = gpu;
    match b {
        Backend::Flex => Ok(Device::flex()),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        Backend::Tch => Ok(Device::libtorch()),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        Backend::TchCuda => {
            // libtorch panics on the first tensor when the device is missing: check first.
            let n = tch::Cuda::device_count();
            if gpu as i64 >= n {
                bail!("--backend tch-cuda --gpu {gpu}: libtorch sees {n} CUDA device(s) (is a GPU present, and is the torch behind LD_LIBRARY_PATH a CUDA build?)");
            }
            Ok(Device::libtorch_cuda(gpu))
        }
        #[cfg(not(feature = "tch"))]
        Backend::Tch | Backend::TchCuda => bail!("this moodlens was built without the `tch` feature (cargo build --release --features tch; see docs/MODEL.md)"),
        #[cfg(feature = "cuda")]
        Backend::Cuda => Ok(Device::cuda(gpu)),
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda => bail!("this moodlens was built without the `cuda` feature (cargo build --release --features cuda)"),
    }
}

/// The model library's training defaults, which the options below show and start from.
fn trainer() -> TrainConfig {
    TrainConfig::default()
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// FER-2013: the Kaggle CSV (.csv or .csv.gz) or a folder with train/<class>/ and test/<class>/
    /// (with --resume: default the run's own).
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Network architecture.
    #[arg(long, default_value_t = trainer().arch)]
    pub arch: Arch,
    /// Output folder: checkpoint/, best.bpk, history.json, curves.png, confusion.png.
    #[arg(long, default_value = "runs/compact")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint with its stored options (data, limit,
    /// labels, ...); `--epochs N` above the run's count extends it, and N no larger than the epochs
    /// done ends it now (calibration and plots for its best epoch). Ctrl-C ends a run after the
    /// current epoch. Example: moodlens train --out runs/v2 --resume --epochs 30
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = trainer().epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = trainer().batch_size)]
    pub batch_size: usize,
    /// Peak learning rate (Adam).
    #[arg(long, default_value_t = trainer().lr)]
    pub lr: f64,
    #[arg(long, default_value_t = trainer().schedule, value_parser = parse_schedule)]
    pub schedule: Schedule,
    /// Early-stopping patience (epochs without validation-accuracy improvement).
    #[arg(long, default_value_t = trainer().patience)]
    pub patience: usize,
    #[arg(long, default_value_t = trainer().seed)]
    pub seed: u64,
    /// Class weights in the loss: balanced (n / (k * count)), sqrt, none.
    #[arg(long, default_value_t = trainer().class_weighting, value_parser = parse_weighting)]
    pub class_weights: ClassWeighting,
    #[arg(long, default_value_t = trainer().label_smoothing)]
    pub label_smoothing: f32,
    /// Max rotation in degrees.
    #[arg(long, default_value_t = trainer().augment.rotation_deg)]
    pub rotation: f32,
    /// Max relative zoom.
    #[arg(long, default_value_t = trainer().augment.zoom)]
    pub zoom: f32,
    /// Max width/height shift in pixels.
    #[arg(long, default_value_t = trainer().augment.shift_px)]
    pub shift: f32,
    #[arg(long)]
    pub no_flip: bool,
    /// Use at most this many images per split and class (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Initialise backbones from ImageNet weights: `imagenet` (the files `scripts/imagenet-weights.sh`
    /// wrote for this --arch) or `imagenet=<timm .safetensors>[,<file>]` (mobilenetv2_100,
    /// efficientnet_lite0, efficientnet_b0). The loaded backbones are frozen (BatchNorm in
    /// inference mode) unless --no-freeze; the run's weights files then hold only the trained parts.
    /// Example: --arch seed-ensemble --init imagenet
    #[arg(long, value_parser = parse_init, value_name = "imagenet[=FILES]")]
    pub init: Option<InitSpec>,
    /// Train ImageNet-initialised backbones too.
    #[arg(long)]
    pub no_freeze: bool,
    /// With frozen backbones, train their stages from this one on (0-6) and their head conv too
    /// (fine-tuning; use a lower --lr and --from a frozen run's best.bpk).
    #[arg(long, value_name = "STAGE", value_parser = clap::value_parser!(u8).range(0..=6))]
    pub unfreeze_from: Option<u8>,
    /// Start from these weights (a run's best.bpk with its .json card) instead of a fresh
    /// initialisation. Example: --from runs/seed/best.bpk
    #[arg(long, value_name = "WEIGHTS")]
    pub from: Option<PathBuf>,
    /// Training labels: fer2013 (original), ferplus (the FER+ crowd's vote distribution) or mix:A
    /// (A x original + (1-A) x votes). Example: --labels mix:0.25
    #[arg(long, default_value_t = trainer().labels, value_parser = parse_labels)]
    pub labels: Labels,
    /// The FER+ votes table (default: $MOODLENS_FERPLUS, else ferplus/ferplus_votes.csv beside the
    /// FER-2013 data). Used for --labels ferplus|mix:A and to report FER+ validation accuracy.
    #[arg(long, value_name = "CSV")]
    pub ferplus: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

fn parse_labels(s: &str) -> Result<Labels, String> {
    s.parse()
}

/// Attaches FER+ votes to `data` from `given` or the default location. `required`: fail when
/// there is no table; otherwise go on without (and say so).
pub(crate) fn attach_votes(
    data: &mut dataset::FerData,
    fer_path: &std::path::Path,
    given: Option<&std::path::Path>,
    required: bool,
) -> Result<bool> {
    let path = match given {
        Some(p) => Some(p.to_path_buf()),
        None => ferplus::default_votes_path(fer_path),
    };
    let Some(path) = path else {
        if required {
            bail!(
                "no FER+ votes table found beside {} (pass --ferplus <ferplus_votes.csv>)",
                fer_path.display()
            );
        }
        return Ok(false);
    };
    let votes = ferplus::FerPlusVotes::load(&path)?;
    let n = votes.attach(&mut data.samples);
    tracing::info!(
        "FER+ votes from {}: {} of {} images",
        path.display(),
        n,
        data.samples.len()
    );
    if n == 0 {
        bail!(
            "{}: no image of {} matched the FER+ table (is it the same FER-2013 copy?)",
            path.display(),
            data.source
        );
    }
    Ok(true)
}

/// `--init`: ImageNet weights files (empty: the default files for the architecture).
#[derive(Debug, Clone)]
pub struct InitSpec(pub Vec<PathBuf>);

/// `imagenet` → an empty list (the default files for the architecture), `imagenet=a,b` → the files.
fn parse_init(s: &str) -> Result<InitSpec, String> {
    if s == "imagenet" {
        return Ok(InitSpec(Vec::new()));
    }
    let files = s
        .strip_prefix("imagenet=")
        .ok_or_else(|| format!("expected imagenet or imagenet=<file>[,<file>], got '{s}'"))?;
    let v: Vec<PathBuf> = files
        .split(',')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .collect();
    if v.is_empty() {
        return Err("imagenet= needs at least one file".into());
    }
    Ok(InitSpec(v))
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.parse()
}
fn parse_weighting(s: &str) -> Result<ClassWeighting, String> {
    s.parse()
}

/// The progress bars of a run, and its Ctrl-C: the first SIGINT or SIGTERM ends the run after the
/// current epoch (its checkpoint, then the best epoch's calibration and plots); a second one ends
/// the process at once (the last epoch's checkpoint is intact: `--resume` goes on from it).
struct Bars {
    bar: Option<ProgressBar>,
    stop: Arc<AtomicBool>,
    told: bool,
}

impl Bars {
    fn new() -> Result<Bars> {
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // registered first, so it sees the flag as it was before this signal set it
            flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
                .context("installing the Ctrl-C handler")?;
            flag::register(sig, Arc::clone(&stop)).context("installing the Ctrl-C handler")?;
        }
        Ok(Bars {
            bar: None,
            stop,
            told: false,
        })
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Says once, when the stop is first seen, what happens next.
    fn tell_stop(&mut self) {
        if self.stopping() && !self.told {
            self.told = true;
            let msg = "stopping at the end of this epoch (checkpoint, then the best epoch's calibration and plots); Ctrl-C again quits now, and --resume goes on from the last checkpoint";
            match &self.bar {
                Some(b) => b.suspend(|| tracing::warn!("{msg}")),
                None => tracing::warn!("{msg}"),
            }
        }
    }
}

impl Progress for Bars {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{elapsed_precise}] {bar:30} {pos}/{len} batches {msg} (eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }
    fn batch(&mut self, done: usize, loss: f64, acc: f64) {
        self.tell_stop();
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
            if done.is_multiple_of(10) {
                b.set_message(format!("loss {loss:.4} acc {acc:.4}"));
            }
        }
    }
    fn epoch_end(&mut self, _rec: &EpochRecord, _improved: bool) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
    fn keep_going(&mut self) -> bool {
        self.tell_stop();
        !self.stopping()
    }
}

pub(crate) fn load_data(path: &std::path::Path, limit: Option<usize>) -> Result<dataset::FerData> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("loading {}", path.display()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let data = dataset::load(path, DEFAULT_MAX_BAD_FRACTION, limit)
        .with_context(|| format!("loading FER-2013 from {}", path.display()))?;
    spinner.finish_and_clear();
    for s in data.skipped.iter().take(20) {
        tracing::warn!("skipped {s}");
    }
    if data.skipped.len() > 20 {
        tracing::warn!("... and {} more skipped", data.skipped.len() - 20);
    }
    tracing::info!(
        "{}: {} Training, {} PublicTest, {} PrivateTest images ({} skipped)",
        data.source,
        data.count(Split::Training),
        data.count(Split::PublicTest),
        data.count(Split::PrivateTest),
        data.skipped.len()
    );
    Ok(data)
}

/// Options that `--resume` takes from the command line; every other training option comes from the
/// run's stored configuration.
const RESUME_OPTIONS: [&str; 9] = [
    "data", "out", "resume", "epochs", "limit", "ferplus", "backend", "gpu", "verbose",
];

/// `explicit`: the ids of the options given on the command line (to tell them from defaults).
pub fn train(mut a: TrainArgs, explicit: &[String]) -> Result<()> {
    let stored = if a.resume {
        match checkpoint::find(&a.out) {
            Some(found) => Some(found.state()?.config),
            None => None,
        }
    } else {
        None
    };
    if let Some(cfg) = &stored {
        let ignored: Vec<String> = explicit
            .iter()
            .filter(|id| !RESUME_OPTIONS.contains(&id.as_str()))
            .map(|id| format!("--{}", id.replace('_', "-")))
            .collect();
        if !ignored.is_empty() {
            tracing::warn!(
                "--resume keeps the run's stored options; ignored: {}",
                ignored.join(", ")
            );
        }
        if a.data.is_none() {
            a.data = cfg.data.clone();
        }
        if !explicit.iter().any(|id| id == "limit") {
            a.limit = cfg.limit;
        }
        if !explicit.iter().any(|id| id == "epochs") {
            a.epochs = cfg.epochs;
        }
    }
    let Some(data_path) = a.data.clone() else {
        bail!(
            "--resume: {} holds no checkpoint that names its data; give --data",
            a.out.display()
        );
    };
    let device = a.backend.device()?;
    let mut data = load_data(&data_path, a.limit)?;
    attach_votes(
        &mut data,
        &data_path,
        a.ferplus.as_deref(),
        stored.as_ref().map_or(a.labels, |c| c.labels).needs_votes(),
    )?;
    let train_set = data.split(Split::Training);
    let val_set = data.split(Split::PublicTest);
    if val_set.is_empty() {
        bail!("{}: no PublicTest (validation) images; the CSV's Usage column or the PublicTest_ file prefix marks them", data.source);
    }
    let config = TrainConfig {
        arch: a.arch,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        schedule: a.schedule,
        patience: a.patience,
        seed: a.seed,
        augment: AugmentConfig {
            rotation_deg: a.rotation,
            zoom: a.zoom,
            shift_px: a.shift,
            flip: !a.no_flip,
        },
        class_weighting: a.class_weights,
        label_smoothing: a.label_smoothing,
        imagenet: match &a.init {
            Some(InitSpec(files)) if files.is_empty() && a.arch.has_imagenet_backbone() => {
                moodlens_model::imagenet::default_files(a.arch)?
            }
            Some(InitSpec(files)) => files.clone(),
            None => Vec::new(),
        },
        freeze_backbone: !a.no_freeze,
        unfreeze_from: a.unfreeze_from.map(usize::from),
        from: a.from.clone(),
        labels: a.labels,
        data: Some(std::path::absolute(&data_path).unwrap_or(data_path.clone())),
        limit: a.limit,
    };
    if a.init.is_some() && !config.arch.has_imagenet_backbone() {
        bail!(
            "--init imagenet applies to the ImageNet-style architectures (mobilenetv2, efficientnetb0, efficientnet-lite0, seed-ensemble, seed-ensemble-b0), not {}",
            config.arch
        );
    }
    if config.unfreeze_from.is_some() && (config.imagenet.is_empty() || !config.freeze_backbone) {
        bail!("--unfreeze-from needs frozen ImageNet backbones (--init imagenet, without --no-freeze)");
    }
    let t0 = std::time::Instant::now();
    let outcome = train::train(
        config,
        &train_set,
        &val_set,
        &a.out,
        a.resume,
        &device,
        &mut Bars::new()?,
    )?;
    let m = &outcome.val_metrics;
    println!(
        "best epoch {} of {}: validation (PublicTest) accuracy {:.4}; weights {}",
        outcome.state.early.best_epoch,
        outcome.state.epochs_done,
        m.accuracy,
        outcome.best_weights.display()
    );
    println!("history {}", a.out.join("history.json").display());
    tracing::info!(
        "wall time this invocation: {:.1} min",
        t0.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
