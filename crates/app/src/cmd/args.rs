//! Option groups that several commands share (flattened into their clap structs): the model,
//! the vision pipeline, the database and the recommendation knobs. Their defaults come from the
//! libraries' `Default` configurations, so the CLI and the libraries cannot drift apart.

use anyhow::{Context, Result};
use clap::Args;
use moodlens_model::engine::EngineKind;
use moodlens_model::nets::Arch;
use moodlens_model::Classifier;
use moodlens_recommend::engine::Aggregation;
use moodlens_recommend::mood::{Mood, Strategy};
use moodlens_recommend::{Ask, Recommender, ServiceConfig};
use moodlens_session::Emotion;
use moodlens_vision::detect::{DetectorConfig, DetectorKind, HaarConfig};
use moodlens_vision::{CropConfig, VisionConfig, YuNetConfig};
use std::path::PathBuf;

/// Which weights classify the faces.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Weights file (.bpk from `moodlens train`) instead of the embedded model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Architecture of --weights.
    #[arg(long, default_value = "compact")]
    pub arch: Arch,
    /// Average each face with its mirror image (2x the work, more accurate); the embedded model
    /// does this by default (its model card says so).
    #[arg(long, overrides_with = "no_tta")]
    pub tta: bool,
    /// Classify each face once, without its mirror image (faster).
    #[arg(long, overrides_with = "tta")]
    pub no_tta: bool,
    /// Inference engine: auto (ONNX Runtime when its library is installed, else burn), burn
    /// (Flex), ort (ONNX Runtime; an error when its library is missing) or opencv (OpenCV DNN).
    #[arg(long, default_value = "auto", value_name = "ENGINE")]
    pub engine: EngineKind,
}

impl ModelArgs {
    pub fn classifier(&self) -> Result<Classifier> {
        let mut c = match &self.weights {
            Some(p) => Classifier::from_file(p, self.arch).context("loading weights")?,
            None => Classifier::embedded()?,
        };
        if let Some(t) = self.tta_override() {
            c.tta = t;
        }
        set_engine(&mut c, self.engine)?;
        Ok(c)
    }

    /// `Some(true)` for `--tta`, `Some(false)` for `--no-tta`, `None`: the model card decides.
    pub fn tta_override(&self) -> Option<bool> {
        if self.no_tta {
            Some(false)
        } else if self.tta {
            Some(true)
        } else {
            None
        }
    }
}

/// Puts `clf` on `engine` ([`moodlens_dnn::use_engine`]).
pub fn set_engine(clf: &mut Classifier, engine: EngineKind) -> Result<()> {
    moodlens_dnn::use_engine(clf, engine).with_context(|| format!("setting up the {engine} engine"))
}

/// The vision library's defaults, which the options below show and start from.
fn vision() -> VisionConfig {
    VisionConfig::default()
}

