//! `moodlens tune-crop`: accuracy through the full detect path on labelled photos for several
//! crop framings.

use super::args::{ModelArgs, PipelineArgs};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

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
    pub pipeline: PipelineArgs,
}

/// Accuracy through the full detect path on labelled whole photos for several crop framings.
pub fn run(a: TuneCropArgs) -> Result<i32> {
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
        &a.pipeline.config().detector,
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
