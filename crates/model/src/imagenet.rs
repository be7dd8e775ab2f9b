//! Loading ImageNet-pretrained backbones from safetensors files with timm's parameter names
//! (`mobilenetv2_100`, `efficientnet_b0`, `efficientnet_lite0`, as `timm` saves them with
//! `safetensors.torch.save_file`, as the Hugging Face hub ships them in `model.safetensors`, or as
//! `scripts/imagenet-weights.sh` converts the registry packages' `.pth` files). PyTorch conventions
//! are adapted (BatchNorm `weight/bias` → `gamma/beta`, linear weights transposed), the classifier
//! head and `num_batches_tracked` are ignored, and any missing or mis-shaped backbone tensor is an
//! error.
//!
//! Which backbone a file holds is told by its tensors: a 5x5 depthwise kernel in the third stage
//! means EfficientNet, squeeze-excite layers tell B0 from Lite0.
//!
//! [`default_dir`] is where `scripts/imagenet-weights.sh` puts the converted files
//! (`$MOODLENS_IMAGENET`, else `$XDG_CACHE_HOME/moodlens/imagenet`, else
//! `~/.cache/moodlens/imagenet`); [`default_files`] names the ones an architecture needs.

use crate::nets::common::ImagenetBackbone;
use crate::nets::{EfficientBranch, Net};
use burn::module::Module;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImagenetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a safetensors file: {msg}")]
    Format { path: String, msg: String },
    #[error("{path}: holds neither timm mobilenetv2_100, efficientnet_b0 nor efficientnet_lite0 weights (no conv_stem.weight)")]
    Unknown { path: String },
    #[error("{path}: not found; the ImageNet backbones come from the package registry: run `bash scripts/imagenet-weights.sh` (or set MOODLENS_IMAGENET to the folder holding {file})")]
    Missing { path: String, file: String },
    #[error("{path}: {msg}")]
    Apply { path: String, msg: String },
    #[error("--init imagenet: architecture {arch} has no {want} branch (file {path})")]
    WrongArch {
        arch: String,
        want: &'static str,
        path: String,
    },
}

/// Which backbone a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backbone {
    MobileNetV2,
    EfficientNetB0,
    EfficientNetLite0,
}

impl Backbone {
    /// The file name `scripts/imagenet-weights.sh` gives this backbone's weights.
    pub fn file_name(self) -> &'static str {
        match self {
            Backbone::MobileNetV2 => "mobilenetv2_100.safetensors",
            Backbone::EfficientNetB0 => "efficientnet_b0.safetensors",
            Backbone::EfficientNetLite0 => "efficientnet_lite0.safetensors",
        }
    }

    /// A freshly built backbone of this kind.
    pub fn build(self, device: &burn::tensor::Device) -> ImagenetBackbone {
        match self {
            Backbone::MobileNetV2 => crate::nets::mobilenetv2::backbone(device),
            Backbone::EfficientNetB0 => crate::nets::efficientnetb0::backbone(device),
            Backbone::EfficientNetLite0 => crate::nets::efficientnet_lite0::backbone(device),
        }
    }
}

/// Where the converted ImageNet weights live (see the module docs).
pub fn default_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("MOODLENS_IMAGENET").filter(|d| !d.is_empty()) {
        return d.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| std::path::PathBuf::from(".cache"));
    cache.join("moodlens").join("imagenet")
}

/// The backbones of `arch`, in branch order.
pub fn backbones_of(arch: crate::nets::Arch) -> Vec<Backbone> {
    use crate::nets::Arch;
    match arch {
        Arch::Compact => vec![],
        Arch::Mobilenetv2 => vec![Backbone::MobileNetV2],
        Arch::Efficientnetb0 => vec![Backbone::EfficientNetB0],
        Arch::EfficientnetLite0 => vec![Backbone::EfficientNetLite0],
        Arch::SeedEnsemble => vec![Backbone::MobileNetV2, Backbone::EfficientNetLite0],
        Arch::SeedEnsembleB0 => vec![Backbone::MobileNetV2, Backbone::EfficientNetB0],
    }
}

