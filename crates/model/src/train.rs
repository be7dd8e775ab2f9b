//! The training loop: shuffled, augmented mini-batches, class-weighted (optionally label-smoothed)
//! cross-entropy, Adam with a constant or one-cycle learning rate, validation every epoch, early
//! stopping on validation accuracy, the best weights kept, and an atomic checkpoint (weights,
//! optimizer state, RNG-free progress state) after every epoch so `--resume` continues exactly where
//! an interrupted run stopped: every random draw is derived from `(seed, epoch, batch)`, so the
//! remaining epochs give the same result as an uninterrupted run.

use crate::augment::{warp_into, AugmentConfig, Warp};
use crate::checkpoint::{self, Checkpoint};
use crate::dataset::balanced_class_weights;
use crate::eval::{self, Metrics};
use crate::fer_csv::Sample;
use crate::nets::{Arch, Net};
use crate::{faces_tensor, INPUT_SIZE, NUM_EMOTIONS};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How the loss weighs classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassWeighting {
    /// scikit-learn's "balanced": `n / (k * count_c)`.
    Balanced,
    /// Square root of the balanced weights (a milder correction).
    Sqrt,
    /// All classes weigh 1.
    None,
}

impl std::str::FromStr for ClassWeighting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "balanced" => Ok(Self::Balanced),
            "sqrt" => Ok(Self::Sqrt),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "unknown class weighting '{s}' (balanced, sqrt, none)"
            )),
        }
    }
}

impl std::fmt::Display for ClassWeighting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Balanced => "balanced",
            Self::Sqrt => "sqrt",
            Self::None => "none",
        })
    }
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// `lr` throughout.
    Constant,
    /// Smith's one-cycle (as PyTorch's OneCycleLR defaults): cosine warm-up from lr/25 to lr over
    /// the first 30% of steps, then cosine decay to lr/1e4/25.
    OneCycle,
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "constant" => Ok(Self::Constant),
            "one-cycle" | "onecycle" => Ok(Self::OneCycle),
            _ => Err(format!("unknown schedule '{s}' (constant, one-cycle)")),
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Constant => "constant",
            Self::OneCycle => "one-cycle",
        })
    }
}

/// Which labels the loss learns from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Labels {
    /// FER-2013's original one-hot labels.
    #[default]
    Fer2013,
    /// The FER+ crowd's vote distribution over the seven emotions (cross-entropy against it);
    /// images the crowd left out (no votes, unknown / not-a-face majority) are not trained on.
    Ferplus,
    /// `A` x the original one-hot label + `(1 - A)` x the FER+ vote distribution; images without
    /// a usable vote distribution keep their one-hot label.
    Mix(f32),
}

impl Labels {
    /// The training target of a sample, `None` when the sample is left out.
    pub fn target(&self, s: &Sample) -> Option<[f32; NUM_EMOTIONS]> {
        let mut onehot = [0f32; NUM_EMOTIONS];
        onehot[s.label.index()] = 1.0;
        let dist = s.crowd.and_then(|c| c.distribution);
        match (*self, dist) {
            (Labels::Fer2013, _) => Some(onehot),
            (Labels::Ferplus, d) => d,
            (Labels::Mix(_), None) => Some(onehot),
            (Labels::Mix(a), Some(d)) => {
                let mut t = [0f32; NUM_EMOTIONS];
                for i in 0..NUM_EMOTIONS {
                    t[i] = a * onehot[i] + (1.0 - a) * d[i];
                }
                Some(t)
            }
        }
    }

    /// Whether the run needs FER+ votes attached to its samples.
    pub fn needs_votes(&self) -> bool {
        !matches!(self, Labels::Fer2013)
    }
}

impl std::fmt::Display for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Labels::Fer2013 => f.write_str("fer2013"),
            Labels::Ferplus => f.write_str("ferplus"),
            Labels::Mix(a) => write!(f, "mix:{a}"),
        }
    }
}

impl std::str::FromStr for Labels {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fer2013" => Ok(Labels::Fer2013),
            "ferplus" => Ok(Labels::Ferplus),
            _ => {
                let a = s
                    .strip_prefix("mix:")
                    .ok_or_else(|| format!("unknown labels '{s}' (fer2013, ferplus, mix:A)"))?;
                let a: f32 = a
                    .parse()
                    .map_err(|_| format!("mix:A needs a number A in 0..1, got '{a}'"))?;
                if !(0.0..=1.0).contains(&a) {
                    return Err(format!("mix:A needs A in 0..1, got {a}"));
                }
                Ok(Labels::Mix(a))
            }
        }
    }
}

