//! `efficientnetb0`: EfficientNet-B0 (Tan & Le 2019) on 96x96 RGB (the 48x48 gray input upsampled
//! and replicated in the graph), SiLU, squeeze-and-excitation, with the original design's head:
//! global average pooling → dropout → dense(7). Parameter names follow timm's `efficientnet_b0`
//! (symmetric padding) so ImageNet weights in safetensors load by name (see [`crate::imagenet`]).

use super::common::{bn, conv, imagenet_input, SqueezeExcite};
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

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

/// (expansion, kernel, first stride, output channels, repeats) of the seven B0 stages.
const STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
];

/// MBConv block: optional 1x1 expansion, depthwise kxk, squeeze-excite (reduction to a quarter of
/// the block's input channels), 1x1 projection, residual when shapes allow.
#[derive(Module, Debug)]
pub struct MbConv {
    pub conv_pw: Option<Conv2d>,
    pub bn1: Option<BatchNorm>,
    pub conv_dw: Conv2d,
    pub bn2: BatchNorm,
    pub se: SqueezeExcite,
    pub conv_pwl: Conv2d,
    pub bn3: BatchNorm,
    residual: bool,
}

impl MbConv {
    fn new(cin: usize, cout: usize, t: usize, k: usize, stride: usize, device: &Device) -> Self {
        let mid = cin * t;
        let (conv_pw, bn1) = if t != 1 {
            (Some(conv(cin, mid, 1, 1, 1, device)), Some(bn(mid, device)))
        } else {
            (None, None)
        };
        MbConv {
            conv_pw,
            bn1,
            conv_dw: conv(mid, mid, k, stride, mid, device),
            bn2: bn(mid, device),
            se: SqueezeExcite::new(mid, (cin / 4).max(1), device),
            conv_pwl: conv(mid, cout, 1, 1, 1, device),
            bn3: bn(cout, device),
            residual: stride == 1 && cin == cout,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        if let (Some(c), Some(b)) = (&self.conv_pw, &self.bn1) {
            h = silu(b.forward(c.forward(h)));
        }
        h = silu(self.bn2.forward(self.conv_dw.forward(h)));
        h = self.se.forward(h);
        h = self.bn3.forward(self.conv_pwl.forward(h));
        if self.residual {
            h + x
        } else {
            h
        }
    }
}

/// EfficientNet-B0 backbone (1280 pooled features).
#[derive(Module, Debug)]
pub struct EfficientNetB0Backbone {
    pub conv_stem: Conv2d,
    pub bn1: BatchNorm,
    pub blocks: Vec<Vec<MbConv>>,
    pub conv_head: Conv2d,
    pub bn2: BatchNorm,
}

impl EfficientNetB0Backbone {
    pub const FEATURES: usize = 1280;

    pub fn new(device: &Device) -> Self {
        let mut cin = 32;
        let blocks = STAGES
            .iter()
            .map(|&(t, k, s, c, n)| {
                (0..n)
                    .map(|i| {
                        let b = MbConv::new(cin, c, t, k, if i == 0 { s } else { 1 }, device);
                        cin = c;
                        b
                    })
                    .collect()
            })
            .collect();
        EfficientNetB0Backbone {
            conv_stem: conv(3, 32, 3, 2, 1, device),
            bn1: bn(32, device),
            blocks,
            conv_head: conv(cin, Self::FEATURES, 1, 1, 1, device),
            bn2: bn(Self::FEATURES, device),
        }
    }

    /// `[B,3,H,W]` ImageNet-normalised → `[B,1280]` pooled features.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = silu(self.bn1.forward(self.conv_stem.forward(x)));
        for stage in &self.blocks {
            for b in stage {
                h = b.forward(h);
            }
        }
        let h = silu(self.bn2.forward(self.conv_head.forward(h)));
        h.mean_dim(2).mean_dim(3).flatten::<2>(1, 3)
    }
}

/// EfficientNet-B0 classifier: backbone → GAP → dropout → dense(7).
#[derive(Module, Debug)]
pub struct EfficientNetB0 {
    pub backbone: EfficientNetB0Backbone,
    dropout: Dropout,
    pub head: Linear,
}

impl EfficientNetB0Config {
    pub fn init(&self, device: &Device) -> EfficientNetB0 {
        EfficientNetB0 {
            backbone: EfficientNetB0Backbone::new(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(EfficientNetB0Backbone::FEATURES, self.num_classes)
                .init(device),
        }
    }
}

impl EfficientNetB0 {
    /// Logits `[B,7]` for the common `[B,1,48,48]` input.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.backbone.forward(imagenet_input(x));
        self.head.forward(self.dropout.forward(f))
    }
}
