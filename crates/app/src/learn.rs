//! `moodlens train` and `moodlens eval`.

use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use moodlens_model::augment::AugmentConfig;
use moodlens_model::dataset::{self, DEFAULT_MAX_BAD_FRACTION};
use moodlens_model::fer_csv::Split;
use moodlens_model::nets::Arch;
use moodlens_model::train::{self, ClassWeighting, EpochRecord, Progress, Schedule, TrainConfig};
use moodlens_model::{checkpoint, eval as meval};
use std::path::PathBuf;

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

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// FER-2013: the Kaggle CSV (.csv or .csv.gz) or a folder with train/<class>/ and test/<class>/.
    #[arg(long)]
    pub data: PathBuf,
    /// Network architecture.
    #[arg(long, default_value = "compact")]
    pub arch: Arch,
    /// Output folder: checkpoint/, best.bpk, history.json, curves.png, confusion.png.
    #[arg(long, default_value = "runs/compact")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint (its stored options are used).
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Peak learning rate (Adam).
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    #[arg(long, default_value = "constant", value_parser = parse_schedule)]
    pub schedule: Schedule,
    /// Early-stopping patience (epochs without validation-accuracy improvement).
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Class weights in the loss: balanced (n / (k * count)), sqrt, none.
    #[arg(long, default_value = "balanced", value_parser = parse_weighting)]
    pub class_weights: ClassWeighting,
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// Max rotation in degrees.
    #[arg(long, default_value_t = 10.0)]
    pub rotation: f32,
    /// Max relative zoom.
    #[arg(long, default_value_t = 0.1)]
    pub zoom: f32,
    /// Max width/height shift in pixels.
    #[arg(long, default_value_t = 4.0)]
    pub shift: f32,
    #[arg(long)]
    pub no_flip: bool,
    /// Use at most this many images per split and class (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Initialise backbones from ImageNet weights: `imagenet=<timm .safetensors>[,<file>]`
    /// (mobilenetv2_100 and/or efficientnet_b0). The loaded backbones are frozen unless --no-freeze.
    #[arg(long, value_parser = parse_init)]
    pub init: Option<Vec<PathBuf>>,
    /// Train ImageNet-initialised backbones too.
    #[arg(long)]
    pub no_freeze: bool,
    #[command(flatten)]
    pub backend: BackendArgs,
}

fn parse_init(s: &str) -> Result<Vec<PathBuf>, String> {
    let files = s
        .strip_prefix("imagenet=")
        .ok_or_else(|| format!("expected imagenet=<file>[,<file>], got '{s}'"))?;
    let v: Vec<PathBuf> = files
        .split(',')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .collect();
    if v.is_empty() {
        return Err("imagenet= needs at least one file".into());
    }
    Ok(v)
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.parse()
}
fn parse_weighting(s: &str) -> Result<ClassWeighting, String> {
    s.parse()
}

struct Bars {
    bar: Option<ProgressBar>,
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
}

fn load_data(path: &std::path::Path, limit: Option<usize>) -> Result<dataset::FerData> {
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

pub fn train(a: TrainArgs) -> Result<()> {
    let device = a.backend.device()?;
    let data = load_data(&a.data, a.limit)?;
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
        imagenet: a.init.clone().unwrap_or_default(),
        freeze_backbone: !a.no_freeze,
    };
    if !config.imagenet.is_empty() && !config.arch.has_imagenet_backbone() {
        bail!(
            "--init imagenet=... applies to mobilenetv2, efficientnetb0 and seed-ensemble, not {}",
            config.arch
        );
    }
    let t0 = std::time::Instant::now();
    let outcome = train::train(
        config,
        &train_set,
        &val_set,
        &a.out,
        a.resume,
        &device,
        &mut Bars { bar: None },
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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SplitArg {
    Training,
    PublicTest,
    PrivateTest,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// FER-2013: the Kaggle CSV or the per-class folder tree.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, value_enum, default_value = "private-test")]
    pub split: SplitArg,
    /// The weights to evaluate (default: the embedded model), and --tta.
    #[command(flatten)]
    pub model: crate::see::ModelArgs,
    /// Print JSON (top-level "accuracy" in 0..1).
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let device = a.backend.device()?;
    let data = load_data(&a.data, a.limit)?;
    let split = match a.split {
        SplitArg::Training => Split::Training,
        SplitArg::PublicTest => Split::PublicTest,
        SplitArg::PrivateTest => Split::PrivateTest,
    };
    let samples = data.split(split);
    if samples.is_empty() {
        bail!("{}: no images in split {:?}", data.source, split);
    }
    let (model, weights_name) = match &a.model.weights {
        Some(p) => (
            checkpoint::load_weights(p, a.model.arch, &device)?.valid(),
            p.display().to_string(),
        ),
        None => {
            let bytes = moodlens_model::Classifier::shipped_bytes()
                .ok_or(moodlens_model::classifier::ClassifierError::NoEmbedded)?;
            let arch = moodlens_model::classifier::SHIPPED_ARCH;
            (
                checkpoint::load_weights_bytes(bytes, arch, &device)?.valid(),
                format!("the embedded model ({arch})"),
            )
        }
    };
    let bar = ProgressBar::new(samples.len() as u64);
    let mut probs = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(256) {
        probs.extend(meval::predict_samples(
            &model,
            chunk,
            128,
            a.model.tta,
            &device,
        ));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let m = meval::metrics(&probs, samples.iter().map(|s| s.label));
    if a.json {
        let v = serde_json::json!({
            "accuracy": m.accuracy,
            "split": format!("{split:?}"),
            "data": data.source,
            "weights": weights_name,
            "tta": a.model.tta,
            "n": m.n,
            "loss": m.loss,
            "macro_f1": m.macro_f1,
            "per_class": m.per_class,
            "labels": m.labels,
            "confusion": m.confusion,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{split:?} of {} with {weights_name}{}",
            data.source,
            if a.model.tta { " (flip TTA)" } else { "" }
        );
        print!("{}", m.report());
    }
    Ok(())
}