/// Everything that defines a training run. Stored in the checkpoint; `--resume` reuses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub arch: Arch,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub schedule: Schedule,
    /// Early-stopping patience in epochs without a validation-accuracy improvement.
    pub patience: usize,
    pub seed: u64,
    pub augment: AugmentConfig,
    pub class_weighting: ClassWeighting,
    pub label_smoothing: f32,
    /// timm-named ImageNet safetensors files for the backbones (`--init imagenet=<file>[,<file>]`).
    #[serde(default)]
    pub imagenet: Vec<PathBuf>,
    /// Freeze the backbones that were initialised from ImageNet weights.
    #[serde(default = "default_true")]
    pub freeze_backbone: bool,
    /// With frozen backbones: stages from this one on (and the head conv) are trained too.
    #[serde(default)]
    pub unfreeze_from: Option<usize>,
    /// Start from these weights (a previous run's `best.bpk`, with its card) instead of a fresh
    /// initialisation: the second phase of fine-tuning.
    #[serde(default)]
    pub from: Option<PathBuf>,
    /// Training labels (FER-2013, FER+ votes or a mix).
    #[serde(default)]
    pub labels: Labels,
    /// Where the data came from and the per-split-and-class limit, so `--resume` needs neither.
    #[serde(default)]
    pub data: Option<PathBuf>,
    #[serde(default)]
    pub limit: Option<usize>,
}

fn default_true() -> bool {
    true
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            arch: Arch::Compact,
            epochs: 20,
            batch_size: 64,
            lr: 2e-4,
            schedule: Schedule::Constant,
            patience: 3,
            seed: 42,
            augment: AugmentConfig::default(),
            class_weighting: ClassWeighting::Balanced,
            label_smoothing: 0.0,
            imagenet: Vec::new(),
            freeze_backbone: true,
            unfreeze_from: None,
            from: None,
            labels: Labels::Fer2013,
            data: None,
            limit: None,
        }
    }
}

impl TrainConfig {
    /// What the run's weights files hold: only the trained parts when it trains on frozen ImageNet
    /// backbones (see [`checkpoint::Parts`]).
    pub fn saved_parts(&self) -> checkpoint::Parts {
        if self.freeze_backbone && !self.imagenet.is_empty() {
            checkpoint::Parts::trained(self.unfreeze_from)
        } else {
            checkpoint::Parts::All
        }
    }

    /// The model card of this run's weights (before calibration).
    pub fn card(&self) -> crate::classifier::ModelCard {
        let mut card = crate::classifier::ModelCard::new(self.arch);
        card.labels = self.labels;
        if let checkpoint::Parts::Trained(_) = self.saved_parts() {
            card.imagenet_backbones = true;
            card.unfrozen_from = self.unfreeze_from;
        }
        card
    }

    /// Learning rate at global step `step` of `total` steps.
    pub fn lr_at(&self, step: usize, total: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::OneCycle => one_cycle(self.lr, step, total),
        }
    }

    pub fn class_weights(&self, counts: &[f64; NUM_EMOTIONS]) -> Option<[f32; NUM_EMOTIONS]> {
        match self.class_weighting {
            ClassWeighting::None => None,
            ClassWeighting::Balanced => Some(balanced_class_weights(counts)),
            ClassWeighting::Sqrt => Some(balanced_class_weights(counts).map(f32::sqrt)),
        }
    }
}

/// PyTorch OneCycleLR (cosine annealing, pct_start 0.3, div_factor 25, final_div_factor 1e4).
pub fn one_cycle(max_lr: f64, step: usize, total: usize) -> f64 {
    let initial = max_lr / 25.0;
    let min = initial / 1e4;
    let total = total.max(2) as f64;
    let up = (0.3 * total - 1.0).max(1.0);
    let s = step as f64;
    let cos = |start: f64, end: f64, pct: f64| {
        end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
    };
    if s <= up {
        cos(initial, max_lr, s / up)
    } else {
        let down = (total - 1.0 - up).max(1.0);
        cos(max_lr, min, ((s - up) / down).min(1.0))
    }
}

