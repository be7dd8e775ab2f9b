//! `moodlens eval`: accuracy, macro recall and calibration of a model on a FER-2013 split.

use super::train::{attach_votes, load_data, BackendArgs};
use anyhow::{bail, Result};
use burn::module::Module;
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use moodlens_model::fer_csv::Split;
use moodlens_model::{checkpoint, eval as meval, train};
use std::path::PathBuf;

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
    pub model: super::args::ModelArgs,
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
