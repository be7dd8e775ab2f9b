//! [`Classifier`]: inference on 48x48 gray face crops, with the shipped weights embedded in the
//! binary (`weights/shipped.bpk`, see docs/MODEL.md) or weights from a file.

use crate::checkpoint::{self, CheckpointError};
use crate::eval::predict_pixels;
use crate::nets::{Arch, Net};
use crate::{INPUT_SIZE, NUM_EMOTIONS};
use burn::module::Module;
use burn::tensor::Device;
use std::path::Path;

/// Architecture of the embedded weights.
pub const SHIPPED_ARCH: Arch = Arch::Compact;

#[cfg(moodlens_embedded_weights)]
const SHIPPED: Option<&[u8]> = Some(include_bytes!("../weights/shipped.bpk"));
#[cfg(not(moodlens_embedded_weights))]
const SHIPPED: Option<&[u8]> = None;
#[cfg(moodlens_embedded_card)]
const SHIPPED_CARD: Option<&str> = Some(include_str!("../weights/shipped.json"));
#[cfg(not(moodlens_embedded_card))]
const SHIPPED_CARD: Option<&str> = None;

/// What a weights file needs beside its tensors: its architecture, the labels it learned, and its
/// calibration temperature. Written by `moodlens train` next to the weights as `<name>.json`
/// (`best.bpk` → `best.json`); the shipped model's is `weights/shipped.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelCard {
    pub arch: Arch,
    /// Training labels.
    #[serde(default)]
    pub labels: crate::train::Labels,
    /// Calibration temperature (`softmax(logits / T)`), fitted on PublicTest; 1 = uncalibrated.
    #[serde(default = "one")]
    pub temperature: f32,
    /// The labels the temperature was fitted against (`fer2013` or `ferplus-majority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_on: Option<String>,
    /// Whether the model is meant to be used with flip test-time augmentation (each face averaged
    /// with its mirror image): the default for `eval`, `detect`, `live` and the web app when set;
    /// `--tta` / `--no-tta` override it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tta: bool,
    /// The weights file holds only the trained parts (heads, unfrozen stages); the frozen
    /// backbones are the ImageNet weights of `scripts/imagenet-weights.sh`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imagenet_backbones: bool,
    /// With `imagenet_backbones`: stages from this one on were fine-tuned and are in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfrozen_from: Option<usize>,
}

fn one() -> f32 {
    1.0
}

impl ModelCard {
    pub fn new(arch: Arch) -> ModelCard {
        ModelCard {
            arch,
            labels: Default::default(),
            temperature: 1.0,
            calibrated_on: None,
            tta: false,
            imagenet_backbones: false,
            unfrozen_from: None,
        }
    }

    /// The card file of a weights file: the same name with `.json`.
    pub fn path_for(weights: &Path) -> std::path::PathBuf {
        weights.with_extension("json")
    }

