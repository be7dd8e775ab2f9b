//! `moodlens detect`, `live`, `bench` and `tune-crop`: the vision pipeline with the emotion model,
//! ending (for detect/live) with the session's mood and recommendations.

use anyhow::{Context, Result};
use clap::Args;
use moodlens_model::engine::EngineKind;
use moodlens_model::nets::Arch;
use moodlens_model::Classifier;
use moodlens_recommend::cli::{session_summary, session_summary_group, SummaryArgs};
use moodlens_vision::cli::{run_bench, run_detect, run_live, BenchArgs, DetectArgs, LiveArgs};
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
            Some(p) => Classifier::from_file(p, self.arch)
                .with_context(|| format!("loading weights {}", p.display()))?,
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

/// Puts `clf` on `engine` ([`moodlens_vision::dnn_classifier::use_engine`]).
pub fn set_engine(clf: &mut Classifier, engine: EngineKind) -> Result<()> {
    moodlens_vision::dnn_classifier::use_engine(clf, engine)
        .with_context(|| format!("setting up the {engine} engine"))
}

#[derive(Args, Debug)]
pub struct DetectCmd {
    #[command(flatten)]
    pub detect: DetectArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub summary: SummaryArgs,
}

#[derive(Args, Debug)]
pub struct LiveCmd {
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub summary: SummaryArgs,
}

#[derive(Args, Debug)]
pub struct BenchCmd {
    #[command(flatten)]
    pub bench: BenchArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Faces in the generated video (1 to 3; ignored with --input).
    #[arg(long, default_value_t = 1)]
    pub faces: usize,
    /// Only write the generated 640x480 video (--frames, --faces) to this file, then exit.
    #[arg(long, value_name = "FILE")]
    pub make_video: Option<PathBuf>,
    /// Classifier latency per face instead (batch 1 and 8, or --batch), on every engine that
    /// runs here (burn, ort, opencv) unless --engine names one.
    #[arg(long, conflicts_with = "train")]
    pub classifier: bool,
    /// Training throughput instead: forward + backward + Adam on random 48x48 inputs.
    #[arg(long)]
    pub train: bool,
    /// Batch sizes for --classifier (default 1,8) or the batch for --train (default 64).
    #[arg(long, value_delimiter = ',')]
    pub batch: Vec<usize>,
    /// Timed calls (--classifier) or steps (--train).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Backend for --train.
    #[command(flatten)]
    pub backend: crate::learn::BackendArgs,
}

/// The people of one or more session summaries: each tracked identity's mean probabilities, for
/// identities seen in at least a tenth of the longest one's frames (and 3 frames in videos), so a
/// face glimpsed for a moment does not count as a viewer.
fn people_of(summaries: &[&moodlens_vision::SessionSummary]) -> Vec<Vec<f64>> {
    let tracks: Vec<_> = summaries.iter().flat_map(|s| &s.tracks).collect();
    let longest = tracks.iter().map(|t| t.frames).max().unwrap_or(0);
    let min = if longest <= 1 {
        1
    } else {
        (longest / 10).max(3).min(longest)
    };
    tracks
        .iter()
        .filter(|t| t.frames >= min)
        .map(|t| {
            moodlens_model::Emotion::ALL
                .iter()
                .map(|e| t.mean_probabilities.get(e).copied().unwrap_or(0.0) as f64)
                .collect()
        })
        .collect()
}

/// Recommendations at the end of detect/live: one person → that person's mood; several → each
/// person's mood and one list for the group (`--group`, least misery by default).
fn recommend_for(
    summaries: &[&moodlens_vision::SessionSummary],
    source: &str,
    args: &SummaryArgs,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let people = people_of(summaries);
    if people.len() > 1 {
        session_summary_group(&people, source, args, false, out)?;
    } else {
        let total: u64 = summaries.iter().map(|s| s.face_observations).sum();
        let mut mean = vec![0f64; moodlens_model::NUM_EMOTIONS];
        for s in summaries {
            for (m, v) in mean.iter_mut().zip(s.mean_probabilities_vec()) {
                *m += v * s.face_observations as f64 / total.max(1) as f64;
            }
        }
        session_summary(&mean, source, args, false, out)?;
    }
    Ok(())
}

