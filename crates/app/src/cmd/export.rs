//! `moodlens export --onnx`: a classifier as an ONNX file.

use anyhow::{Context, Result};
use clap::Args;
use moodlens_model::nets::Arch;
use std::path::PathBuf;

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
