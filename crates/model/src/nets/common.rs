//! Pieces shared by the ImageNet-style networks: conv + BatchNorm blocks, and the conversion of the
//! common 48x48 gray input into the 96x96 RGB, ImageNet-normalised input those networks expect.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};

/// Side of the ImageNet-style networks' input (the original design's 96x96).
pub const IMAGENET_INPUT: usize = 96;
const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// `[B,1,48,48]` FER-normalised gray → `[B,3,96,96]` ImageNet-normalised RGB (gray replicated,
/// bilinear upsampling), inside the graph so every network shares one data pipeline.
pub fn imagenet_input(x: Tensor<4>) -> Tensor<4> {
    let [b, _, _, _] = x.dims();
    let device = x.device();
    let gray01 = x * crate::PIXEL_STD + crate::PIXEL_MEAN;
    let up = interpolate(
        gray01,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_output_size([IMAGENET_INPUT, IMAGENET_INPUT]),
    );
    let rgb = up.repeat_dim(1, 3);
    let mean = Tensor::<1>::from_floats(IMAGENET_MEAN, &device).reshape([1, 3, 1, 1]);
    let std = Tensor::<1>::from_floats(IMAGENET_STD, &device).reshape([1, 3, 1, 1]);
    let _ = b;
    (rgb - mean) / std
}

/// Convolution without bias (a BatchNorm follows), symmetric padding `k/2`, optional groups.
pub fn conv(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    groups: usize,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
        .with_groups(groups)
        .with_bias(false)
        .init(device)
}

pub fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).with_epsilon(1e-5).init(device)
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