    /// The card next to `weights`, if there is one.
    pub fn read_for(weights: &Path) -> Result<Option<ModelCard>, ClassifierError> {
        let p = Self::path_for(weights);
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| ClassifierError::BadCard {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClassifierError::BadCard {
                path: p.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Writes the card next to `weights`.
    pub fn write_for(&self, weights: &Path) -> std::io::Result<()> {
        self.write_for_path(&Self::path_for(weights))
    }

    /// Writes the card to `path`.
    pub fn write_for_path(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }

    /// The embedded model's card (architecture [`SHIPPED_ARCH`], temperature 1 without one).
    pub fn shipped() -> ModelCard {
        SHIPPED_CARD
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_else(|| ModelCard::new(SHIPPED_ARCH))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    #[error("this build has no embedded model (crates/model/weights/shipped.bpk was missing when it was built)")]
    NoEmbedded,
    #[error(transparent)]
    Weights(#[from] CheckpointError),
    #[error("{path}: not a usable model card ({reason})")]
    BadCard { path: String, reason: String },
    #[error("face crop {index} has {len} bytes, expected {INPUT_SIZE}x{INPUT_SIZE} = {}", INPUT_SIZE * INPUT_SIZE)]
    BadCrop { index: usize, len: usize },
}

/// An emotion classifier in inference mode.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Net,
    device: Device,
    /// Where the weights came from (for logs and reports).
    pub source: String,
    /// Average each face with its mirror image (2x the work); from the model card unless changed.
    pub tta: bool,
    /// Calibration temperature applied to the logits (from the model card).
    pub temperature: f32,
}

impl Classifier {
    /// True when this build carries trained weights.
    pub fn has_embedded() -> bool {
        SHIPPED.is_some()
    }

    /// The embedded weights (burnpack bytes of [`SHIPPED_ARCH`]), if this build has them.
    pub fn shipped_bytes() -> Option<&'static [u8]> {
        SHIPPED
    }

    /// The shipped model, on the CPU (Flex) backend.
    pub fn embedded() -> Result<Classifier, ClassifierError> {
        let bytes = SHIPPED.ok_or(ClassifierError::NoEmbedded)?;
        let device = Device::flex();
        let card = ModelCard::shipped();
        let model = checkpoint::load_weights_bytes(bytes, card.arch, &device)?.valid();
        Ok(Classifier {
            model,
            device,
            source: "embedded".into(),
            tta: card.tta,
            temperature: card.temperature,
        })
    }

    /// Weights from a burnpack file written by `moodlens train`: architecture and temperature from
    /// its model card (`<name>.json`) when there is one, else `arch` and temperature 1.
    pub fn from_file(path: &Path, arch: Arch) -> Result<Classifier, ClassifierError> {
        let device = Device::flex();
        let card = ModelCard::read_for(path)?.unwrap_or_else(|| ModelCard::new(arch));
        let model = checkpoint::load_with_card(path, &card, &device)?.valid();
        Ok(Classifier {
            model,
            device,
            source: path.display().to_string(),
            tta: card.tta,
            temperature: card.temperature,
        })
    }

    /// A freshly initialised (untrained) network: for wiring and speed tests only.
    pub fn untrained(arch: Arch, seed: u64) -> Classifier {
        let device = Device::flex();
        device.seed(seed);
        Classifier {
            model: Net::new(arch, &device).valid(),
            device,
            source: format!("untrained {arch}"),
            tta: false,
            temperature: 1.0,
        }
    }

    /// Emotion probabilities (in [`crate::Emotion`] order) for a batch of 48x48 gray crops.
    pub fn predict(&self, faces: &[&[u8]]) -> Result<Vec<[f32; NUM_EMOTIONS]>, ClassifierError> {
        if let Some((index, f)) = faces
            .iter()
            .enumerate()
            .find(|(_, f)| f.len() != INPUT_SIZE * INPUT_SIZE)
        {
            return Err(ClassifierError::BadCrop {
                index,
                len: f.len(),
            });
        }
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        Ok(predict_pixels(
            &self.model,
            faces,
            64,
            self.tta,
            self.temperature,
            &self.device,
        ))
    }

    /// The network (inference mode).
    pub fn net(&self) -> &Net {
        &self.model
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// The trained model as the vision pipeline's classifier (the trait lives in `moodlens-common`).
impl moodlens_common::EmotionClassifier for Classifier {
    type Error = ClassifierError;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; NUM_EMOTIONS]>, ClassifierError> {
        let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
        self.predict(&refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_distributions_and_rejects_bad_crops() {
        let c = Classifier::untrained(Arch::Compact, 1);
        let a = vec![100u8; 48 * 48];
        let b: Vec<u8> = (0..48 * 48).map(|i| (i % 256) as u8).collect();
        let p = c.predict(&[&a, &b]).unwrap();
        assert_eq!(p.len(), 2);
        for row in &p {
            let s: f32 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-4);
            assert!(row.iter().all(|v| *v >= 0.0));
        }
        // batch result equals single result
        let single = c.predict(&[&b]).unwrap();
        for (x, y) in single[0].iter().zip(&p[1]) {
            assert!((x - y).abs() < 1e-4);
        }
        assert!(matches!(
            c.predict(&[&a[..10]]),
            Err(ClassifierError::BadCrop { index: 0, len: 10 })
        ));
        assert!(c.predict(&[]).unwrap().is_empty());
    }
}