/// Early stopping on a metric that should grow (validation accuracy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub patience: usize,
    pub best: Option<f64>,
    pub best_epoch: usize,
    pub bad_epochs: usize,
}

/// What [`EarlyStopping::update`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopDecision {
    Improved,
    Continue,
    Stop,
}

impl EarlyStopping {
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            best: None,
            best_epoch: 0,
            bad_epochs: 0,
        }
    }
    pub fn update(&mut self, epoch: usize, metric: f64) -> StopDecision {
        if self.best.is_none_or(|b| metric > b) {
            self.best = Some(metric);
            self.best_epoch = epoch;
            self.bad_epochs = 0;
            StopDecision::Improved
        } else {
            self.bad_epochs += 1;
            if self.bad_epochs >= self.patience {
                StopDecision::Stop
            } else {
                StopDecision::Continue
            }
        }
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    /// Validation accuracy on the original FER-2013 labels.
    pub val_accuracy: f64,
    /// Validation accuracy on the FER+ majority labels (when votes were attached).
    #[serde(default)]
    pub val_ferplus_accuracy: Option<f64>,
    /// The number early stopping and best-epoch selection use (see [`selection_metric`]).
    #[serde(default)]
    pub val_selection: Option<f64>,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    pub seconds: f64,
}

/// Progress of a run; saved in each checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    /// Epochs completed.
    pub epochs_done: usize,
    pub history: Vec<EpochRecord>,
    pub early: EarlyStopping,
    pub stopped_early: bool,
    /// Number of training / validation samples the run was started with (checked on resume).
    pub n_train: usize,
    pub n_val: usize,
}

/// What a finished (or early-stopped) run returns.
#[derive(Debug)]
pub struct TrainOutcome {
    pub state: TrainState,
    pub best_weights: PathBuf,
    pub val_metrics: Metrics,
}

/// Errors of the training loop.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training samples")]
    NoTrainingData,
    #[error("no validation samples")]
    NoValidationData,
    #[error(
        "no training image has a FER+ vote distribution: were the FER+ votes loaded (--ferplus)?"
    )]
    NoVotes,
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error("the checkpoint in {dir} was made with {ckpt} training / {ckpt_val} validation samples, this data has {now} / {now_val}: pass the same --data/--limit to resume")]
    DataMismatch {
        dir: String,
        ckpt: usize,
        ckpt_val: usize,
        now: usize,
        now_val: usize,
    },
    #[error(
        "{0} already holds a checkpoint: pass --resume to continue it or choose another --out"
    )]
    WouldOverwrite(String),
    #[error(transparent)]
    Imagenet(#[from] crate::imagenet::ImagenetError),
    #[error("--from: {0}")]
    From(String),
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Hooks for progress display; all optional.
pub trait Progress {
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    fn batch(&mut self, _done: usize, _loss: f64, _acc: f64) {}
    fn epoch_end(&mut self, _rec: &EpochRecord, _improved: bool) {}
    /// Checked after each epoch's checkpoint is written; `false` ends the run there (Ctrl-C, tests).
    fn keep_going(&mut self) -> bool {
        true
    }
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

/// Build a normalised input batch `[B,1,48,48]` and its targets from `idx` into `samples`,
/// augmented with draws from `rng` when `aug` is given.
pub fn make_batch(
    samples: &[&Sample],
    idx: &[usize],
    aug: Option<(&AugmentConfig, &mut ChaCha8Rng)>,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let px = INPUT_SIZE * INPUT_SIZE;
    let mut data = vec![0f32; idx.len() * px];
    let mut targets = Vec::with_capacity(idx.len());
    match aug {
        Some((cfg, rng)) => {
            for (k, &i) in idx.iter().enumerate() {
                let w = Warp::sample(cfg, rng);
                let out = &mut data[k * px..(k + 1) * px];
                warp_into(&samples[i].pixels, INPUT_SIZE, &w, out);
                targets.push(samples[i].label.index() as i64);
            }
        }
        None => {
            for (k, &i) in idx.iter().enumerate() {
                let out = &mut data[k * px..(k + 1) * px];
                for (o, &p) in out.iter_mut().zip(&samples[i].pixels) {
                    *o = p as f32;
                }
                targets.push(samples[i].label.index() as i64);
            }
        }
    }
    let x = faces_tensor(data, device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(targets, [idx.len()]), device);
    (x, y)
}

/// The model card of a trained model: temperature fitted on `val` (PublicTest) against the labels
/// the run is judged on: the original ones for `fer2013`, the FER+ majority otherwise (when the
/// samples carry votes). `probs` are the model's uncalibrated probabilities on `val`.
pub fn calibrate(
    arch: crate::nets::Arch,
    labels: Labels,
    probs: &[[f32; NUM_EMOTIONS]],
    val: &[&Sample],
) -> crate::classifier::ModelCard {
    let crowd = labels.needs_votes() && val.iter().any(|s| s.crowd.is_some());
    let (p, y): (Vec<[f32; NUM_EMOTIONS]>, Vec<crate::Emotion>) = if crowd {
        probs
            .iter()
            .zip(val)
            .filter_map(|(p, s)| Some((*p, s.crowd?.majority?)))
            .unzip()
    } else {
        probs.iter().zip(val).map(|(p, s)| (*p, s.label)).unzip()
    };
    let mut card = crate::classifier::ModelCard::new(arch);
    card.labels = labels;
    card.temperature = eval::fit_temperature(&p, &y);
    card.calibrated_on = Some(if crowd { "ferplus-majority" } else { "fer2013" }.into());
    card
}

/// The training samples a run with `labels` learns from (all but those FER+ leaves out).
fn usable<'a>(train: &[&'a Sample], labels: Labels) -> Vec<&'a Sample> {
    train
        .iter()
        .copied()
        .filter(|s| labels.target(s).is_some())
        .collect()
}

