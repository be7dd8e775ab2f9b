//! The network zoo: one file per architecture, each a plain burn module with a config struct that
//! has defaults. [`Net`] wraps them so training, checkpoints and inference handle any of them.
//!
//! Every network takes the same input, `[B, 1, 48, 48]` gray faces normalised with
//! [`crate::normalize`]; the 96x96 RGB designs upsample and replicate channels inside the graph
//! ([`common::imagenet_input`]).

pub mod common;
pub mod compact;
pub mod efficientnet_lite0;
pub mod efficientnetb0;
pub mod ensemble;
pub mod mobilenetv2;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

pub use compact::{CompactConfig, CompactNet};
pub use efficientnet_lite0::{EfficientNetLite0, EfficientNetLite0Config};
pub use efficientnetb0::{EfficientNetB0, EfficientNetB0Config};
pub use ensemble::{EfficientBranch, SeedEnsemble, SeedEnsembleConfig};
pub use mobilenetv2::{MobileNetV2, MobileNetV2Config};

/// Architecture names accepted by `--arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// The project's own compact 48x48 network.
    Compact,
    /// MobileNetV2 at 96x96.
    Mobilenetv2,
    /// EfficientNet-B0 at 96x96.
    Efficientnetb0,
    /// EfficientNet-Lite0 at 96x96.
    EfficientnetLite0,
    /// The original design: MobileNetV2 + EfficientNet (Lite0, whose ImageNet weights a package
    /// registry ships), averaged.
    SeedEnsemble,
    /// The original design with EfficientNet-B0 as the second branch (timm B0 weights).
    SeedEnsembleB0,
}

impl Arch {
    pub const ALL: [Arch; 6] = [
        Arch::Compact,
        Arch::Mobilenetv2,
        Arch::Efficientnetb0,
        Arch::EfficientnetLite0,
        Arch::SeedEnsemble,
        Arch::SeedEnsembleB0,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Arch::Compact => "compact",
            Arch::Mobilenetv2 => "mobilenetv2",
            Arch::Efficientnetb0 => "efficientnetb0",
            Arch::EfficientnetLite0 => "efficientnet-lite0",
            Arch::SeedEnsemble => "seed-ensemble",
            Arch::SeedEnsembleB0 => "seed-ensemble-b0",
        }
    }
    /// True for the networks with ImageNet-style backbones (which `--init imagenet=` can load).
    pub fn has_imagenet_backbone(self) -> bool {
        self != Arch::Compact
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Arch::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown architecture '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// Any of the architectures. (Variants differ in size; a model is built once, so no boxing.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Net {
    Compact(CompactNet),
    Mobilenetv2(MobileNetV2),
    Efficientnetb0(EfficientNetB0),
    EfficientnetLite0(EfficientNetLite0),
    SeedEnsemble(SeedEnsemble),
}

impl Net {
    /// A freshly initialised network of `arch`.
    pub fn new(arch: Arch, device: &Device) -> Net {
        match arch {
            Arch::Compact => Net::Compact(CompactConfig::default().init(device)),
            Arch::Mobilenetv2 => Net::Mobilenetv2(MobileNetV2Config::default().init(device)),
            Arch::Efficientnetb0 => {
                Net::Efficientnetb0(EfficientNetB0Config::default().init(device))
            }
            Arch::EfficientnetLite0 => {
                Net::EfficientnetLite0(EfficientNetLite0Config::default().init(device))
            }
            Arch::SeedEnsemble => Net::SeedEnsemble(SeedEnsembleConfig::default().init(device)),
            Arch::SeedEnsembleB0 => Net::SeedEnsemble(
                SeedEnsembleConfig {
                    efficientnet: EfficientBranch::B0,
                    ..Default::default()
                }
                .init(device),
            ),
        }
    }

    pub fn arch(&self) -> Arch {
        match self {
            Net::Compact(_) => Arch::Compact,
            Net::Mobilenetv2(_) => Arch::Mobilenetv2,
            Net::Efficientnetb0(_) => Arch::Efficientnetb0,
            Net::EfficientnetLite0(_) => Arch::EfficientnetLite0,
            Net::SeedEnsemble(e) => match e.efficient_branch() {
                EfficientBranch::Lite0 => Arch::SeedEnsemble,
                EfficientBranch::B0 => Arch::SeedEnsembleB0,
            },
        }
    }

    /// The ImageNet-style backbones (none for `compact`).
    pub fn backbones_mut(&mut self) -> Vec<&mut common::ImagenetBackbone> {
        match self {
            Net::Compact(_) => Vec::new(),
            Net::Mobilenetv2(n) | Net::Efficientnetb0(n) | Net::EfficientnetLite0(n) => {
                vec![&mut n.backbone]
            }
            Net::SeedEnsemble(e) => vec![&mut e.mobilenet.backbone, &mut e.efficientnet.backbone],
        }
    }

    /// Freeze the ImageNet-style backbones as Keras' `trainable = False` does: no gradients, and
    /// BatchNorm in inference mode (running statistics used, never updated). With
    /// `unfreeze_from = Some(k)`, the weights of stages `k..` of each backbone and of its head conv
    /// train again, their BatchNorm layers staying in inference mode (the fine-tuning variant, as
    /// Keras fine-tunes). The classifier heads stay trainable.
    pub fn freeze_backbones(mut self, unfreeze_from: Option<usize>) -> Net {
        for b in self.backbones_mut() {
            let frozen = std::mem::replace(b, placeholder_backbone()).freeze();
            *b = match unfreeze_from {
                None => frozen,
                Some(k) => frozen.unfreeze_from(k),
            };
        }
        self
    }

