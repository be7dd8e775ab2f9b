//! [`Classifier`]: inference on 48x48 gray face crops, with the shipped weights embedded in the
//! binary (`weights/shipped.bpk`, see docs/MODEL.md) or weights from a file.

use crate::augment::hflip;
use crate::checkpoint::{self, CheckpointError};
use crate::engine::{EngineError, EngineKind, OnnxRunner, OrtRunner};
use crate::eval::predict_pixels;
use crate::nets::{Arch, Net};
use crate::onnx::{ExportOptions, OnnxError};
use crate::{INPUT_SIZE, NUM_EMOTIONS};
use burn::module::Module;
use burn::tensor::Device;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

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
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("exporting the model to ONNX: {0}")]
    Export(#[from] OnnxError),
    #[error("the {0} engine is provided by the application (moodlens-vision); set it with Classifier::set_runner")]
    ExternalEngine(EngineKind),
    #[error("face crop {index} has {len} bytes, expected {INPUT_SIZE}x{INPUT_SIZE} = {}", INPUT_SIZE * INPUT_SIZE)]
    BadCrop { index: usize, len: usize },
}

/// The engine a classifier settled on (on its first prediction, or [`Classifier::prepare`]).
#[derive(Debug, Clone)]
enum Resolved {
    Burn,
    Runner(Arc<Mutex<Box<dyn OnnxRunner>>>),
    Failed(EngineError),
}

