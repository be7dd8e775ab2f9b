//! `mobilenetv2`: MobileNetV2 (Sandler et al. 2018), width 1.0, on 96x96 RGB (the 48x48 gray input
//! upsampled and replicated in the graph), with the original design's head: global average pooling
//! → dropout → dense(7). Parameter names follow timm's `mobilenetv2_100` so ImageNet weights in
//! safetensors load by name (see [`crate::imagenet`]). The blocks are shared with EfficientNet-B0
//! ([`super::common::InvertedBottleneck`], here with ReLU6 and no squeeze-excite).

use super::common::{Flavour, ImagenetBackbone, ImagenetClassifier, InputNorm, Stage};
use burn::tensor::Device;

/// MobileNetV2 classifier: backbone → GAP → dropout → dense(7).
pub type MobileNetV2 = ImagenetClassifier;

/// Configuration of [`MobileNetV2`].
#[derive(Debug, Clone)]
pub struct MobileNetV2Config {
    pub dropout: f64,
    pub num_classes: usize,
}

impl Default for MobileNetV2Config {
    fn default() -> Self {
        MobileNetV2Config {
            dropout: 0.2,
            num_classes: crate::NUM_EMOTIONS,
        }
    }
}

const fn st(t: usize, c: usize, n: usize, s: usize) -> Stage {
    Stage { t, k: 3, s, c, n }
}

/// (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
const STAGES: [Stage; 7] = [
    st(1, 16, 1, 1),
    st(6, 24, 2, 2),
    st(6, 32, 3, 2),
    st(6, 64, 4, 2),
    st(6, 96, 3, 1),
    st(6, 160, 3, 2),
    st(6, 320, 1, 1),
];

pub(crate) const FLAVOUR: Flavour = Flavour {
    swish: false,
    squeeze_excite: false,
    tf_same: false,
    bn_eps: 1e-5,
    input: InputNorm::ImagenetStats,
};

/// The MobileNetV2 backbone (1280 pooled features).
pub fn backbone(device: &Device) -> ImagenetBackbone {
    ImagenetBackbone::new(&STAGES, FLAVOUR, device)
}

impl MobileNetV2Config {
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        ImagenetClassifier::new(backbone(device), self.dropout, self.num_classes, device)
    }
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