/// Soft targets `[B,7]` (label-smoothed: `(1-e) t + e/7`), their argmax as Int labels for
/// accuracy, and per-sample loss weights `sum_c w_c t_c` (`None` without class weights).
pub fn soft_targets(
    targets: &[[f32; NUM_EMOTIONS]],
    class_weights: Option<&[f32; NUM_EMOTIONS]>,
    smoothing: f32,
    device: &Device,
) -> (Tensor<2>, Tensor<1, Int>, Option<Tensor<2>>) {
    let n = targets.len();
    let e = smoothing.clamp(0.0, 1.0);
    let mut t = Vec::with_capacity(n * NUM_EMOTIONS);
    let mut y = Vec::with_capacity(n);
    let mut w = Vec::with_capacity(n);
    for row in targets {
        t.extend(row.iter().map(|v| (1.0 - e) * v + e / NUM_EMOTIONS as f32));
        y.push(eval::argmax(row) as i64);
        if let Some(cw) = class_weights {
            w.push(row.iter().zip(cw).map(|(v, c)| v * c).sum::<f32>());
        }
    }
    let t = Tensor::<2>::from_data(TensorData::new(t, [n, NUM_EMOTIONS]), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(y, [n]), device);
    let w = class_weights.map(|_| Tensor::<2>::from_data(TensorData::new(w, [n, 1]), device));
    (t, y, w)
}

/// Cross-entropy against soft targets, `-sum_c t_c log softmax(z)_c`, averaged over the batch; with
/// per-sample weights, their weighted mean (PyTorch's convention for class-weighted losses). With
/// one-hot targets this is the ordinary (label-smoothed, class-weighted) cross-entropy.
pub fn soft_cross_entropy(
    logits: Tensor<2>,
    targets: Tensor<2>,
    weights: Option<Tensor<2>>,
) -> Tensor<1> {
    let per = (targets * log_softmax(logits, 1)).sum_dim(1).neg(); // [B,1]
    match weights {
        None => per.mean(),
        Some(w) => {
            let total = w.clone().sum();
            (per * w).sum() / total
        }
    }
}

/// What selects the best epoch and drives early stopping: validation accuracy on the labels the
/// run learns (original labels for `fer2013`, the FER+ majority for `ferplus`, their mean for a
/// mix). Without votes, the original-label accuracy.
pub fn selection_metric(
    labels: Labels,
    original: f64,
    ferplus: Option<eval::FerPlusAccuracy>,
) -> f64 {
    match (labels, ferplus) {
        (Labels::Fer2013, _) | (_, None) => original,
        (Labels::Ferplus, Some(f)) => f.accuracy,
        (Labels::Mix(_), Some(f)) => (original + f.accuracy) / 2.0,
    }
}