/// Returns the process exit code.
pub fn detect(a: DetectCmd) -> Result<i32> {
    let clf = a.model.classifier()?;
    let mut out = std::io::stdout().lock();
    let outcome = run_detect(&a.detect, clf, &mut out)?;
    for r in &outcome.inputs {
        if let Some(e) = &r.error {
            eprintln!("error: {}: {e}", r.input);
        }
    }
    // The session's mood over every input that had faces, then recommendations (text mode only:
    // --json keeps stdout one JSON document).
    if !a.detect.json {
        let summaries: Vec<_> = outcome
            .inputs
            .iter()
            .filter_map(|r| r.summary.as_ref())
            .filter(|s| s.face_observations > 0)
            .collect();
        if !summaries.is_empty() {
            if let Err(e) = recommend_for(&summaries, "image", &a.summary, &mut out) {
                eprintln!("note: no recommendations: {e:#}");
            }
        }
    }
    Ok(outcome.exit_code())
}

pub fn live(a: LiveCmd) -> Result<i32> {
    let clf = a.model.classifier()?;
    let mut out = std::io::stdout().lock();
    let mut args = a.live;
    let json = args.json;
    args.print_summary = json || a.summary.no_recommend;
    let outcome = run_live(&args, clf, &mut out)?;
    if !args.print_summary {
        use std::io::Write;
        writeln!(out, "{}", outcome.summary)?;
        if outcome.summary.face_observations > 0 {
            let source = if args.input.is_some() {
                "video"
            } else {
                "camera"
            };
            if let Err(e) = recommend_for(&[&outcome.summary], source, &a.summary, &mut out) {
                eprintln!("note: no recommendations: {e:#}");
            }
        } else {
            writeln!(out, "No face was seen, so no mood and no recommendations.")?;
        }
    }
    Ok(0)
}

pub fn bench(a: BenchCmd) -> Result<i32> {
    use moodlens_model::bench::train_throughput;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let data = moodlens_vision::testvideo::shared_data_dir();
    if let Some(path) = &a.make_video {
        moodlens_vision::cli::make_bench_video_faces(path, a.bench.frames.max(1), a.faces, &data)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote {} ({} frames 640x480, {} face(s))",
            path.display(),
            a.bench.frames.max(1),
            a.faces.clamp(1, 3)
        );
        return Ok(0);
    }
    if a.train {
        let batch = a.batch.first().copied().unwrap_or(64).max(1);
        let device = a.backend.device()?;
        let r = train_throughput(a.model.arch, &device, batch, 3, a.iterations.unwrap_or(20));
        if a.bench.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
        } else {
            writeln!(
                out,
                "train {} ({:?}): batch {}, {} steps in {:.2} s = {:.1} images/s (forward + backward + Adam)",
                r.arch, a.backend.backend, r.batch, r.steps, r.seconds, r.images_per_second
            )?;
        }
        return Ok(0);
    }
    if a.classifier {
        return bench_classifier(&a, &mut out);
    }
    let clf = a.model.classifier()?;
    let mut args = a.bench.clone();
    let _tmp;
    if args.input.is_none() && a.faces != 1 {
        let p = std::env::temp_dir().join(format!(
            "moodlens-bench-{}-{}faces.avi",
            std::process::id(),
            a.faces
        ));
        moodlens_vision::cli::make_bench_video_faces(&p, args.frames.max(1), a.faces, &data)?;
        _tmp = RemoveOnDrop(p.clone());
        args.input = Some(p);
    }
    run_bench(&args, clf, &mut out)?;
    Ok(0)
}

