//! `seed-ensemble`: the original design. MobileNetV2 and EfficientNetB0 branches on the same 96x96
//! RGB input (gray replicated), each global average pooling → dropout → dense softmax(7); the two
//! softmax outputs are averaged. Returned as log-probabilities so the usual cross-entropy on
//! "logits" (log-softmax of log-probabilities is the identity) trains the averaged output.

use super::efficientnetb0::{EfficientNetB0, EfficientNetB0Config};
use super::mobilenetv2::{MobileNetV2, MobileNetV2Config};
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// Configuration of [`SeedEnsemble`].
#[derive(Debug, Clone, Default)]
pub struct SeedEnsembleConfig {
    pub mobilenet: MobileNetV2Config,
    pub efficientnet: EfficientNetB0Config,
}

#[derive(Module, Debug)]
pub struct SeedEnsemble {
    pub mobilenet: MobileNetV2,
    pub efficientnet: EfficientNetB0,
}

impl SeedEnsembleConfig {
    pub fn init(&self, device: &Device) -> SeedEnsemble {
        SeedEnsemble {
            mobilenet: self.mobilenet.init(device),
            efficientnet: self.efficientnet.init(device),
        }
    }
}

impl SeedEnsemble {
    /// Log of the averaged branch probabilities, `[B,7]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let a = softmax(self.mobilenet.forward(x.clone()), 1);
        let b = softmax(self.efficientnet.forward(x), 1);
        ((a + b) * 0.5).clamp_min(1e-7).log()
    }
}
