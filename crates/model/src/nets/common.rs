//! Pieces shared by the ImageNet-style networks: conv + BatchNorm blocks, and the conversion of the
//! common 48x48 gray input into the 96x96 RGB, ImageNet-normalised input those networks expect.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::silu;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};

/// Side of the ImageNet-style networks' input (the original design's 96x96).
pub const IMAGENET_INPUT: usize = 96;
pub(crate) const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub(crate) const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// `[B,1,48,48]` FER-normalised gray → `[B,3,96,96]` RGB with pixels in 0–1 (gray replicated,
/// bilinear upsampling), inside the graph so every network shares one data pipeline. Each backbone
/// then applies the normalisation its ImageNet weights were trained with ([`InputNorm`]).
pub fn imagenet_input(x: Tensor<4>) -> Tensor<4> {
    let gray01 = x * crate::PIXEL_STD + crate::PIXEL_MEAN;
    let up = interpolate(
        gray01,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_output_size([IMAGENET_INPUT, IMAGENET_INPUT]),
    );
    up.repeat_dim(1, 3)
}

/// How a backbone's ImageNet weights expect their RGB input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputNorm {
    /// `(x - mean) / std` with ImageNet's channel statistics (torchvision, timm).
    ImagenetStats,
    /// `(255 x - 127) / 128`, i.e. about -1..1 (TensorFlow's EfficientNet-Lite).
    Symmetric,
}

impl InputNorm {
    /// Applies the normalisation to RGB in 0–1, `[B,3,H,W]`.
    pub fn apply(self, rgb01: Tensor<4>) -> Tensor<4> {
        match self {
            InputNorm::ImagenetStats => {
                let device = rgb01.device();
                let mean = Tensor::<1>::from_floats(IMAGENET_MEAN, &device).reshape([1, 3, 1, 1]);
                let std = Tensor::<1>::from_floats(IMAGENET_STD, &device).reshape([1, 3, 1, 1]);
                (rgb01 - mean) / std
            }
            InputNorm::Symmetric => (rgb01 * 255.0 - 127.0) / 128.0,
        }
    }
}

/// Convolution without bias (a BatchNorm follows), optional groups. Padding: symmetric `k/2`, or
/// with `tf_same` TensorFlow's "same" rule for stride 2 on even sizes (`k-2` pixels, the extra one
/// at the bottom/right), which EfficientNet-Lite's weights were trained with. The input sides at
/// every stride-2 layer are even for 96x96 and 224x224 inputs (any multiple of 32).
pub fn conv(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    groups: usize,
    tf_same: bool,
    device: &Device,
) -> Conv2d {
    let padding = if tf_same && stride == 2 {
        let total = k.saturating_sub(2);
        let (lo, hi) = (total / 2, total - total / 2);
        PaddingConfig2d::Explicit(lo, lo, hi, hi)
    } else {
        PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2)
    };
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([stride, stride])
        .with_padding(padding)
        .with_groups(groups)
        .with_bias(false)
        .init(device)
}

pub fn bn(c: usize, eps: f64, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).with_epsilon(eps).init(device)
}

/// Squeeze-and-excitation (EfficientNet): global pool, 1x1 reduce + SiLU, 1x1 expand + sigmoid,
/// channel-wise scale. Named as in timm (`conv_reduce`, `conv_expand`).
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    pub conv_reduce: Conv2d,
    pub conv_expand: Conv2d,
}

impl SqueezeExcite {
    pub fn new(c: usize, reduced: usize, device: &Device) -> Self {
        SqueezeExcite {
            conv_reduce: Conv2dConfig::new([c, reduced], [1, 1]).init(device),
            conv_expand: Conv2dConfig::new([reduced, c], [1, 1]).init(device),
        }
    }
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let s = x.clone().mean_dim(2).mean_dim(3);
        let s = burn::tensor::activation::silu(self.conv_reduce.forward(s));
        let s = burn::tensor::activation::sigmoid(self.conv_expand.forward(s));
        x * s
    }
}

