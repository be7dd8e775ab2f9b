//! `moodlens bench`: end-to-end frames per second and per-stage times on a 640x480 video (made
//! from real photos unless given), the classifier's latency per engine (`--classifier`) or
//! training throughput (`--train`).

use super::args::{set_engine, ModelArgs, PipelineArgs};
use anyhow::{Context, Result};
use clap::Args;
use moodlens_model::engine::EngineKind;
use moodlens_vision::run::bench_video;
use moodlens_vision::testvideo::make_bench_video_faces;
use moodlens_vision::BenchReport;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// A 640x480 video; default: one is built from realfaces photos of the shared data
    /// (`$MOODLENS_DATA` or ../shared/data) with --faces faces.
    #[arg(long, value_name = "VIDEO")]
    pub input: Option<PathBuf>,
    /// Frames of the generated video.
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
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
    pub backend: super::train::BackendArgs,
}

pub fn run(a: BenchArgs) -> Result<i32> {
    use moodlens_model::bench::train_throughput;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let data = moodlens_vision::testvideo::shared_data_dir();
    if let Some(path) = &a.make_video {
        make_bench_video_faces(path, a.frames.max(1), a.faces, &data)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote {} ({} frames 640x480, {} face(s))",
            path.display(),
            a.frames.max(1),
            a.faces.clamp(1, 3)
        );
        return Ok(0);
    }
    if a.train {
        let batch = a.batch.first().copied().unwrap_or(64).max(1);
        let device = a.backend.device()?;
        let r = train_throughput(a.model.arch, &device, batch, 3, a.iterations.unwrap_or(20));
        if a.json {
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
    let cfg = a.pipeline.config();
    let mut pipeline = cfg.pipeline(a.model.classifier()?)?;
    let _tmp;
    let input = match &a.input {
        Some(p) => p.clone(),
        None => {
            let p = std::env::temp_dir().join(format!(
                "moodlens-bench-{}-{}faces.avi",
                std::process::id(),
                a.faces.clamp(1, 3)
            ));
            _tmp = RemoveOnDrop(p.clone());
            make_bench_video_faces(&p, a.frames.max(1), a.faces, &data)?;
            p
        }
    };
    let r = bench_video(&mut pipeline, &input, cfg.limits)?;
    if a.json {
        serde_json::to_writer_pretty(&mut out, &r)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", report_text(&r))?;
    }
    Ok(0)
}

/// The benchmark report as two lines of text.
fn report_text(r: &BenchReport) -> String {
    let s = &r.per_frame_ms;
    format!(
        "{}: {} frames {}x{} in {:.2} s = {:.1} fps end to end ({} frames with one face, {} faces in all; OpenCV threads {})\n\
         per frame: decode {:.2} ms, detect {:.2} ms, preprocess {:.3} ms, classify {:.2} ms, track {:.3} ms",
        r.input, r.frames, r.width, r.height, r.seconds, r.fps, r.frames_with_one_face,
        r.face_observations, r.opencv_threads, s.decode, s.detect, s.preprocess, s.classify, s.track
    )
}

/// `bench --classifier`: latency per face at each batch size on every engine that runs here (or
/// the one `--engine` forces), engines alternated per batch size so that they share the same
/// machine conditions. An engine that cannot run (e.g. no ONNX Runtime library) is reported and
/// skipped.
fn bench_classifier(a: &BenchArgs, out: &mut dyn std::io::Write) -> Result<i32> {
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
    if a.json {
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
