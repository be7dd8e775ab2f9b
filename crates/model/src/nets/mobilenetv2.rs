//! `mobilenetv2`: MobileNetV2 (Sandler et al. 2018), width 1.0, on 96x96 RGB (the 48x48 gray input
//! upsampled and replicated in the graph), with the original design's head: global average pooling
//! → dropout → dense(7). Parameter names follow timm's `mobilenetv2_100` so ImageNet weights in
//! safetensors load by name (see [`crate::imagenet`]).

use super::common::{bn, conv, imagenet_input, relu6};
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

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

/// (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
const STAGES: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// Inverted residual block. With expansion 1 (the first block) there is no `conv_pw`; timm then
/// names the layers `conv_dw, bn1, conv_pw, bn2` — kept here as `conv_dw/bn2` + `conv_pwl/bn3` with
/// [`crate::imagenet`] remapping those names.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub conv_pw: Option<Conv2d>,
    pub bn1: Option<BatchNorm>,
    pub conv_dw: Conv2d,
    pub bn2: BatchNorm,
    pub conv_pwl: Conv2d,
    pub bn3: BatchNorm,
    residual: bool,
}

impl InvertedResidual {
    fn new(cin: usize, cout: usize, t: usize, stride: usize, device: &Device) -> Self {
        let mid = cin * t;
        let (conv_pw, bn1) = if t != 1 {
            (Some(conv(cin, mid, 1, 1, 1, device)), Some(bn(mid, device)))
        } else {
            (None, None)
        };
        InvertedResidual {
            conv_pw,
            bn1,
            conv_dw: conv(mid, mid, 3, stride, mid, device),
            bn2: bn(mid, device),
            conv_pwl: conv(mid, cout, 1, 1, 1, device),
            bn3: bn(cout, device),
            residual: stride == 1 && cin == cout,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        if let (Some(c), Some(b)) = (&self.conv_pw, &self.bn1) {
            h = relu6(b.forward(c.forward(h)));
        }
        h = relu6(self.bn2.forward(self.conv_dw.forward(h)));
        h = self.bn3.forward(self.conv_pwl.forward(h));
        if self.residual {
            h + x
        } else {
            h
        }
    }
}

/// MobileNetV2 backbone (features before pooling: 1280 channels at 3x3 for a 96x96 input).
#[derive(Module, Debug)]
pub struct MobileNetV2Backbone {
    pub conv_stem: Conv2d,
    pub bn1: BatchNorm,
    pub blocks: Vec<Vec<InvertedResidual>>,
    pub conv_head: Conv2d,
    pub bn2: BatchNorm,
}

impl MobileNetV2Backbone {
    pub const FEATURES: usize = 1280;

    pub fn new(device: &Device) -> Self {
        let mut cin = 32;
        let blocks = STAGES
            .iter()
            .map(|&(t, c, n, s)| {
                (0..n)
                    .map(|i| {
                        let b =
                            InvertedResidual::new(cin, c, t, if i == 0 { s } else { 1 }, device);
                        cin = c;
                        b
                    })
                    .collect()
            })
            .collect();
        MobileNetV2Backbone {
            conv_stem: conv(3, 32, 3, 2, 1, device),
            bn1: bn(32, device),
            blocks,
            conv_head: conv(cin, Self::FEATURES, 1, 1, 1, device),
            bn2: bn(Self::FEATURES, device),
        }
    }

    /// `[B,3,H,W]` ImageNet-normalised → `[B,1280]` pooled features.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = relu6(self.bn1.forward(self.conv_stem.forward(x)));
        for stage in &self.blocks {
            for b in stage {
                h = b.forward(h);
            }
        }
        let h = relu6(self.bn2.forward(self.conv_head.forward(h)));
        h.mean_dim(2).mean_dim(3).flatten::<2>(1, 3)
    }
}

/// MobileNetV2 classifier: backbone → GAP → dropout → dense(7).
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    pub backbone: MobileNetV2Backbone,
    dropout: Dropout,
    pub head: Linear,
}

impl MobileNetV2Config {
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        MobileNetV2 {
            backbone: MobileNetV2Backbone::new(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(MobileNetV2Backbone::FEATURES, self.num_classes).init(device),
        }
    }
}

impl MobileNetV2 {
    /// Logits `[B,7]` for the common `[B,1,48,48]` input.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.backbone.forward(imagenet_input(x));
        self.head.forward(self.dropout.forward(f))
    }
}