fn rng_for(seed: u64, epoch: usize, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0x6d6f_6f64_6c65_6e73);
    r.set_stream(stream);
    r.set_word_pos((epoch as u128) << 40);
    r
}

/// A run in progress, as its last checkpoint left it.
type Run = (Net, burn::optim::ModuleOptimizer, TrainState);

/// The run of `found` to resume: its model (backbones frozen again as the run had them), optimizer
/// and state; its stored options stay, except that a larger `config.epochs` extends it and one no
/// larger than the epochs done ends it (the best epoch is then calibrated and plotted).
fn resume_run(
    found: checkpoint::Found,
    config: &TrainConfig,
    train: &[&Sample],
    val: &[&Sample],
    out_dir: &Path,
    device: &Device,
) -> Result<Run, TrainError> {
    let ck: Checkpoint = found.load(device)?;
    let n_train = usable(train, ck.state.config.labels).len();
    if ck.state.n_train != n_train || ck.state.n_val != val.len() {
        return Err(TrainError::DataMismatch {
            dir: out_dir.display().to_string(),
            ckpt: ck.state.n_train,
            ckpt_val: ck.state.n_val,
            now: n_train,
            now_val: val.len(),
        });
    }
    // the run keeps its stored options, except that a larger epoch count extends it
    let mut ck = ck;
    if config.epochs != ck.state.config.epochs {
        if config.epochs > ck.state.config.epochs {
            tracing::info!(
                "extending the run from {} to {} epochs",
                ck.state.config.epochs,
                config.epochs
            );
            ck.state.config.epochs = config.epochs;
            if ck.state.stopped_early {
                tracing::warn!(
                    "the run had stopped early (epoch {}); it continues for the added epochs",
                    ck.state.epochs_done
                );
                ck.state.stopped_early = false;
                ck.state.early.bad_epochs = 0;
            }
        } else if config.epochs <= ck.state.epochs_done {
            // ends the run now: no more epochs, only the finishing step (calibration, plots)
            tracing::info!(
                "ending the run after its epoch {} (it was to run {})",
                ck.state.epochs_done,
                ck.state.config.epochs
            );
            ck.state.config.epochs = ck.state.epochs_done;
            found.save_state(&ck.state)?;
        } else {
            let (asked, planned, done) =
                (config.epochs, ck.state.config.epochs, ck.state.epochs_done);
            tracing::warn!(
                "--epochs {asked} is below the run's {planned} but above the {done} done: ignored (the learning-rate schedule spans the run's epochs; --epochs {done} ends the run now, Ctrl-C after the current epoch)"
            );
        }
    }
    tracing::info!(
        "resuming {} after epoch {}/{}",
        out_dir.display(),
        ck.state.epochs_done,
        ck.state.config.epochs
    );
    let model = if ck.state.config.freeze_backbone && !ck.state.config.imagenet.is_empty() {
        ck.model.freeze_backbones(ck.state.config.unfreeze_from)
    } else {
        ck.model
    };
    Ok((model, ck.optim, ck.state))
}

