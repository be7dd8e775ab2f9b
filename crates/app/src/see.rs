//! `moodlens detect`, `live`, `bench` and `tune-crop`: the vision pipeline with the emotion model,
//! ending (for detect/live) with the session's mood and recommendations.

use anyhow::{Context, Result};
use clap::Args;
use moodlens_model::engine::EngineKind;
use moodlens_model::nets::Arch;
use moodlens_model::Classifier;
use moodlens_recommend::cli::{session_summary, SummaryArgs};
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

/// Recommendations at the end of detect/live for the session's mood by the one rule
/// ([`moodlens_session::SessionMood`], as the web app): one person → that person's mood; several →
/// each person's mood and one list for the group (`--group`, least misery by default). Printed as
/// text to `out` when given; computed (and recorded in the history) either way.
fn recommend_for(
    summaries: &[&moodlens_vision::SessionSummary],
    source: &str,
    args: &SummaryArgs,
    out: Option<&mut dyn std::io::Write>,
) -> Result<Option<moodlens_recommend::Recommendations>> {
    let mut sink = std::io::sink();
    let out: &mut dyn std::io::Write = match out {
        Some(o) => o,
        None => &mut sink,
    };
    let Some(mood) = moodlens_session::SessionMood::of(summaries) else {
        return Ok(None);
    };
    session_summary(&mood, source, args, false, out)
}

/// A serialisable value with `"recommendations"` added (`null` when none were made).
fn with_recommendations(
    value: impl serde::Serialize,
    rec: Option<&moodlens_recommend::Recommendations>,
) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(value)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("recommendations".into(), serde_json::to_value(rec)?);
    }
    Ok(v)
}

/// Returns the process exit code.
pub fn detect(a: DetectCmd) -> Result<i32> {
    use std::io::Write;
    let clf = a.model.classifier()?;
    let mut out = std::io::stdout().lock();
    let csv_to_stdout = a.detect.csv.as_deref() == Some(std::path::Path::new("-"));
    // --json: one document, the detection outcome with the recommendations (printed below)
    let mut discarded = Vec::new();
    let sink: &mut dyn Write = if a.detect.json {
        &mut discarded
    } else {
        &mut out
    };
    let outcome = run_detect(&a.detect, clf, sink)?;
    for r in &outcome.inputs {
        if let Some(e) = &r.error {
            if e.contains(&r.input) {
                eprintln!("error: {e}");
            } else {
                eprintln!("error: {}: {e}", r.input);
            }
        }
    }
    // The session's mood over every input that had faces, then recommendations: as text, inside
    // the JSON document (--json), or only recorded when stdout carries CSV (--csv -).
    let summaries: Vec<_> = outcome
        .inputs
        .iter()
        .filter_map(|r| r.summary.as_ref())
        .filter(|s| s.face_observations > 0)
        .collect();
    let text_out: Option<&mut dyn Write> = if a.detect.json || csv_to_stdout {
        None
    } else {
        Some(&mut out)
    };
    let rec = if summaries.is_empty() {
        None
    } else {
        match recommend_for(&summaries, "image", &a.summary, text_out) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("note: no recommendations: {e:#}");
                None
            }
        }
    };
    if a.detect.json {
        let v = with_recommendations(&outcome, rec.as_ref())?;
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    }
    Ok(outcome.exit_code())
}

pub fn live(a: LiveCmd) -> Result<i32> {
    use std::io::Write;
    let clf = a.model.classifier()?;
    let mut out = std::io::stdout().lock();
    let mut args = a.live;
    let json = args.json;
    // the end of the session (summary, recommendations) is printed here
    args.print_summary = a.summary.no_recommend && !json;
    let outcome = run_live(&args, clf, &mut out)?;
    let source = if args.input.is_some() {
        "video"
    } else {
        "camera"
    };
    if json {
        // live --json is JSON Lines: the frames, then one line with the summary and recommendations
        let rec = if outcome.summary.face_observations > 0 {
            match recommend_for(&[&outcome.summary], source, &a.summary, None) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("note: no recommendations: {e:#}");
                    None
                }
            }
        } else {
            None
        };
        serde_json::to_writer(&mut out, &with_recommendations(&outcome, rec.as_ref())?)?;
        writeln!(out)?;
    } else if !args.print_summary {
        writeln!(out, "{}", outcome.summary)?;
        if outcome.summary.face_observations > 0 {
            if let Err(e) = recommend_for(&[&outcome.summary], source, &a.summary, Some(&mut out)) {
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