/// Detector, framing and smoothing options shared by `detect`, `live`, `bench` and `tune-crop`
/// (defaults: [`VisionConfig::default`]).
#[derive(Args, Debug, Clone, PartialEq)]
pub struct PipelineArgs {
    /// Face detector: yunet (embedded YuNet: scores, five landmarks, eye-aligned crops) or haar
    /// (OpenCV's Haar cascade, the original design's).
    #[arg(long, default_value_t = vision().detector.kind, value_name = "yunet|haar")]
    pub detector: DetectorKind,
    /// YuNet: keep faces scoring at least this (0..1).
    #[arg(long, default_value_t = vision().detector.yunet.score_threshold, value_parser = unit_interval)]
    pub score_threshold: f32,
    /// YuNet: the frame's longer side is scaled to this for the network (larger finds smaller
    /// faces, at about quadratic cost; 320 finds faces of about 35 px and more at 1600 px).
    #[arg(long, default_value_t = vision().detector.yunet.input_side, value_name = "PX", value_parser = detect_side)]
    pub detect_size: u32,
    /// Draw the five landmarks (YuNet) in annotated output (--annotate) and the live window.
    #[arg(long)]
    pub landmarks: bool,
    /// YuNet: crop by the box (with --margin) instead of aligning the eyes.
    #[arg(long)]
    pub no_align: bool,
    /// Aligned crops: eye distance as a fraction of the crop side.
    #[arg(long, default_value_t = vision().crop.eye_distance, value_parser = eye_fraction)]
    pub eye_distance: f32,
    /// Aligned crops: eye-line height as a fraction of the crop side.
    #[arg(long, default_value_t = vision().crop.eye_y, value_parser = eye_fraction)]
    pub eye_y: f32,
    /// Haar cascade XML (default: OpenCV's haarcascade_frontalface_default.xml, embedded in the binary).
    #[arg(long, value_name = "XML")]
    pub cascade: Option<PathBuf>,
    /// Haar pyramid scale step.
    #[arg(long, default_value_t = vision().detector.haar.scale_factor, value_parser = scale_factor)]
    pub scale_factor: f64,
    /// Haar neighbours needed to keep a face.
    #[arg(long, default_value_t = vision().detector.haar.min_neighbors)]
    pub min_neighbors: i32,
    /// Smallest face as a fraction of the frame's shorter side.
    #[arg(long, default_value_t = vision().detector.haar.min_face, value_parser = face_fraction)]
    pub min_face: f64,
    /// Haar: detect on a copy downscaled to this width (0 = full resolution).
    #[arg(long, default_value_t = vision().detector.haar.detect_width.unwrap_or(0))]
    pub detect_width: u32,
    /// Crop margin per side, fraction of the face box (measured to match FER-2013's framing).
    #[arg(long, default_value_t = vision().crop.margin)]
    pub margin: f32,
    /// Downward shift of the crop centre, fraction of the face box height.
    #[arg(long, default_value_t = vision().crop.y_offset, allow_hyphen_values = true)]
    pub y_offset: f32,
    /// Rolling window (frames) that smooths each face's probabilities.
    #[arg(long, default_value_t = vision().session.window, value_parser = window_frames)]
    pub window: usize,
    /// Minimum IoU to keep a face's identity from one frame to the next.
    #[arg(long, default_value_t = vision().session.tracker.iou_threshold, value_parser = iou_threshold)]
    pub iou: f32,
    /// Refuse images with more pixels than this.
    #[arg(long, default_value_t = vision().limits.max_pixels)]
    pub max_image_pixels: u64,
    /// While faces are tracked, scan the whole frame only every N frames and only around the known
    /// faces in between (live and bench; `detect` always scans whole frames). 1 = always full.
    #[arg(long, default_value_t = vision().full_scan_every, value_name = "N", value_parser = full_scan)]
    pub full_scan_every: u32,
}

/// A number in `lo..=hi` (or `lo < x <= hi` with `open_low`) for option values.
fn number_in<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    s: &str,
    lo: T,
    hi: T,
    open_low: bool,
    what: &str,
) -> std::result::Result<T, String> {
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    let low_ok = if open_low { v > lo } else { v >= lo };
    if low_ok && v <= hi {
        Ok(v)
    } else {
        let l = if open_low { "above" } else { "at least" };
        Err(format!(
            "{what}: must be {l} {lo} and at most {hi}, got {v}"
        ))
    }
}

fn window_frames(s: &str) -> std::result::Result<usize, String> {
    number_in(s, 1, 10_000, false, "the smoothing window in frames")
}
fn unit_interval(s: &str) -> std::result::Result<f32, String> {
    number_in(s, 0.0, 1.0, false, "a score between 0 and 1")
}
fn eye_fraction(s: &str) -> std::result::Result<f32, String> {
    number_in(s, 0.05, 0.95, false, "a fraction of the crop side")
}
fn scale_factor(s: &str) -> std::result::Result<f64, String> {
    number_in(s, 1.0, 2.0, true, "the pyramid step")
}
fn face_fraction(s: &str) -> std::result::Result<f64, String> {
    number_in(s, 0.0, 1.0, true, "a fraction of the frame's shorter side")
}
fn iou_threshold(s: &str) -> std::result::Result<f32, String> {
    number_in(s, 0.0, 1.0, true, "an overlap (IoU)")
}
fn detect_side(s: &str) -> std::result::Result<u32, String> {
    number_in(s, 32, 4096, false, "the detector's input side in pixels")
}
fn full_scan(s: &str) -> std::result::Result<u32, String> {
    number_in(s, 1, 10_000, false, "frames between full scans")
}

