//! `compact`: the project's own FER network for 48x48 gray faces, chosen for accuracy per
//! CPU-minute: four VGG-style stages of two 3x3 conv + BatchNorm + ReLU (32/64/128/256 channels),
//! 2x2 max-pool after each stage (48→24→12→6→3), global average pooling, dropout, one dense layer.
//! 1.17M parameters. See docs/MODEL.md for the measured choices.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Configuration of [`CompactNet`].
#[derive(Debug, Clone)]
pub struct CompactConfig {
    /// Output channels of the four stages.
    pub widths: [usize; 4],
    /// Dropout before the classifier.
    pub dropout: f64,
    pub num_classes: usize,
}

impl Default for CompactConfig {
    fn default() -> Self {
        CompactConfig {
            widths: [32, 64, 128, 256],
            dropout: 0.4,
            num_classes: crate::NUM_EMOTIONS,
        }
    }
}

/// 3x3 convolution (same padding, no bias: BatchNorm follows) + BatchNorm + ReLU.
#[derive(Module, Debug)]
pub struct ConvBnRelu {
    pub(crate) conv: Conv2d,
    pub(crate) bn: BatchNorm,
}

impl ConvBnRelu {
    pub fn new(cin: usize, cout: usize, device: &Device) -> Self {
        ConvBnRelu {
            conv: Conv2dConfig::new([cin, cout], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(cout).init(device),
        }
    }
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(self.conv.forward(x)))
    }
}

/// One stage: two [`ConvBnRelu`] then 2x2 max-pool.
#[derive(Module, Debug)]
pub struct Stage {
    pub(crate) a: ConvBnRelu,
    pub(crate) b: ConvBnRelu,
    pool: MaxPool2d,
}

/// The compact VGG-style network. Input `[B, 1, 48, 48]` normalised gray, output logits `[B, 7]`.
#[derive(Module, Debug)]
pub struct CompactNet {
    pub(crate) stages: Vec<Stage>,
    gap: AdaptiveAvgPool2d,
    dropout: Dropout,
    pub(crate) head: Linear,
}

impl CompactConfig {
    pub fn init(&self, device: &Device) -> CompactNet {
        let mut cin = 1;
        let stages = self
            .widths
            .iter()
            .map(|&w| {
                let s = Stage {
                    a: ConvBnRelu::new(cin, w, device),
                    b: ConvBnRelu::new(w, w, device),
                    pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
                };
                cin = w;
                s
            })
            .collect();
        CompactNet {
            stages,
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(cin, self.num_classes).init(device),
        }
    }
}

impl CompactNet {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for s in &self.stages {
            x = s.pool.forward(s.b.forward(s.a.forward(x)));
        }
        let x = self.gap.forward(x).flatten::<2>(1, 3);
        self.head.forward(self.dropout.forward(x))
    }
}