/// ReLU6.
pub fn relu6(x: Tensor<4>) -> Tensor<4> {
    x.clamp(0.0, 6.0)
}

/// One stage of an inverted-residual backbone: expansion `t`, depthwise kernel `k`, first stride
/// `s`, output channels `c`, repeats `n`.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    pub t: usize,
    pub k: usize,
    pub s: usize,
    pub c: usize,
    pub n: usize,
}

/// What tells MobileNetV2, EfficientNet-B0 and EfficientNet-Lite0 apart in the shared blocks: the
/// activation (ReLU6 or SiLU), squeeze-and-excitation, the padding rule, BatchNorm's epsilon and
/// the input normalisation of their ImageNet weights.
#[derive(Debug, Clone, Copy)]
pub struct Flavour {
    pub swish: bool,
    pub squeeze_excite: bool,
    pub tf_same: bool,
    pub bn_eps: f64,
    pub input: InputNorm,
}

fn act(swish: bool, x: Tensor<4>) -> Tensor<4> {
    if swish {
        silu(x)
    } else {
        relu6(x)
    }
}

/// Inverted-residual bottleneck (MobileNetV2's block; with SiLU and squeeze-excite, EfficientNet's
/// MBConv): optional 1x1 expansion, depthwise kxk, optional SE (reduction to a quarter of the
/// block's input channels), 1x1 projection, residual when shapes allow. With expansion 1 (the
/// first block) there is no `conv_pw`; timm then names the layers `conv_dw, bn1, [se], conv_pw,
/// bn2` — kept here as `conv_dw/bn2` + `conv_pwl/bn3` with [`crate::imagenet`] remapping them.
#[derive(Module, Debug)]
pub struct InvertedBottleneck {
    pub conv_pw: Option<Conv2d>,
    pub bn1: Option<BatchNorm>,
    pub conv_dw: Conv2d,
    pub bn2: BatchNorm,
    pub se: Option<SqueezeExcite>,
    pub conv_pwl: Conv2d,
    pub bn3: BatchNorm,
    pub(crate) residual: bool,
    pub(crate) swish: bool,
}

impl InvertedBottleneck {
    /// The block's weights trainable again, its BatchNorm layers still frozen (inference mode:
    /// ImageNet's running statistics, as Keras keeps them while fine-tuning).
    pub fn unfreeze_convs(self) -> Self {
        let mut b = self.unfreeze();
        b.bn1 = b.bn1.map(|n| n.freeze());
        b.bn2 = b.bn2.freeze();
        b.bn3 = b.bn3.freeze();
        b
    }

    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cin: usize,
        cout: usize,
        t: usize,
        k: usize,
        stride: usize,
        flavour: Flavour,
        device: &Device,
    ) -> Self {
        let mid = cin * t;
        let (conv_pw, bn1) = if t != 1 {
            (
                Some(conv(cin, mid, 1, 1, 1, false, device)),
                Some(bn(mid, flavour.bn_eps, device)),
            )
        } else {
            (None, None)
        };
        InvertedBottleneck {
            conv_pw,
            bn1,
            conv_dw: conv(mid, mid, k, stride, mid, flavour.tf_same, device),
            bn2: bn(mid, flavour.bn_eps, device),
            se: flavour
                .squeeze_excite
                .then(|| SqueezeExcite::new(mid, (cin / 4).max(1), device)),
            conv_pwl: conv(mid, cout, 1, 1, 1, false, device),
            bn3: bn(cout, flavour.bn_eps, device),
            residual: stride == 1 && cin == cout,
            swish: flavour.swish,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        if let (Some(c), Some(b)) = (&self.conv_pw, &self.bn1) {
            h = act(self.swish, b.forward(c.forward(h)));
        }
        h = act(self.swish, self.bn2.forward(self.conv_dw.forward(h)));
        if let Some(se) = &self.se {
            h = se.forward(h);
        }
        h = self.bn3.forward(self.conv_pwl.forward(h));
        if self.residual {
            h + x
        } else {
            h
        }
    }
}