impl PipelineArgs {
    /// The vision configuration these options describe.
    pub fn config(&self) -> VisionConfig {
        let d = vision();
        VisionConfig {
            detector: DetectorConfig {
                kind: self.detector,
                haar: HaarConfig {
                    cascade: self.cascade.clone(),
                    scale_factor: self.scale_factor,
                    min_neighbors: self.min_neighbors,
                    min_face: self.min_face,
                    detect_width: (self.detect_width > 0).then_some(self.detect_width),
                    ..d.detector.haar
                },
                yunet: YuNetConfig {
                    score_threshold: self.score_threshold,
                    input_side: self.detect_size,
                    ..d.detector.yunet
                },
            },
            crop: CropConfig {
                margin: self.margin,
                y_offset: self.y_offset,
                align: !self.no_align,
                eye_distance: self.eye_distance,
                eye_y: self.eye_y,
                ..d.crop
            },
            session: moodlens_session::SessionConfig {
                window: self.window,
                tracker: moodlens_session::TrackerConfig {
                    iou_threshold: self.iou,
                    ..d.session.tracker
                },
            },
            limits: moodlens_vision::ImageLimits {
                max_pixels: self.max_image_pixels,
                ..d.limits
            },
            full_scan_every: self.full_scan_every,
        }
    }
}

/// Options shared by the recommend-side subcommands.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct StoreArgs {
    /// SQLite database (history, feedback, imported catalogs). Default: $MOODLENS_DB, else the
    /// platform data folder (e.g. ~/.local/share/moodlens/moodlens.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Recommend configuration (TOML; genre map, live settings). Default:
    /// $MOODLENS_RECOMMEND_CONFIG, else the built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl StoreArgs {
    /// The service these options name (`offline` from the command's own flag).
    pub fn service(&self, offline: bool) -> ServiceConfig {
        ServiceConfig {
            db: self.db.clone(),
            config: self.config.clone(),
            offline,
        }
    }

    /// The configuration (`--config`, `$MOODLENS_RECOMMEND_CONFIG` or built in).
    pub fn config(&self) -> Result<moodlens_recommend::Config> {
        Ok(self.service(true).load_config(&|k| std::env::var(k).ok())?)
    }

    /// Opens (and migrates) the database, naming it in the error.
    pub fn open(&self) -> Result<moodlens_recommend::Store> {
        let sc = self.service(true);
        let p = sc.db_path()?;
        sc.open_store()
            .with_context(|| format!("opening database {}", p.display()))
    }
}

fn parse_emotion(s: &str) -> std::result::Result<Emotion, String> {
    s.parse::<Emotion>().map_err(|e| e.to_string())
}

fn parse_strategy(s: &str) -> std::result::Result<Strategy, String> {
    s.parse::<Strategy>().map_err(|e| e.to_string())
}

fn parse_aggregation(s: &str) -> std::result::Result<Aggregation, String> {
    s.parse::<Aggregation>().map_err(|e| e.to_string())
}

/// One person's mood on the command line: an emotion name, or seven comma-separated
/// probabilities in the model's order.
pub fn parse_person(s: &str) -> std::result::Result<Mood, String> {
    if s.contains(',') {
        let v = s
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("'{s}': seven comma-separated probabilities expected"))?;
        Mood::from_probabilities(&v).map_err(|e| e.to_string())
    } else {
        parse_emotion(s).map(Mood::from_emotion)
    }
}