/// A new run: ImageNet backbones and/or `--from` weights loaded, backbones frozen as asked, a
/// fresh optimizer and state.
fn new_run(
    config: &TrainConfig,
    train: &[&Sample],
    val: &[&Sample],
    device: &Device,
) -> Result<Run, TrainError> {
    device.seed(config.seed);
    let mut model = if !config.imagenet.is_empty() {
        let m = checkpoint::imagenet_base(config.arch, &config.imagenet, device)?;
        tracing::info!(
            "loaded ImageNet weights into the {} backbone(s) from {}",
            config.arch,
            config
                .imagenet
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        m
    } else {
        if config.arch.has_imagenet_backbone() && config.from.is_none() {
            tracing::warn!(
                "no ImageNet weights given (--init imagenet): training {} end to end from random initialisation",
                config.arch
            );
        }
        Net::new(config.arch, device)
    };
    if let Some(from) = &config.from {
        let card = crate::classifier::ModelCard::read_for(from)
            .map_err(|e| TrainError::From(e.to_string()))?
            .unwrap_or_else(|| crate::classifier::ModelCard::new(config.arch));
        if card.arch != config.arch {
            return Err(TrainError::From(format!(
                "{} holds {}, not {}",
                from.display(),
                card.arch,
                config.arch
            )));
        }
        model = if card.imagenet_backbones {
            checkpoint::load_parts_into(
                model,
                from,
                &checkpoint::Parts::trained(card.unfrozen_from),
            )?
        } else {
            checkpoint::load_weights(from, config.arch, device)?
        };
        tracing::info!("starting from the weights in {}", from.display());
    }
    if config.freeze_backbone && !config.imagenet.is_empty() {
        model = model.freeze_backbones(config.unfreeze_from);
        tracing::info!(
            "backbones frozen (BatchNorm in inference mode){}",
            config
                .unfreeze_from
                .map(|k| format!(", stages {k}.. and the head conv trained"))
                .unwrap_or_default()
        );
    }
    let optim = AdamConfig::new().init();
    let state = TrainState {
        early: EarlyStopping::new(config.patience),
        config: config.clone(),
        epochs_done: 0,
        history: Vec::new(),
        stopped_early: false,
        n_train: usable(train, config.labels).len(),
        n_val: val.len(),
    };
    Ok((model, optim, state))
}

/// One pass over the training set in a fresh shuffled order with fresh augmentation: the model
/// after it, the mean loss and accuracy, and the last learning rate.
#[allow(clippy::too_many_arguments)]
fn train_epoch(
    mut model: Net,
    optim: &mut burn::optim::ModuleOptimizer,
    cfg: &TrainConfig,
    train: &[&Sample],
    targets: &[[f32; NUM_EMOTIONS]],
    weights: Option<&[f32; NUM_EMOTIONS]>,
    epoch: usize,
    device: &Device,
    progress: &mut dyn Progress,
) -> (Net, f64, f64, f64) {
    let batches = train.len().div_ceil(cfg.batch_size);
    let total_steps = batches * cfg.epochs;
    device.seed(cfg.seed.wrapping_add(1 + epoch as u64));
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut rng_for(cfg.seed, epoch, 1));
    let mut aug_rng = rng_for(cfg.seed, epoch, 2);
    progress.epoch_start(epoch + 1, cfg.epochs, batches);
    let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
    let mut lr = cfg.lr;
    for (b, idx) in order.chunks(cfg.batch_size).enumerate() {
        let aug = (!cfg.augment.is_identity()).then_some((&cfg.augment, &mut aug_rng));
        let (x, _) = make_batch(train, idx, aug, device);
        let batch_targets: Vec<[f32; NUM_EMOTIONS]> = idx.iter().map(|&i| targets[i]).collect();
        let (t, y, w) = soft_targets(&batch_targets, weights, cfg.label_smoothing, device);
        let logits = model.forward(x);
        let loss = soft_cross_entropy(logits.clone(), t, w);
        let hits = logits
            .argmax(1)
            .squeeze_dim::<1>(1)
            .equal(y)
            .int()
            .sum()
            .into_scalar::<i64>();
        let loss_v = loss.clone().into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        lr = cfg.lr_at(epoch * batches + b, total_steps);
        model = optim.step(lr, model, grads);
        loss_sum += loss_v * idx.len() as f64;
        correct += hits as usize;
        seen += idx.len();
        progress.batch(b + 1, loss_sum / seen as f64, correct as f64 / seen as f64);
    }
    (
        model,
        loss_sum / seen as f64,
        correct as f64 / seen as f64,
        lr,
    )
}