/// An emotion classifier in inference mode. The network runs on the engine chosen with
/// [`Classifier::set_engine`] (default [`EngineKind::Auto`]: ONNX Runtime when its library loads,
/// else burn); the engine is set up lazily, once, on the first prediction, and shared by clones.
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
    engine: EngineKind,
    resolved: Arc<OnceLock<Resolved>>,
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
            engine: EngineKind::default(),
            resolved: Arc::default(),
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
            engine: EngineKind::default(),
            resolved: Arc::default(),
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
            engine: EngineKind::default(),
            resolved: Arc::default(),
        }
    }

    /// The engine asked for.
    pub fn engine(&self) -> EngineKind {
        self.engine
    }

    /// Chooses the engine (set up on the next prediction or [`Classifier::prepare`]).
    /// [`EngineKind::Opencv`] needs [`Classifier::set_runner`] instead.
    pub fn set_engine(&mut self, engine: EngineKind) {
        self.engine = engine;
        self.resolved = Arc::default();
    }

    /// Runs the network on `runner` (an engine implemented outside this crate, e.g. OpenCV DNN),
    /// which must have been built from [`Classifier::to_onnx`].
    pub fn set_runner(&mut self, engine: EngineKind, runner: Box<dyn OnnxRunner>) {
        self.engine = engine;
        let cell = OnceLock::new();
        let _ = cell.set(Resolved::Runner(Arc::new(Mutex::new(runner))));
        self.resolved = Arc::new(cell);
    }

    /// This classifier's network as an ONNX model ([`crate::onnx`]) with its temperature.
    pub fn to_onnx(&self) -> Result<Vec<u8>, ClassifierError> {
        self.to_onnx_with(false)
    }

    /// [`Classifier::to_onnx`], with `opencv46`: clamps in the form OpenCV 4.6's DNN reads
    /// ([`ExportOptions::opencv46`]).
    pub fn to_onnx_with(&self, opencv46: bool) -> Result<Vec<u8>, ClassifierError> {
        Ok(crate::onnx::export(
            &self.model,
            &ExportOptions {
                temperature: self.temperature,
                tta: self.tta,
                source: self.source.clone(),
                opencv46,
            },
        )?)
    }

    fn resolve(&self) -> &Resolved {
        self.resolved.get_or_init(|| {
            let ort = || -> Result<Resolved, EngineError> {
                let bytes = self.to_onnx().map_err(|e| EngineError::Runner {
                    engine: "ort".into(),
                    reason: e.to_string(),
                })?;
                let runner: Box<dyn OnnxRunner> = Box::new(OrtRunner::new(&bytes)?);
                Ok(Resolved::Runner(Arc::new(Mutex::new(runner))))
            };
            match self.engine {
                EngineKind::Burn => Resolved::Burn,
                EngineKind::Ort => ort().unwrap_or_else(Resolved::Failed),
                EngineKind::Auto => ort().unwrap_or_else(|e| {
                    tracing::info!("classifying with burn: {e}");
                    Resolved::Burn
                }),
                EngineKind::Opencv => Resolved::Failed(EngineError::Runner {
                    engine: "opencv".into(),
                    reason: ClassifierError::ExternalEngine(EngineKind::Opencv).to_string(),
                }),
            }
        })
    }

    /// Starts setting up the engine on another thread (loading ONNX Runtime and creating its
    /// session take tens of milliseconds), so that it overlaps with the caller's own start-up
    /// (decoding, face detection); the first prediction waits for it if needed. Clones share it.
    pub fn prepare_in_background(&self) {
        let c = self.clone();
        let _ = std::thread::Builder::new()
            .name("moodlens-engine".into())
            .spawn(move || {
                let _ = c.prepare();
            });
    }

    /// Sets up the engine now (else the first prediction does) and names the one in use (`burn`,
    /// `ort`, `opencv`); an error when a forced engine cannot run.
    pub fn prepare(&self) -> Result<&'static str, ClassifierError> {
        match self.resolve() {
            Resolved::Burn => Ok("burn"),
            Resolved::Runner(r) => Ok(r.lock().map(|r| r.name()).unwrap_or("poisoned")),
            Resolved::Failed(e) => Err(e.clone().into()),
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
        let runner = match self.resolve() {
            Resolved::Burn => {
                return Ok(predict_pixels(
                    &self.model,
                    faces,
                    64,
                    self.tta,
                    self.temperature,
                    &self.device,
                ))
            }
            Resolved::Failed(e) => return Err(e.clone().into()),
            Resolved::Runner(r) => r,
        };
        let mut runner = runner.lock().unwrap_or_else(|p| p.into_inner());
        let inv_t = 1.0 / self.temperature.max(1e-3);
        let px = INPUT_SIZE * INPUT_SIZE;
        let mut out = Vec::with_capacity(faces.len());
        for chunk in faces.chunks(64) {
            // the same batch as predict_pixels: the faces, then their mirrors (TTA)
            let copies = if self.tta { 2 } else { 1 };
            let n = copies * chunk.len();
            let mut data = Vec::with_capacity(n * px);
            for f in chunk {
                data.extend(f.iter().map(|&p| p as f32));
            }
            if self.tta {
                for f in chunk {
                    data.extend(hflip(f, INPUT_SIZE).iter().map(|&p| p as f32));
                }
            }
            let logits = runner.logits(&data, n)?;
            if logits.len() != n * NUM_EMOTIONS {
                return Err(EngineError::BadOutput {
                    engine: runner.name().into(),
                    n,
                    got: logits.len(),
                    expected: n * NUM_EMOTIONS,
                }
                .into());
            }
            let probs: Vec<[f32; NUM_EMOTIONS]> = logits
                .chunks(NUM_EMOTIONS)
                .map(|l| softmax_row(l, inv_t))
                .collect();
            let (a, b) = probs.split_at(chunk.len());
            if self.tta {
                out.extend(a.iter().zip(b).map(|(x, y)| {
                    let mut r = [0f32; NUM_EMOTIONS];
                    for k in 0..NUM_EMOTIONS {
                        r[k] = (x[k] + y[k]) / 2.0;
                    }
                    r
                }));
            } else {
                out.extend_from_slice(a);
            }
        }
        Ok(out)
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

/// `softmax(logits * inv_t)` as burn computes it (max subtracted).
fn softmax_row(logits: &[f32], inv_t: f32) -> [f32; NUM_EMOTIONS] {
    let mut r = [0f32; NUM_EMOTIONS];
    for (o, &l) in r.iter_mut().zip(logits) {
        *o = if inv_t == 1.0 { l } else { l * inv_t };
    }
    let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0f32;
    for v in r.iter_mut() {
        *v = (*v - m).exp();
        z += *v;
    }
    for v in r.iter_mut() {
        *v /= z;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_distributions_and_rejects_bad_crops() {
        let mut c = Classifier::untrained(Arch::Compact, 1);
        c.set_engine(EngineKind::Burn);
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