/// Recommendation knobs shared by `recommend` and the end-of-session summary of `live`/`detect`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct RecommendOptions {
    /// match (content congruent with the mood), uplift (start near the mood, move toward positive
    /// valence), calm (toward low arousal, positive valence) or comfort (emotional dramas, gentle
    /// films, soothing music). Default per mood: happy, angry, surprise, neutral → match;
    /// sad → comfort; fear, disgust → calm (`[default_strategy]` in the config).
    #[arg(long, value_parser = parse_strategy)]
    pub strategy: Option<Strategy>,
    /// Number of movies.
    #[arg(long, default_value_t = moodlens_recommend::service::DEFAULT_ITEMS)]
    pub movies: usize,
    /// Number of music tracks.
    #[arg(long, default_value_t = moodlens_recommend::service::DEFAULT_ITEMS)]
    pub music: usize,
    /// Seed for a reproducible list (two runs without it differ).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use only the embedded and imported catalogs, even when API keys are set.
    #[arg(long)]
    pub offline: bool,
    /// Do not record this session in the history.
    #[arg(long)]
    pub no_history: bool,
    /// New picks for the same mood and strategy (the list otherwise stays the same within a
    /// session).
    #[arg(long)]
    pub shuffle: bool,
    /// The session the request belongs to (the same mood and strategy give the same list within
    /// it). Default: an automatic session that ends after `session_minutes` (30) without requests.
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
    /// When several people are in the frame: one list for the group by least-misery (default:
    /// nothing that fits anyone's state badly) or average (the mean mood).
    #[arg(long, value_name = "average|least-misery", value_parser = parse_aggregation)]
    pub group: Option<Aggregation>,
    /// Also show adult films and explicit tracks.
    #[arg(long)]
    pub allow_explicit: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl RecommendOptions {
    /// The per-request part of these options.
    pub fn ask(&self) -> Ask {
        Ask {
            strategy: self.strategy,
            movies: self.movies,
            music: self.music,
            seed: self.seed,
            record: !self.no_history,
            shuffle: self.shuffle,
            session: self.session.clone(),
            group: self.group,
            allow_explicit: self.allow_explicit,
        }
    }

    /// The service these options describe (config, live clients from the process environment,
    /// the database; a database that cannot be opened is a notice with every list, not a failure).
    pub fn recommender(&self) -> Result<Recommender> {
        Ok(Recommender::open(
            &self.store.service(self.offline),
            &|k| std::env::var(k).ok(),
        )?)
    }
}

impl Default for RecommendOptions {
    fn default() -> Self {
        let ask = Ask::default();
        RecommendOptions {
            strategy: None,
            movies: ask.movies,
            music: ask.music,
            seed: None,
            offline: false,
            no_history: false,
            shuffle: false,
            session: None,
            group: None,
            allow_explicit: false,
            store: StoreArgs::default(),
        }
    }
}

/// Flags for the end-of-session summary of `moodlens live` / `detect` (flatten into their Args).
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct SummaryArgs {
    /// Do not end the session with recommendations.
    #[arg(long)]
    pub no_recommend: bool,
    #[command(flatten)]
    pub opts: RecommendOptions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        pipeline: PipelineArgs,
        #[command(flatten)]
        summary: SummaryArgs,
    }

    #[test]
    fn defaults_are_the_libraries_defaults() {
        let t = T::try_parse_from(["x"]).unwrap();
        assert_eq!(t.pipeline.config(), VisionConfig::default());
        assert_eq!(t.summary.opts.ask(), Ask::default());
        assert_eq!(
            t.summary.opts.store.service(false),
            ServiceConfig::default()
        );
        let t = T::try_parse_from(["x", "--margin", "0.2", "--y-offset", "-0.05", "--no-align"])
            .unwrap();
        let c = t.pipeline.config();
        assert_eq!(
            (c.crop.margin, c.crop.y_offset, c.crop.align),
            (0.2, -0.05, false)
        );
        for bad in [
            ["--window", "0"],
            ["--scale-factor", "1.0"],
            ["--min-face", "0"],
            ["--iou", "1.5"],
            ["--detect-size", "8"],
            ["--full-scan-every", "0"],
        ] {
            assert!(T::try_parse_from(["x", bad[0], bad[1]]).is_err(), "{bad:?}");
        }
    }
}