/// `bench --classifier`: latency per face at each batch size on every engine that runs here (or
/// the one `--engine` forces), engines alternated per batch size so that they share the same
/// machine conditions. An engine that cannot run (e.g. no ONNX Runtime library) is reported and
/// skipped.
fn bench_classifier(a: &BenchCmd, out: &mut dyn std::io::Write) -> Result<i32> {
    use moodlens_model::bench::classifier_latency;
    let batches = if a.batch.is_empty() {
        vec![1, 8]
    } else {
        a.batch.clone()
    };
    let engines: Vec<EngineKind> = match a.model.engine {
        EngineKind::Auto => vec![EngineKind::Burn, EngineKind::Ort, EngineKind::Opencv],
        e => vec![e],
    };
    let mut base = a.model.classifier()?;
    base.set_engine(EngineKind::Burn);
    let mut clfs = Vec::new();
    for e in engines {
        let mut c = base.clone();
        match set_engine(&mut c, e).and_then(|_| Ok(c.prepare()?)) {
            Ok(_) => clfs.push((e, c)),
            Err(err) if a.model.engine == EngineKind::Auto => {
                eprintln!("engine {e} skipped: {err:#}")
            }
            Err(err) => return Err(err),
        }
    }
    let mut reports = Vec::new();
    for &b in &batches {
        for (_, c) in &clfs {
            reports.push(classifier_latency(c, b, a.iterations.unwrap_or(200))?);
        }
    }
    if a.bench.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
    } else {
        for r in &reports {
            writeln!(
                out,
                "classifier ({}, {}{}): batch {}: {:.3} ms per call (p90 {:.3}), {:.3} ms per face",
                base.source,
                r.engine,
                if base.tta { ", flip TTA" } else { "" },
                r.batch,
                r.median_ms_per_call,
                r.p90_ms_per_call,
                r.median_ms_per_face
            )?;
        }
    }
    Ok(0)
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Args, Debug)]
pub struct TuneCropArgs {
    /// Labelled photos in `<emotion>/*.jpg` folders (default: ../shared/data/realfaces).
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Detector and framing options (the sweep replaces the framing ones).
    #[command(flatten)]
    pub pipeline: moodlens_vision::cli::PipelineArgs,
}

/// Accuracy through the full detect path on labelled whole photos for several crop framings.
pub fn tune_crop(a: TuneCropArgs) -> Result<i32> {
    use moodlens_vision::tune::{default_framings, evaluate_framings, labelled_photos};
    let root = a
        .photos
        .clone()
        .unwrap_or_else(|| moodlens_common::shared_data_dir().join("realfaces"));
    let photos = labelled_photos(&root).with_context(|| format!("reading {}", root.display()))?;
    anyhow::ensure!(
        !photos.is_empty(),
        "{}: no labelled photos in <emotion>/ folders",
        root.display()
    );
    let mut clf = a.model.classifier()?;
    let align = a.pipeline.detector == moodlens_vision::DetectorKind::Yunet && !a.pipeline.no_align;
    let ev = evaluate_framings(
        &photos,
        &a.pipeline.detector_config(),
        &default_framings(align),
        &mut clf,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
        println!(
            "{} photos, a face found in {} ({:.1}%)",
            ev.photos,
            ev.with_face,
            100.0 * ev.with_face as f64 / ev.photos.max(1) as f64
        );
        println!(
            "{:>8} {:>9} {:>6} {:>9} {:>6} {:>12} {:>14} {:>13}",
            "margin",
            "y_offset",
            "align",
            "eye_dist",
            "eye_y",
            "accuracy",
            "of all photos",
            "macro recall"
        );
        for f in &ev.framings {
            println!(
                "{:>8.2} {:>9.2} {:>6} {:>9.2} {:>6.2} {:>11.1}% {:>13.1}% {:>12.1}%",
                f.margin,
                f.y_offset,
                if f.align { "yes" } else { "no" },
                f.eye_distance,
                f.eye_y,
                100.0 * f.accuracy,
                100.0 * f.accuracy_all_photos,
                100.0 * f.macro_recall
            );
        }
    }
    Ok(0)
}
