//! `moodlens detect`, `live`, `bench` and `tune-crop`: the vision pipeline with the emotion model,
//! ending (for detect/live) with the session's mood and recommendations.

use anyhow::{Context, Result};
use clap::Args;
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
    /// Average each face with its mirror image (slower, slightly more accurate).
    #[arg(long)]
    pub tta: bool,
}

impl ModelArgs {
    pub fn classifier(&self) -> Result<Classifier> {
        let mut c = match &self.weights {
            Some(p) => Classifier::from_file(p, self.arch)
                .with_context(|| format!("loading weights {}", p.display()))?,
            None => Classifier::embedded()?,
        };
        c.tta = self.tta;
        Ok(c)
    }
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
            let total: u64 = summaries.iter().map(|s| s.face_observations).sum();
            let mut mean = vec![0f64; moodlens_model::NUM_EMOTIONS];
            for s in &summaries {
                for (m, v) in mean.iter_mut().zip(s.mean_probabilities_vec()) {
                    *m += v * s.face_observations as f64 / total as f64;
                }
            }
            if let Err(e) = session_summary(&mean, "image", &a.summary, false, &mut out) {
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
            if let Err(e) = session_summary(
                &outcome.summary.mean_probabilities_vec(),
                source,
                &a.summary,
                false,
                &mut out,
            ) {
                eprintln!("note: no recommendations: {e:#}");
            }
        } else {
            writeln!(out, "No face was seen, so no mood and no recommendations.")?;
        }
    }
    Ok(0)
}

pub fn bench(a: BenchCmd) -> Result<i32> {
    let clf = a.model.classifier()?;
    let mut out = std::io::stdout().lock();
    run_bench(&a.bench, clf, &mut out)?;
    Ok(0)
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
}

/// Accuracy through the full detect path on labelled whole photos for several crop framings.
pub fn tune_crop(a: TuneCropArgs) -> Result<i32> {
    use moodlens_vision::tune::{default_framings, evaluate_framings, labelled_photos};
    let root = a.photos.clone().unwrap_or_else(|| {
        std::env::var("MOODLENS_DATA")
            .map(|d| PathBuf::from(d).join("realfaces"))
            .unwrap_or_else(|_| PathBuf::from("../shared/data/realfaces"))
    });
    let photos = labelled_photos(&root).with_context(|| format!("reading {}", root.display()))?;
    anyhow::ensure!(
        !photos.is_empty(),
        "{}: no labelled photos in <emotion>/ folders",
        root.display()
    );
    let mut clf = a.model.classifier()?;
    let ev = evaluate_framings(&photos, Default::default(), &default_framings(), &mut clf)?;
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
            "{:>8} {:>9} {:>12} {:>14}",
            "margin", "y_offset", "accuracy", "of all photos"
        );
        for f in &ev.framings {
            println!(
                "{:>8.2} {:>9.2} {:>11.1}% {:>13.1}%",
                f.margin,
                f.y_offset,
                100.0 * f.accuracy,
                100.0 * f.accuracy_all_photos
            );
        }
    }
    Ok(0)
}