/// An ImageNet-style backbone: 3x3 stride-2 stem (32 channels), the stages of inverted bottlenecks,
/// 1x1 head conv to 1280 channels, global average pooling. Parameter names follow timm.
#[derive(Module, Debug)]
pub struct ImagenetBackbone {
    pub conv_stem: Conv2d,
    pub bn1: BatchNorm,
    pub blocks: Vec<Vec<InvertedBottleneck>>,
    pub conv_head: Conv2d,
    pub bn2: BatchNorm,
    pub(crate) swish: bool,
    /// [`InputNorm::Symmetric`] when true, else [`InputNorm::ImagenetStats`].
    symmetric_input: bool,
}

impl ImagenetBackbone {
    pub const FEATURES: usize = 1280;

    pub fn new(stages: &[Stage], flavour: Flavour, device: &Device) -> Self {
        let mut cin = 32;
        let blocks = stages
            .iter()
            .map(|st| {
                (0..st.n)
                    .map(|i| {
                        let stride = if i == 0 { st.s } else { 1 };
                        let b =
                            InvertedBottleneck::new(cin, st.c, st.t, st.k, stride, flavour, device);
                        cin = st.c;
                        b
                    })
                    .collect()
            })
            .collect();
        ImagenetBackbone {
            conv_stem: conv(3, 32, 3, 2, 1, flavour.tf_same, device),
            bn1: bn(32, flavour.bn_eps, device),
            blocks,
            conv_head: conv(cin, Self::FEATURES, 1, 1, 1, false, device),
            bn2: bn(Self::FEATURES, flavour.bn_eps, device),
            swish: flavour.swish,
            symmetric_input: flavour.input == InputNorm::Symmetric,
        }
    }

    /// Makes the weights of stages `k..` and of the head conv trainable again (after
    /// [`Module::freeze`]), every BatchNorm staying in inference mode: the fine-tuning variant of
    /// the original design.
    pub fn unfreeze_from(mut self, k: usize) -> Self {
        let blocks = std::mem::take(&mut self.blocks);
        self.blocks = blocks
            .into_iter()
            .enumerate()
            .map(|(i, stage)| {
                if i >= k {
                    stage
                        .into_iter()
                        .map(InvertedBottleneck::unfreeze_convs)
                        .collect()
                } else {
                    stage
                }
            })
            .collect();
        self.conv_head = self.conv_head.unfreeze();
        self
    }

    /// The input normalisation this backbone applies.
    pub fn input_norm(&self) -> InputNorm {
        if self.symmetric_input {
            InputNorm::Symmetric
        } else {
            InputNorm::ImagenetStats
        }
    }

    /// `[B,3,H,W]` RGB in 0–1 → `[B,1280]` pooled features (normalised here, see [`InputNorm`]).
    pub fn forward(&self, rgb01: Tensor<4>) -> Tensor<2> {
        let x = self.input_norm().apply(rgb01);
        let mut h = act(self.swish, self.bn1.forward(self.conv_stem.forward(x)));
        for stage in &self.blocks {
            for b in stage {
                h = b.forward(h);
            }
        }
        let h = act(self.swish, self.bn2.forward(self.conv_head.forward(h)));
        h.mean_dim(2).mean_dim(3).flatten::<2>(1, 3)
    }
}

/// The original design's classifier on an ImageNet-style backbone: backbone → global average
/// pooling → dropout → dense(classes).
#[derive(Module, Debug)]
pub struct ImagenetClassifier {
    pub backbone: ImagenetBackbone,
    dropout: Dropout,
    pub head: Linear,
}

impl ImagenetClassifier {
    pub fn new(backbone: ImagenetBackbone, dropout: f64, classes: usize, device: &Device) -> Self {
        ImagenetClassifier {
            backbone,
            dropout: DropoutConfig::new(dropout).init(),
            head: LinearConfig::new(ImagenetBackbone::FEATURES, classes).init(device),
        }
    }

    /// Logits `[B,7]` for the common `[B,1,48,48]` input.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.backbone.forward(imagenet_input(x));
        self.head.forward(self.dropout.forward(f))
    }
}