    /// Logits (or, for the ensemble, log-probabilities) `[B, 7]` for faces `[B, 1, 48, 48]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Net::Compact(n) => n.forward(x),
            Net::Mobilenetv2(n) => n.forward(x),
            Net::Efficientnetb0(n) => n.forward(x),
            Net::EfficientnetLite0(n) => n.forward(x),
            Net::SeedEnsemble(n) => n.forward(x),
        }
    }
}

/// A tiny stand-in used while a backbone is moved out and back (`freeze` consumes the module).
fn placeholder_backbone() -> common::ImagenetBackbone {
    common::ImagenetBackbone::new(&[], mobilenetv2::FLAVOUR, &Device::flex())
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ImagenetClassifier;

    fn check(arch: Arch, params: std::ops::Range<usize>) {
        let dev = Device::flex();
        let net = Net::new(arch, &dev);
        let n = net.num_params();
        assert!(params.contains(&n), "{arch}: {n} parameters");
        let x = Tensor::<4>::zeros([2, 1, 48, 48], &dev);
        let y = net.forward(x);
        assert_eq!(y.dims(), [2, crate::NUM_EMOTIONS]);
        assert_eq!(net.arch(), arch);
        assert_eq!(arch.name().parse::<Arch>().unwrap(), arch);
    }

    #[test]
    fn compact_shape_and_size() {
        // 1,170,720 conv + 2*960 BN + 1799 dense
        check(Arch::Compact, 1_170_000..1_180_000);
    }

    #[test]
    fn mobilenetv2_shape_and_size() {
        // timm mobilenetv2_100: 3,504,872 with a 1000-class head (2,223,872 backbone); plus
        // BatchNorm running stats and our 8,967-parameter head.
        check(Arch::Mobilenetv2, 2_200_000..2_300_000);
    }

    #[test]
    fn efficientnetb0_shape_and_size() {
        // timm efficientnet_b0: 5.29M with a 1000-class head, so a 4,007,548-parameter backbone;
        // burn also counts BatchNorm running mean/var (2 x 21,008) and our head is 8,967.
        check(Arch::Efficientnetb0, 4_058_531..4_058_532);
    }

    #[test]
    fn efficientnet_lite0_shape_and_size() {
        // EfficientNet-Lite0: 4,652,008 parameters with its 1000-class head (1,281,000), so a
        // 3,371,008-parameter backbone; burn also counts BatchNorm running mean/var and our head
        // is 8,967.
        check(Arch::EfficientnetLite0, 3_370_000..3_430_000);
    }

    #[test]
    fn seed_ensembles_name_their_branch() {
        for arch in [Arch::SeedEnsemble, Arch::SeedEnsembleB0] {
            let net = Net::new(arch, &Device::flex());
            assert_eq!(net.arch(), arch);
        }
    }

    #[test]
    fn frozen_backbones_keep_batchnorm_statistics_and_take_no_gradients() {
        use burn::module::{ModuleVisitor, Param};
        struct Stats(Vec<f32>);
        impl ModuleVisitor for Stats {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                let v: Vec<f32> = p
                    .val()
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap();
                self.0.push(v.iter().sum());
            }
        }
        let sums = |n: &ImagenetClassifier| {
            let mut s = Stats(Vec::new());
            n.backbone.visit(&mut s);
            s.0
        };
        let dev = Device::flex().autodiff();
        let net = Net::new(Arch::Mobilenetv2, &dev).freeze_backbones(None);
        let Net::Mobilenetv2(m) = &net else {
            unreachable!()
        };
        let before = sums(m);
        let x = Tensor::<4>::random(
            [4, 1, 48, 48],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &dev,
        );
        let loss = net.forward(x).sum();
        let grads = loss.backward();
        // running statistics unchanged (inference-mode BatchNorm), no gradient for the backbone,
        // one for the head
        assert_eq!(sums(m), before);
        assert!(m.backbone.conv_stem.weight.grad(&grads).is_none());
        assert!(m.head.weight.grad(&grads).is_some());

        // fine-tuning: the last stage and the head conv train again, every BatchNorm still in
        // inference mode (running statistics unchanged by a training forward pass)
        let net = Net::new(Arch::Mobilenetv2, &dev).freeze_backbones(Some(6));
        let Net::Mobilenetv2(m) = &net else {
            unreachable!()
        };
        let before = sums(m);
        let x = Tensor::<4>::random(
            [2, 1, 48, 48],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &dev,
        );
        let grads = net.forward(x).sum().backward();
        assert_eq!(sums(m), before);
        for bn in [&m.backbone.blocks[6][0].bn2, &m.backbone.bn2] {
            assert!(
                !bn.training.is_enabled(),
                "an unfrozen stage's BatchNorm takes its training path"
            );
            assert!(bn.gamma.grad(&grads).is_none());
        }
        assert!(m.backbone.conv_head.weight.grad(&grads).is_some());
        assert!(m.backbone.blocks[6][0]
            .conv_dw
            .weight
            .grad(&grads)
            .is_some());
        assert!(m.backbone.blocks[5][0]
            .conv_dw
            .weight
            .grad(&grads)
            .is_none());
    }

    #[test]
    fn seed_ensemble_outputs_log_probabilities() {
        let dev = Device::flex();
        let net = Net::new(Arch::SeedEnsemble, &dev);
        let y = net.forward(Tensor::<4>::zeros([1, 1, 48, 48], &dev));
        let p: Vec<f32> = y.exp().into_data().try_to_vec().unwrap();
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn unknown_arch_is_an_error() {
        assert!("resnet".parse::<Arch>().unwrap_err().contains("compact"));
    }
}
