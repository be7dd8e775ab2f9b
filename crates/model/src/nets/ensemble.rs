//! `seed-ensemble`: the original design. A MobileNetV2 branch and an EfficientNet branch on the
//! same 96x96 RGB input (gray replicated), each global average pooling → dropout → dense
//! softmax(7); the two softmax outputs are averaged (Keras `Average()`). Returned as
//! log-probabilities so the usual cross-entropy on "logits" (log-softmax of log-probabilities is
//! the identity) trains the averaged output.
//!
//! The EfficientNet branch is EfficientNet-Lite0 (`seed-ensemble`: its ImageNet weights come from a
//! package registry) or EfficientNet-B0 (`seed-ensemble-b0`, for users with timm B0 weights).

use super::common::ImagenetClassifier;
use super::efficientnet_lite0::EfficientNetLite0Config;
use super::efficientnetb0::EfficientNetB0Config;
use super::mobilenetv2::{MobileNetV2, MobileNetV2Config};
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// Which EfficientNet the ensemble's second branch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EfficientBranch {
    #[default]
    Lite0,
    B0,
}

/// Configuration of [`SeedEnsemble`].
#[derive(Debug, Clone, Default)]
pub struct SeedEnsembleConfig {
    pub mobilenet: MobileNetV2Config,
    pub efficientnet: EfficientBranch,
    /// Dropout of the EfficientNet branch's head.
    pub efficientnet_dropout: Option<f64>,
}

#[derive(Module, Debug)]
pub struct SeedEnsemble {
    pub mobilenet: MobileNetV2,
    pub efficientnet: ImagenetClassifier,
    /// True when the EfficientNet branch is B0 (else Lite0).
    b0: bool,
}

impl SeedEnsembleConfig {
    pub fn init(&self, device: &Device) -> SeedEnsemble {
        let efficientnet = match self.efficientnet {
            EfficientBranch::Lite0 => {
                let mut c = EfficientNetLite0Config::default();
                c.dropout = self.efficientnet_dropout.unwrap_or(c.dropout);
                c.init(device)
            }
            EfficientBranch::B0 => {
                let mut c = EfficientNetB0Config::default();
                c.dropout = self.efficientnet_dropout.unwrap_or(c.dropout);
                c.init(device)
            }
        };
        SeedEnsemble {
            mobilenet: self.mobilenet.init(device),
            efficientnet,
            b0: self.efficientnet == EfficientBranch::B0,
        }
    }
}

impl SeedEnsemble {
    /// Which EfficientNet the second branch is.
    pub fn efficient_branch(&self) -> EfficientBranch {
        if self.b0 {
            EfficientBranch::B0
        } else {
            EfficientBranch::Lite0
        }
    }

    /// Log of the averaged branch probabilities, `[B,7]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let a = softmax(self.mobilenet.forward(x.clone()), 1);
        let b = softmax(self.efficientnet.forward(x), 1);
        ((a + b) * 0.5).clamp_min(1e-7).log()
    }
}