/// The end of a run: the best epoch's weights calibrated on the validation split (its card
/// rewritten with the temperature), the reliability diagram, history, curves and confusion matrix
/// written; the best epoch's validation metrics.
fn finish_run(
    state: &TrainState,
    val: &[&Sample],
    best_path: &Path,
    out_dir: &Path,
    base_device: &Device,
) -> Result<Metrics, TrainError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TrainError::Io { path, source }
    };
    let cfg = &state.config;
    let best = checkpoint::load_with_card(best_path, &cfg.card(), base_device)?;
    let probs = eval::predict_samples(&best, val, 128, false, base_device);
    let val_metrics = eval::metrics(&probs, val.iter().map(|s| s.label));
    let mut card = calibrate(cfg.arch, cfg.labels, &probs, val);
    card.imagenet_backbones = cfg.card().imagenet_backbones;
    card.unfrozen_from = cfg.unfreeze_from.filter(|_| card.imagenet_backbones);
    tracing::info!(
        "calibration temperature {:.3} (fitted on the validation split against {})",
        card.temperature,
        card.calibrated_on.as_deref().unwrap_or("?")
    );
    card.write_for(best_path).map_err(io(best_path))?;
    {
        let crowd = card.calibrated_on.as_deref() == Some("ferplus-majority");
        let (p, y): (Vec<[f32; NUM_EMOTIONS]>, Vec<crate::Emotion>) = probs
            .iter()
            .zip(val)
            .filter_map(|(p, s)| {
                let y = if crowd { s.crowd?.majority? } else { s.label };
                Some((eval::temper(p, card.temperature), y))
            })
            .unzip();
        let e = eval::ece(&p, &y, 15);
        crate::plot::reliability_diagram(
            &eval::reliability_bins(&p, &y, 15),
            &format!(
                "{} validation, T = {:.2}: ECE {:.4}",
                cfg.arch, card.temperature, e
            ),
            &out_dir.join("reliability.png"),
        )?;
    }
    let hist = out_dir.join("history.json");
    let json = serde_json::to_string_pretty(state).unwrap_or_default();
    std::fs::write(&hist, json).map_err(io(&hist))?;
    crate::plot::training_curves(&state.history, &out_dir.join("curves.png"))?;
    crate::plot::confusion_matrix(
        &val_metrics,
        &format!(
            "{} best epoch {}, validation",
            cfg.arch, state.early.best_epoch
        ),
        &out_dir.join("confusion.png"),
    )?;
    Ok(val_metrics)
}

