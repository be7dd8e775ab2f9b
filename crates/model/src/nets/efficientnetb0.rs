//! `efficientnetb0`: EfficientNet-B0 (Tan & Le 2019) on 96x96 RGB (the 48x48 gray input upsampled
//! and replicated in the graph), SiLU, squeeze-and-excitation, with the original design's head:
//! global average pooling → dropout → dense(7). Parameter names follow timm's `efficientnet_b0`
//! (symmetric padding) so ImageNet weights in safetensors load by name (see [`crate::imagenet`]).
//! The MBConv blocks are [`super::common::InvertedBottleneck`] with SiLU and squeeze-excite.

use super::common::{Flavour, ImagenetBackbone, ImagenetClassifier, InputNorm, Stage};
use burn::tensor::Device;

/// EfficientNet-B0 classifier: backbone → GAP → dropout → dense(7).
pub type EfficientNetB0 = ImagenetClassifier;

/// Configuration of [`EfficientNetB0`].
#[derive(Debug, Clone)]
pub struct EfficientNetB0Config {
    pub dropout: f64,
    pub num_classes: usize,
}

impl Default for EfficientNetB0Config {
    fn default() -> Self {
        EfficientNetB0Config {
            dropout: 0.2,
            num_classes: crate::NUM_EMOTIONS,
        }
    }
}

const fn st(t: usize, k: usize, s: usize, c: usize, n: usize) -> Stage {
    Stage { t, k, s, c, n }
}

/// (expansion, kernel, first stride, output channels, repeats) of the seven B0 stages.
pub(crate) const STAGES: [Stage; 7] = [
    st(1, 3, 1, 16, 1),
    st(6, 3, 2, 24, 2),
    st(6, 5, 2, 40, 2),
    st(6, 3, 2, 80, 3),
    st(6, 5, 1, 112, 3),
    st(6, 5, 2, 192, 4),
    st(6, 3, 1, 320, 1),
];

const FLAVOUR: Flavour = Flavour {
    swish: true,
    squeeze_excite: true,
    tf_same: false,
    bn_eps: 1e-5,
    input: InputNorm::ImagenetStats,
};

/// The EfficientNet-B0 backbone (1280 pooled features).
pub fn backbone(device: &Device) -> ImagenetBackbone {
    ImagenetBackbone::new(&STAGES, FLAVOUR, device)
}

impl EfficientNetB0Config {
    pub fn init(&self, device: &Device) -> EfficientNetB0 {
        ImagenetClassifier::new(backbone(device), self.dropout, self.num_classes, device)
    }
}