/// The files in [`default_dir`] that `arch` loads; an error naming the weights script when one
/// is missing.
pub fn default_files(arch: crate::nets::Arch) -> Result<Vec<std::path::PathBuf>, ImagenetError> {
    let dir = default_dir();
    backbones_of(arch)
        .into_iter()
        .map(|b| {
            let p = dir.join(b.file_name());
            if p.is_file() {
                Ok(p)
            } else {
                Err(ImagenetError::Missing {
                    path: p.display().to_string(),
                    file: b.file_name().into(),
                })
            }
        })
        .collect()
}

/// Rename timm keys to this crate's module paths; `None` drops the key.
fn rename(key: &str, kind: Backbone) -> Option<String> {
    if key.starts_with("classifier.") || key.ends_with("num_batches_tracked") {
        return None;
    }
    // timm's first block (expansion 1) is a depthwise-separable conv named
    // conv_dw, bn1, [se], conv_pw, bn2; ours names them like the other blocks.
    if let Some(rest) = key.strip_prefix("blocks.0.0.") {
        let (layer, param) = rest.split_once('.')?;
        let layer = match layer {
            "bn1" => "bn2",
            "conv_pw" => "conv_pwl",
            "bn2" => "bn3",
            other => other,
        };
        return Some(format!("blocks.0.0.{layer}.{param}"));
    }
    let _ = kind;
    Some(key.to_string())
}

