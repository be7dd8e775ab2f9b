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
use moodlens_model::train::{
    self, ClassWeighting, EpochRecord, Labels, Progress, Schedule, TrainConfig,
};
use moodlens_model::{checkpoint, eval as meval, ferplus};
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
    /// FER-2013: the Kaggle CSV (.csv or .csv.gz) or a folder with train/<class>/ and test/<class>/
    /// (with --resume: default the run's own).
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Network architecture.
    #[arg(long, default_value = "compact")]
    pub arch: Arch,
    /// Output folder: checkpoint/, best.bpk, history.json, curves.png, confusion.png.
    #[arg(long, default_value = "runs/compact")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint with its stored options (data, limit,
    /// labels, ...); `--epochs N` above the run's count extends it. Example:
    /// moodlens train --out runs/v2 --resume --epochs 30
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
    #[arg(long, default_value = "fer2013", value_parser = parse_labels)]
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
fn attach_votes(
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
    /// Print JSON (top-level "accuracy" in 0..1, "ferplus_accuracy", "ece").
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub limit: Option<usize>,
    /// The FER+ votes table (default: $MOODLENS_FERPLUS, else ferplus/ferplus_votes.csv beside
    /// the data); without one, only the original labels are scored.
    #[arg(long, value_name = "CSV")]
    pub ferplus: Option<PathBuf>,
    /// Fit the calibration temperature on this split (use --split public-test) and write the model
    /// card with it to FILE (e.g. crates/model/weights/shipped.json, or best.json beside --weights).
    #[arg(long, value_name = "FILE")]
    pub calibrate: Option<PathBuf>,
    /// Write a reliability diagram (accuracy vs confidence, 15 bins) to this PNG.
    #[arg(long, value_name = "PNG")]
    pub reliability: Option<PathBuf>,
    /// Write the confusion matrix to this PNG (against the labels the temperature was fitted on:
    /// the FER+ majority for crowd-trained models). Example: --confusion confusion.png
    #[arg(long, value_name = "PNG")]
    pub confusion: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn eval(a: EvalArgs) -> Result<()> {
    use moodlens_model::classifier::ModelCard;
    let device = a.backend.device()?;
    let mut data = load_data(&a.data, a.limit)?;
    let have_votes = attach_votes(&mut data, &a.data, a.ferplus.as_deref(), false)?;
    let split = match a.split {
        SplitArg::Training => Split::Training,
        SplitArg::PublicTest => Split::PublicTest,
        SplitArg::PrivateTest => Split::PrivateTest,
    };
    let samples = data.split(split);
    if samples.is_empty() {
        bail!("{}: no images in split {:?}", data.source, split);
    }
    let (model, card, weights_name) = match &a.model.weights {
        Some(p) => {
            let card = ModelCard::read_for(p)?.unwrap_or_else(|| ModelCard::new(a.model.arch));
            (
                checkpoint::load_with_card(p, &card, &device)?.valid(),
                card,
                p.display().to_string(),
            )
        }
        None => {
            let bytes = moodlens_model::Classifier::shipped_bytes()
                .ok_or(moodlens_model::classifier::ClassifierError::NoEmbedded)?;
            let card = ModelCard::shipped();
            (
                checkpoint::load_weights_bytes(bytes, card.arch, &device)?.valid(),
                card.clone(),
                format!("the embedded model ({})", card.arch),
            )
        }
    };
    let tta = a.model.tta_override().unwrap_or(card.tta);
    let bar = ProgressBar::new(samples.len() as u64);
    let mut raw = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(256) {
        let faces: Vec<&[u8]> = chunk.iter().map(|s| s.pixels.as_slice()).collect();
        raw.extend(meval::predict_pixels(
            &model, &faces, 128, tta, 1.0, &device,
        ));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let card = match &a.calibrate {
        Some(path) => {
            let mut fitted = train::calibrate(card.arch, card.labels, &raw, &samples);
            fitted.tta = tta;
            fitted.imagenet_backbones = card.imagenet_backbones;
            fitted.unfrozen_from = card.unfrozen_from;
            fitted.write_for_path(path)?;
            eprintln!(
                "calibration temperature {:.4} (against {}) written to {}",
                fitted.temperature,
                fitted.calibrated_on.as_deref().unwrap_or("?"),
                path.display()
            );
            fitted
        }
        None => card,
    };
    let probs: Vec<_> = raw
        .iter()
        .map(|p| meval::temper(p, card.temperature))
        .collect();
    let labels: Vec<_> = samples.iter().map(|s| s.label).collect();
    let m = meval::metrics(&probs, labels.iter().copied());
    let ece_original = meval::ece(&probs, &labels, 15);
    let fp = meval::ferplus_metrics(&probs, &samples).map(|(fm, left_out)| {
        let (p, y): (Vec<_>, Vec<_>) = probs
            .iter()
            .zip(&samples)
            .filter_map(|(p, s)| Some((*p, s.crowd?.majority?)))
            .unzip();
        (fm, left_out, meval::ece(&p, &y, 15), p, y)
    });
    // `ece` is measured against the labels the temperature was fitted on
    let on_crowd = card.calibrated_on.as_deref() == Some("ferplus-majority");
    let ece = match (&fp, on_crowd) {
        (Some((_, _, e, _, _)), true) => *e,
        _ => ece_original,
    };
    if let Some(png) = &a.reliability {
        let (p, y) = match (&fp, on_crowd) {
            (Some((_, _, _, p, y)), true) => (p.clone(), y.clone()),
            _ => (probs.clone(), labels.clone()),
        };
        let bins = meval::reliability_bins(&p, &y, 15);
        moodlens_model::plot::reliability_diagram(
            &bins,
            &format!("{} on {split:?}: ECE {ece:.4}", card.arch),
            png,
        )?;
    }
    if let Some(png) = &a.confusion {
        let (cm, which) = match (&fp, on_crowd) {
            (Some((fm, _, _, _, _)), true) => (fm, "FER+ majority"),
            _ => (&m, "original labels"),
        };
        moodlens_model::plot::confusion_matrix(
            cm,
            &format!("{} on {split:?}, {which}", card.arch),
            png,
        )?;
    }
    if a.json {
        let mut v = serde_json::json!({
            "accuracy": m.accuracy,
            "macro_recall": m.macro_recall,
            "ece": ece,
            "ece_original": ece_original,
            "temperature": card.temperature,
            "calibrated_on": card.calibrated_on,
            "labels_trained": card.labels.to_string(),
            "split": format!("{split:?}"),
            "data": data.source,
            "weights": weights_name,
            "tta": tta,
            "n": m.n,
            "loss": m.loss,
            "macro_f1": m.macro_f1,
            "per_class": m.per_class,
            "labels": m.labels,
            "confusion": m.confusion,
        });
        if let Some((fm, left_out, fece, _, _)) = &fp {
            v["ferplus_accuracy"] = serde_json::json!(fm.accuracy);
            v["ferplus_macro_recall"] = serde_json::json!(fm.macro_recall);
            v["ferplus_ece"] = serde_json::json!(fece);
            v["ferplus_n"] = serde_json::json!(fm.n);
            v["ferplus_left_out"] = serde_json::json!(left_out);
            v["ferplus_per_class"] = serde_json::json!(fm.per_class);
            v["ferplus_confusion"] = serde_json::json!(fm.confusion);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{split:?} of {} with {weights_name}{} (temperature {:.3})",
            data.source,
            if tta { " (flip TTA)" } else { "" },
            card.temperature
        );
        println!("\n== original FER-2013 labels ==");
        print!("{}", m.report());
        println!("ECE (15 bins) {ece_original:.4}");
        match &fp {
            Some((fm, left_out, fece, _, _)) => {
                println!("\n== FER+ majority labels ({} images; {left_out} left out: no votes, ties, contempt/unknown/not-a-face) ==", fm.n);
                print!("{}", fm.report());
                println!("ECE (15 bins) {fece:.4}");
            }
            None if !have_votes => println!(
                "\n(no FER+ votes table found: FER+ accuracy not measured; --ferplus <csv>)"
            ),
            None => {}
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write the ONNX model here (opset 13; input `pixels` float32 [N,1,48,48] gray 0-255, outputs
    /// `logits` and `probabilities` [N,7]; docs/ONNX.md).
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// Weights file (.bpk from `moodlens train`, with its model card) instead of the embedded model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Architecture of --weights when it has no model card.
    #[arg(long, default_value = "compact")]
    pub arch: Arch,
    /// Write ReLU6 and the ensemble's clamp without `Clip` (OpenCV 4.6's DNN reads only its old
    /// form); only the ImageNet-style architectures have clamps.
    #[arg(long)]
    pub opencv46: bool,
}

/// `moodlens export --onnx`: the classifier (architecture, weights and calibration temperature
/// from its card) as an ONNX file, written atomically.
pub fn export(a: ExportArgs) -> Result<()> {
    let clf = match &a.weights {
        Some(p) => moodlens_model::Classifier::from_file(p, a.arch)
            .with_context(|| format!("loading weights {}", p.display()))?,
        None => moodlens_model::Classifier::embedded()?,
    };
    let bytes = clf.to_onnx_with(a.opencv46)?;
    let tmp = a.onnx.with_extension("onnx.tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &a.onnx).with_context(|| format!("writing {}", a.onnx.display()))?;
    eprintln!(
        "wrote {} ({} bytes; {} weights, {}, temperature {}{})",
        a.onnx.display(),
        bytes.len(),
        clf.source,
        clf.net().arch(),
        clf.temperature,
        if clf.tta {
            "; its card asks for flip TTA: average each face with its mirror"
        } else {
            ""
        }
    );
    Ok(())
}
