//! The network zoo: one file per architecture, each a plain burn module with a config struct that
//! has defaults. [`Net`] wraps them so training, checkpoints and inference handle any of them.
//!
//! Every network takes the same input, `[B, 1, 48, 48]` gray faces normalised with
//! [`crate::normalize`]; the 96x96 RGB designs upsample and replicate channels inside the graph
//! ([`common::imagenet_input`]).

pub mod common;
pub mod compact;
pub mod efficientnetb0;
pub mod ensemble;
pub mod mobilenetv2;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

pub use compact::{CompactConfig, CompactNet};
pub use efficientnetb0::{EfficientNetB0, EfficientNetB0Config};
pub use ensemble::{SeedEnsemble, SeedEnsembleConfig};
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
    /// The original design: MobileNetV2 + EfficientNetB0, averaged.
    SeedEnsemble,
}

impl Arch {
    pub const ALL: [Arch; 4] = [
        Arch::Compact,
        Arch::Mobilenetv2,
        Arch::Efficientnetb0,
        Arch::SeedEnsemble,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Arch::Compact => "compact",
            Arch::Mobilenetv2 => "mobilenetv2",
            Arch::Efficientnetb0 => "efficientnetb0",
            Arch::SeedEnsemble => "seed-ensemble",
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
            Arch::SeedEnsemble => Net::SeedEnsemble(SeedEnsembleConfig::default().init(device)),
        }
    }

    pub fn arch(&self) -> Arch {
        match self {
            Net::Compact(_) => Arch::Compact,
            Net::Mobilenetv2(_) => Arch::Mobilenetv2,
            Net::Efficientnetb0(_) => Arch::Efficientnetb0,
            Net::SeedEnsemble(_) => Arch::SeedEnsemble,
        }
    }

    /// Stop gradients through the ImageNet-style backbones (the heads stay trainable).
    pub fn freeze_backbones(self) -> Net {
        match self {
            Net::Compact(n) => Net::Compact(n),
            Net::Mobilenetv2(mut n) => {
                n.backbone = n.backbone.no_grad();
                Net::Mobilenetv2(n)
            }
            Net::Efficientnetb0(mut n) => {
                n.backbone = n.backbone.no_grad();
                Net::Efficientnetb0(n)
            }
            Net::SeedEnsemble(mut n) => {
                n.mobilenet.backbone = n.mobilenet.backbone.no_grad();
                n.efficientnet.backbone = n.efficientnet.backbone.no_grad();
                Net::SeedEnsemble(n)
            }
        }
    }

    /// Logits (or, for the ensemble, log-probabilities) `[B, 7]` for faces `[B, 1, 48, 48]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Net::Compact(n) => n.forward(x),
            Net::Mobilenetv2(n) => n.forward(x),
            Net::Efficientnetb0(n) => n.forward(x),
            Net::SeedEnsemble(n) => n.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