/// Train (or resume) a run in `out_dir` on `train` with validation on `val`.
pub fn train(
    config: TrainConfig,
    train: &[&Sample],
    val: &[&Sample],
    out_dir: &Path,
    resume: bool,
    base_device: &Device,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome, TrainError> {
    if train.is_empty() {
        return Err(TrainError::NoTrainingData);
    }
    if val.is_empty() {
        return Err(TrainError::NoValidationData);
    }
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TrainError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let device = base_device.clone().autodiff();

    let existing = checkpoint::find(out_dir);
    if resume && existing.is_none() {
        tracing::warn!(
            "--resume: no checkpoint in {} yet (interrupted before the end of the first epoch?): starting from scratch",
            out_dir.display()
        );
    }
    let (mut model, mut optim, mut state) = match (resume, existing) {
        (true, Some(found)) => resume_run(found, &config, train, val, out_dir, &device)?,
        (_, Some(_)) => return Err(TrainError::WouldOverwrite(out_dir.display().to_string())),
        (_, None) => new_run(&config, train, val, &device)?,
    };
    let cfg = state.config.clone();
    if cfg.labels.needs_votes() && train.iter().all(|s| s.crowd.is_none()) {
        // e.g. a resumed FER+ run without its votes table: never silently fall back to one-hot
        return Err(TrainError::NoVotes);
    }
    let train = usable(train, cfg.labels);
    if train.is_empty() {
        return Err(TrainError::NoVotes);
    }
    if cfg.labels.needs_votes() {
        tracing::info!(
            "labels {}: {} training images ({} with FER+ votes)",
            cfg.labels,
            train.len(),
            train
                .iter()
                .filter(|s| s.crowd.and_then(|c| c.distribution).is_some())
                .count()
        );
    }

    let targets: Vec<[f32; NUM_EMOTIONS]> = train
        .iter()
        .map(|s| cfg.labels.target(s).unwrap_or([0.0; NUM_EMOTIONS]))
        .collect();
    let mut counts = [0f64; NUM_EMOTIONS];
    for t in &targets {
        for (c, v) in counts.iter_mut().zip(t) {
            *c += *v as f64;
        }
    }
    let weights = cfg.class_weights(&counts);
    if let Some(w) = &weights {
        tracing::info!("class weights: {:?}", w);
    }

    let best_path = out_dir.join("best.bpk");

    while state.epochs_done < cfg.epochs && !state.stopped_early {
        let epoch = state.epochs_done; // 0-based
        let t0 = Instant::now();
        let (trained, train_loss, train_accuracy, lr) = train_epoch(
            model,
            &mut optim,
            &cfg,
            &train,
            &targets,
            weights.as_ref(),
            epoch,
            &device,
            progress,
        );
        model = trained;
        let valid = model.valid();
        let probs = eval::predict_samples(&valid, val, cfg.batch_size.max(64), false, base_device);
        let m = eval::metrics(&probs, val.iter().map(|s| s.label));
        let ferplus = eval::ferplus_accuracy(&probs, val);
        let selection = selection_metric(cfg.labels, m.accuracy, ferplus);
        let rec = EpochRecord {
            epoch: epoch + 1,
            train_loss,
            train_accuracy,
            val_loss: m.loss,
            val_accuracy: m.accuracy,
            val_ferplus_accuracy: ferplus.map(|f| f.accuracy),
            val_selection: Some(selection),
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        };
        let decision = state.early.update(epoch + 1, selection);
        if decision == StopDecision::Improved {
            checkpoint::save_weights_atomic(&valid, &best_path, &cfg.saved_parts())?;
            cfg.card().write_for(&best_path).map_err(io(&best_path))?;
        }
        if decision == StopDecision::Stop {
            state.stopped_early = true;
            tracing::info!(
                "early stop after epoch {}: no validation improvement for {} epochs (best {:.4} at epoch {})",
                epoch + 1,
                cfg.patience,
                state.early.best.unwrap_or(0.0),
                state.early.best_epoch
            );
        }
        state.history.push(rec.clone());
        state.epochs_done = epoch + 1;
        checkpoint::save(out_dir, &model, &optim, &state)?;
        progress.epoch_end(&rec, decision == StopDecision::Improved);
        tracing::info!(
            "epoch {}/{}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4}{} | lr {:.2e} | {:.0}s",
            rec.epoch,
            cfg.epochs,
            rec.train_loss,
            rec.train_accuracy,
            rec.val_loss,
            rec.val_accuracy,
            rec.val_ferplus_accuracy
                .map(|f| format!(" FER+ {f:.4}"))
                .unwrap_or_default(),
            rec.lr,
            rec.seconds
        );
        if !progress.keep_going() {
            tracing::info!("stopping after epoch {}; continue with --resume", rec.epoch);
            break;
        }
    }

    let val_metrics = finish_run(&state, val, &best_path, out_dir, base_device)?;
    Ok(TrainOutcome {
        state,
        best_weights: best_path,
        val_metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn early_stopping_counts_epochs_without_improvement() {
        let mut e = EarlyStopping::new(3);
        assert_eq!(e.update(1, 0.5), StopDecision::Improved);
        assert_eq!(e.update(2, 0.6), StopDecision::Improved);
        assert_eq!(e.update(3, 0.6), StopDecision::Continue); // equal is not better
        assert_eq!(e.update(4, 0.55), StopDecision::Continue);
        assert_eq!(e.update(5, 0.61), StopDecision::Improved);
        assert_eq!(e.bad_epochs, 0);
        assert_eq!(e.update(6, 0.5), StopDecision::Continue);
        assert_eq!(e.update(7, 0.5), StopDecision::Continue);
        assert_eq!(e.update(8, 0.5), StopDecision::Stop);
        assert_eq!(e.best_epoch, 5);
        assert_eq!(e.best, Some(0.61));
    }

    #[test]
    fn one_cycle_warms_up_peaks_and_anneals() {
        let total = 1000;
        let lr0 = one_cycle(2e-3, 0, total);
        assert!((lr0 - 2e-3 / 25.0).abs() < 1e-9);
        let peak = (0..total)
            .map(|s| one_cycle(2e-3, s, total))
            .fold(0.0, f64::max);
        assert!((peak - 2e-3).abs() < 1e-6);
        let end = one_cycle(2e-3, total - 1, total);
        assert!(end < 1e-6);
        assert!(one_cycle(2e-3, 100, total) < one_cycle(2e-3, 250, total));
        assert!(one_cycle(2e-3, 500, total) > one_cycle(2e-3, 800, total));
    }

    #[test]
    fn class_weighting_options() {
        let counts = [10.0, 0.0, 10.0, 40.0, 10.0, 10.0, 20.0];
        let mut c = TrainConfig {
            class_weighting: ClassWeighting::None,
            ..TrainConfig::default()
        };
        assert!(c.class_weights(&counts).is_none());
        c.class_weighting = ClassWeighting::Balanced;
        let b = c.class_weights(&counts).unwrap();
        c.class_weighting = ClassWeighting::Sqrt;
        let s = c.class_weights(&counts).unwrap();
        assert!((s[3] - b[3].sqrt()).abs() < 1e-6);
        assert!(b[3] < 1.0 && b[0] > 1.0);
    }
}