/// The bytes of a safetensors file.
fn read_bytes(path: &Path) -> Result<Vec<u8>, ImagenetError> {
    std::fs::read(path).map_err(|source| ImagenetError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Parses timm-named safetensors `bytes` (read from `path`) and tells their backbone.
fn parse_timm<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<(SafeTensors<'a>, Backbone), ImagenetError> {
    let name = path.display().to_string();
    let st = SafeTensors::deserialize(bytes).map_err(|e| ImagenetError::Format {
        path: name.clone(),
        msg: e.to_string(),
    })?;
    let names = st.names();
    if !names.contains(&"conv_stem.weight") {
        return Err(ImagenetError::Unknown { path: name });
    }
    let dw5 = st
        .tensor("blocks.2.0.conv_dw.weight")
        .map(|t| t.shape().last() == Some(&5))
        .unwrap_or(false);
    let kind = if names.iter().any(|n| n.contains(".se.")) {
        Backbone::EfficientNetB0
    } else if dw5 {
        Backbone::EfficientNetLite0
    } else {
        Backbone::MobileNetV2
    };
    Ok((st, kind))
}

/// Read a timm safetensors file, tell its backbone, and return it re-encoded with this crate's
/// names.
pub fn read_timm(path: &Path) -> Result<(Backbone, Vec<u8>), ImagenetError> {
    let name = path.display().to_string();
    let bytes = read_bytes(path)?;
    let (st, kind) = parse_timm(&bytes, path)?;
    let mut out: Vec<(String, TensorView)> = Vec::new();
    for (k, v) in st.tensors() {
        if let Some(nk) = rename(&k, kind) {
            out.push((nk, v));
        }
    }
    let data = safetensors::serialize(out, None).map_err(|e| ImagenetError::Format {
        path: name,
        msg: e.to_string(),
    })?;
    Ok((kind, data))
}

fn apply<M: ModuleSnapshot>(
    module: &mut M,
    bytes: Vec<u8>,
    path: &Path,
) -> Result<usize, ImagenetError> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(PyTorchToBurnAdapter)
        .allow_partial(false)
        .validate(true);
    let r = module
        .load_from(&mut store)
        .map_err(|e| ImagenetError::Apply {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
    if !r.errors.is_empty() || !r.missing.is_empty() {
        return Err(ImagenetError::Apply {
            path: path.display().to_string(),
            msg: format!(
                "{} tensors missing (first: {:?}), {} errors (first: {:?})",
                r.missing.len(),
                r.missing.first().map(|m| &m.0),
                r.errors.len(),
                r.errors.first().map(|e| e.to_string())
            ),
        });
    }
    Ok(r.applied.len())
}

/// Load ImageNet backbones from `files` into `net` (each file goes to the branch it fits) and, with
/// `freeze`, freeze the loaded backbones ([`Module::freeze`]: no gradients, BatchNorm in inference
/// mode, as Keras' `trainable = False`). Returns the number of tensors loaded.
pub fn init_imagenet(
    net: Net,
    files: &[impl AsRef<Path>],
    freeze: bool,
) -> Result<(Net, usize), ImagenetError> {
    let mut net = net;
    let mut total = 0;
    for f in files {
        let path = f.as_ref();
        let (kind, bytes) = read_timm(path)?;
        let arch = net.arch().to_string();
        let wrong = |want| ImagenetError::WrongArch {
            arch: arch.clone(),
            want,
            path: path.display().to_string(),
        };
        // Load into one backbone (consumed and returned, as `no_grad` consumes it).
        let load = |mut b: ImagenetBackbone| -> Result<ImagenetBackbone, ImagenetError> {
            total += apply(&mut b, bytes, path)?;
            Ok(if freeze { b.freeze() } else { b })
        };
        net = match (net, kind) {
            (Net::Mobilenetv2(mut m), Backbone::MobileNetV2) => {
                m.backbone = load(m.backbone)?;
                Net::Mobilenetv2(m)
            }
            (Net::Efficientnetb0(mut m), Backbone::EfficientNetB0) => {
                m.backbone = load(m.backbone)?;
                Net::Efficientnetb0(m)
            }
            (Net::EfficientnetLite0(mut m), Backbone::EfficientNetLite0) => {
                m.backbone = load(m.backbone)?;
                Net::EfficientnetLite0(m)
            }
            (Net::SeedEnsemble(mut e), Backbone::MobileNetV2) => {
                e.mobilenet.backbone = load(e.mobilenet.backbone)?;
                Net::SeedEnsemble(e)
            }
            (Net::SeedEnsemble(mut e), Backbone::EfficientNetB0)
                if e.efficient_branch() == EfficientBranch::B0 =>
            {
                e.efficientnet.backbone = load(e.efficientnet.backbone)?;
                Net::SeedEnsemble(e)
            }
            (Net::SeedEnsemble(mut e), Backbone::EfficientNetLite0)
                if e.efficient_branch() == EfficientBranch::Lite0 =>
            {
                e.efficientnet.backbone = load(e.efficientnet.backbone)?;
                Net::SeedEnsemble(e)
            }
            (_, Backbone::MobileNetV2) => return Err(wrong("MobileNetV2")),
            (_, Backbone::EfficientNetB0) => return Err(wrong("EfficientNetB0")),
            (_, Backbone::EfficientNetLite0) => return Err(wrong("EfficientNet-Lite0")),
        };
    }
    Ok((net, total))
}

/// A backbone with its 1000-class ImageNet classifier, loaded whole from a timm-named file:
/// for checking a converted file on real photos (`crates/model/tests/imagenet.rs`).
#[derive(Module, Debug)]
pub struct ImagenetNet {
    pub backbone: ImagenetBackbone,
    pub head: burn::nn::Linear,
}

impl ImagenetNet {
    /// Class probabilities `[B,1000]` for RGB in 0–1 `[B,3,H,W]` (H, W multiples of 32).
    pub fn forward(&self, rgb01: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2> {
        burn::tensor::activation::softmax(self.head.forward(self.backbone.forward(rgb01)), 1)
    }
}

/// Load `path` (backbone and classifier) into `backbone`, a freshly built backbone of the file's
/// kind (pass a variant to compare padding or normalisation rules).
pub fn load_imagenet_net(
    path: &Path,
    backbone: ImagenetBackbone,
    device: &burn::tensor::Device,
) -> Result<ImagenetNet, ImagenetError> {
    let name = path.display().to_string();
    // read and parsed once (not again through read_timm)
    let bytes = read_bytes(path)?;
    let (st, kind) = parse_timm(&bytes, path)?;
    let mut out: Vec<(String, TensorView)> = Vec::new();
    for (k, v) in st.tensors() {
        if let Some(rest) = k.strip_prefix("classifier.") {
            out.push((format!("head.{rest}"), v));
        } else if let Some(nk) = rename(&k, kind) {
            out.push((format!("backbone.{nk}"), v));
        }
    }
    let data = safetensors::serialize(out, None).map_err(|e| ImagenetError::Format {
        path: name,
        msg: e.to_string(),
    })?;
    let mut net = ImagenetNet {
        backbone,
        head: burn::nn::LinearConfig::new(ImagenetBackbone::FEATURES, 1000).init(device),
    };
    apply(&mut net, data, path)?;
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::Arch;
    use burn::module::ModuleVisitor;
    use burn::tensor::{Device, Tensor};
    use safetensors::Dtype;

    /// Write a timm-named safetensors file for a freshly built backbone whose tensors all hold
    /// `value` (PyTorch layout: BN weight/bias, conv OIHW), exactly as timm would save it.
    fn write_timm_like(kind: Backbone, value: f32, path: &Path) -> usize {
        struct Collect(Vec<(String, Vec<usize>)>, Vec<String>);
        impl ModuleVisitor for Collect {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.1.push(name.to_string());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.1.pop();
            }
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                self.0.push((self.1.join("."), p.val().dims().to_vec()));
            }
        }
        let dev = Device::flex();
        let mut c = Collect(Vec::new(), Vec::new());
        kind.build(&dev).visit(&mut c);
        // ours → timm names
        let to_timm = |k: &str| -> String {
            let k = k.replace(".gamma", ".weight").replace(".beta", ".bias");
            if let Some(rest) = k.strip_prefix("blocks.0.0.") {
                let (layer, param) = rest.split_once('.').unwrap();
                let layer = match layer {
                    "bn2" => "bn1",
                    "conv_pwl" => "conv_pw",
                    "bn3" => "bn2",
                    o => o,
                };
                return format!("blocks.0.0.{layer}.{param}");
            }
            k
        };
        let bufs: Vec<(String, Vec<usize>, Vec<u8>)> =
            c.0.iter()
                .map(|(k, shape)| {
                    let n: usize = shape.iter().product();
                    let data: Vec<u8> = std::iter::repeat_n(value.to_le_bytes(), n)
                        .flatten()
                        .collect();
                    (to_timm(k), shape.clone(), data)
                })
                .collect();
        let mut views: Vec<(String, TensorView)> = bufs
            .iter()
            .map(|(k, s, d)| {
                (
                    k.clone(),
                    TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
                )
            })
            .collect();
        // extras timm files carry and the loader must ignore
        let head = vec![0u8; 4 * 1000 * 1280];
        views.push((
            "classifier.weight".into(),
            TensorView::new(Dtype::F32, vec![1000, 1280], &head).unwrap(),
        ));
        let nbt = 0i64.to_le_bytes();
        views.push((
            "bn1.num_batches_tracked".into(),
            TensorView::new(Dtype::I64, vec![], &nbt).unwrap(),
        ));
        let n = bufs.len();
        std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
        n
    }

    fn all_params_equal(net: &Net, value: f32, prefix: &str) -> usize {
        struct Check(f32, String, usize, Vec<String>);
        impl ModuleVisitor for Check {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.3.push(name.to_string());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.3.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                let p = self.3.join(".");
                let t = param.val();
                if p.contains(&self.1) && p.contains("backbone") {
                    let v: Vec<f32> = t.clone().into_data().try_to_vec().unwrap();
                    assert!(
                        v.iter().all(|x| (*x - self.0).abs() < 1e-6),
                        "{p} not loaded"
                    );
                    self.2 += 1;
                }
            }
        }
        let mut c = Check(value, prefix.to_string(), 0, Vec::new());
        net.visit(&mut c);
        c.2
    }

    #[test]
    fn loads_timm_named_backbones_into_each_arch() {
        let dir = tempfile::tempdir().unwrap();
        let mb = dir.path().join("mobilenetv2_100.safetensors");
        let ef = dir.path().join("efficientnet_b0.safetensors");
        let n_mb = write_timm_like(Backbone::MobileNetV2, 0.25, &mb);
        let n_ef = write_timm_like(Backbone::EfficientNetB0, 0.5, &ef);
        let dev = Device::flex();

        let (net, n) = init_imagenet(Net::new(Arch::Mobilenetv2, &dev), &[&mb], true).unwrap();
        assert_eq!(n, n_mb);
        assert!(all_params_equal(&net, 0.25, "") > 100);

        let (net, n) =
            init_imagenet(Net::new(Arch::SeedEnsembleB0, &dev), &[&mb, &ef], true).unwrap();
        assert_eq!(n, n_mb + n_ef);
        assert!(all_params_equal(&net, 0.25, "mobilenet") > 100);
        assert!(all_params_equal(&net, 0.5, "efficientnet") > 100);
        // still computes
        assert_eq!(
            net.forward(Tensor::<4>::zeros([1, 1, 48, 48], &dev)).dims(),
            [1, 7]
        );

        // EfficientNet-Lite0 (no squeeze-excite, 5x5 kernels): told apart from MobileNetV2 and B0
        let l0 = dir.path().join("efficientnet_lite0.safetensors");
        let n_l0 = write_timm_like(Backbone::EfficientNetLite0, 0.75, &l0);
        assert_eq!(read_timm(&l0).unwrap().0, Backbone::EfficientNetLite0);
        assert_eq!(read_timm(&mb).unwrap().0, Backbone::MobileNetV2);
        assert_eq!(read_timm(&ef).unwrap().0, Backbone::EfficientNetB0);
        let (net, n) =
            init_imagenet(Net::new(Arch::SeedEnsemble, &dev), &[&mb, &l0], true).unwrap();
        assert_eq!(n, n_mb + n_l0);
        assert!(all_params_equal(&net, 0.75, "efficientnet") > 100);
        // B0 weights do not fit the Lite0 branch, nor Lite0 weights the B0 one
        assert!(init_imagenet(Net::new(Arch::SeedEnsemble, &dev), &[&ef], true).is_err());
        assert!(init_imagenet(Net::new(Arch::SeedEnsembleB0, &dev), &[&l0], true).is_err());

        // an EfficientNet file does not fit MobileNetV2; the compact net has no backbone
        assert!(matches!(
            init_imagenet(Net::new(Arch::Mobilenetv2, &dev), &[&ef], false),
            Err(ImagenetError::WrongArch { .. })
        ));
        assert!(init_imagenet(Net::new(Arch::Compact, &dev), &[&mb], false).is_err());
    }

    #[test]
    fn bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.safetensors");
        std::fs::write(&p, b"garbage").unwrap();
        assert!(matches!(read_timm(&p), Err(ImagenetError::Format { .. })));
        assert!(matches!(
            read_timm(&dir.path().join("none")),
            Err(ImagenetError::Io { .. })
        ));
        let d = [0u8; 4];
        let v = vec![(
            "other.weight".to_string(),
            TensorView::new(Dtype::F32, vec![1], &d).unwrap(),
        )];
        std::fs::write(&p, safetensors::serialize(v, None).unwrap()).unwrap();
        assert!(matches!(read_timm(&p), Err(ImagenetError::Unknown { .. })));
    }
}
