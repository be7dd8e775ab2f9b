//! moodlens-dnn: the emotion classifier on OpenCV's DNN module. Runs a model exported by
//! `moodlens_model::onnx` as the `opencv` engine of `moodlens_model::Classifier` (through its
//! [`OnnxRunner`] trait), and [`use_engine`] puts a classifier on the engine a user chose (shared
//! by the CLI and the web app). Its own crate so that neither the model crate links OpenCV nor the
//! vision crate depends on the model.

use moodlens_model::classifier::ClassifierError;
use moodlens_model::engine::{EngineError, EngineKind, OnnxRunner};
use moodlens_model::onnx::{INPUT_NAME, LOGITS_NAME};
use moodlens_model::Classifier;
use moodlens_model::INPUT_SIZE;
use opencv::core::{Mat, Scalar, Vector};
use opencv::dnn;
use opencv::prelude::*;

/// An exported classifier in an OpenCV DNN network (CPU, OpenCV's own backend).
pub struct OpenCvRunner {
    net: dnn::Net,
}

impl std::fmt::Debug for OpenCvRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenCvRunner")
    }
}

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Runner {
        engine: "opencv".into(),
        reason: e.to_string(),
    }
}

impl OpenCvRunner {
    /// Parses the ONNX model `bytes` (from `moodlens_model::onnx::export`).
    pub fn new(bytes: &[u8]) -> Result<OpenCvRunner, EngineError> {
        let buf = Vector::<u8>::from_slice(bytes);
        let mut net = dnn::read_net_from_onnx_buffer(&buf).map_err(err)?;
        net.set_preferable_backend(dnn::DNN_BACKEND_OPENCV)
            .map_err(err)?;
        net.set_preferable_target(dnn::DNN_TARGET_CPU)
            .map_err(err)?;
        Ok(OpenCvRunner { net })
    }

    /// Runs the network and returns the named output (`logits` or `probabilities`), row-major.
    pub fn run_output(
        &mut self,
        pixels: &[f32],
        n: usize,
        output: &str,
    ) -> Result<Vec<f32>, EngineError> {
        let side = INPUT_SIZE as i32;
        if pixels.len() != n * INPUT_SIZE * INPUT_SIZE {
            return Err(err(format!(
                "{} input values for {n} faces of {side}x{side}",
                pixels.len()
            )));
        }
        let blob = Mat::new_nd_with_data(&[n as i32, 1, side, side], pixels).map_err(err)?;
        self.net
            .set_input(&blob, INPUT_NAME, 1.0, Scalar::default())
            .map_err(err)?;
        let out: Mat = self.net.forward_single(output).map_err(err)?;
        let out = if out.is_continuous() {
            out
        } else {
            out.try_clone().map_err(err)?
        };
        Ok(out.data_typed::<f32>().map_err(err)?.to_vec())
    }
}

/// Puts `clf` on `engine`, building the OpenCV DNN engine here (the model crate does not link
/// OpenCV). A forced engine that cannot run is an error now rather than at the first face;
/// `auto` starts loading ONNX Runtime in the background (the first prediction waits for it).
pub fn use_engine(clf: &mut Classifier, engine: EngineKind) -> Result<(), ClassifierError> {
    match engine {
        EngineKind::Opencv => {
            let runner = OpenCvRunner::new(&clf.to_onnx_with(true)?)?;
            clf.set_runner(engine, Box::new(runner));
        }
        EngineKind::Ort => {
            clf.set_engine(engine);
            clf.prepare()?;
        }
        EngineKind::Auto => {
            clf.set_engine(engine);
            clf.prepare_in_background();
        }
        EngineKind::Burn => clf.set_engine(engine),
    }
    Ok(())
}

impl OnnxRunner for OpenCvRunner {
    fn name(&self) -> &'static str {
        "opencv"
    }
    fn logits(&mut self, pixels: &[f32], n: usize) -> Result<Vec<f32>, EngineError> {
        self.run_output(pixels, n, LOGITS_NAME)
    }
}
