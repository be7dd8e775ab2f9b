//! Checkpoints on disk. A run directory holds `checkpoint/` (weights `model.bpk`, Adam state
//! `optim.bpk`, progress `state.json`) and `best.bpk` (the best weights so far).
//!
//! Writes are atomic: a checkpoint is written and fsynced into `checkpoint.tmp/`, the previous one
//! is renamed to `checkpoint.old/`, the new one renamed into place, then the old one removed. A kill
//! at any moment leaves either `checkpoint/` or `checkpoint.old/` complete, and [`find`] picks it.
//! Single files (`best.bpk`) are written to a temporary name and renamed.

use crate::nets::{Arch, Net};
use crate::train::TrainState;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: cannot read or apply weights: {msg}")]
    Record { path: String, msg: String },
    #[error("{path}: bad state file: {msg}")]
    State { path: String, msg: String },
    #[error(transparent)]
    Imagenet(#[from] crate::imagenet::ImagenetError),
}

/// Which parameters a weights file holds: all of them, or, for runs on frozen ImageNet backbones,
/// only the trained ones (paths matching the regex: the heads and any unfrozen stages); the frozen
/// backbones then come back from the ImageNet files (`scripts/imagenet-weights.sh`), which keeps
/// such files small enough to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parts {
    All,
    Trained(String),
}

impl Parts {
    /// The trained parts of a run on frozen backbones: the heads, plus stages `k..`, the head conv
    /// and its BatchNorm of each backbone with `unfreeze_from = Some(k)`.
    pub fn trained(unfreeze_from: Option<usize>) -> Parts {
        let heads = r"(^|\.)head\.";
        Parts::Trained(match unfreeze_from {
            None => heads.to_string(),
            Some(k) => format!(
                r"{heads}|backbone\.(blocks\.([{}-9]|[1-9][0-9])\.|conv_head\.|bn2\.)",
                k.min(9)
            ),
        })
    }
}

/// Write `model`'s `parts` to the burnpack file `path`.
fn save_parts(model: &Net, path: &Path, parts: &Parts) -> Result<(), CheckpointError> {
    match parts {
        Parts::All => model.clone().save_file(path).map_err(|e| rec_err(path, e)),
        Parts::Trained(re) => {
            use burn::store::{BurnpackStore, ModuleSnapshot};
            let mut store = BurnpackStore::from_file(path)
                .with_regex(re)
                .overwrite(true)
                .auto_extension(false);
            model.save_into(&mut store).map_err(|e| rec_err(path, e))
        }
    }
}

/// Apply the burnpack file `path` holding `parts` to `net`.
pub fn load_parts_into(net: Net, path: &Path, parts: &Parts) -> Result<Net, CheckpointError> {
    match parts {
        Parts::All => net.try_load_file(path).map_err(|e| rec_err(path, e)),
        Parts::Trained(_) => {
            use burn::store::{BurnpackStore, ModuleSnapshot};
            if !path.is_file() {
                return Err(io_err(path)(std::io::Error::from(
                    std::io::ErrorKind::NotFound,
                )));
            }
            let mut net = net;
            let mut store = BurnpackStore::from_file(path)
                .allow_partial(true)
                .auto_extension(false);
            let r = net.load_from(&mut store).map_err(|e| rec_err(path, e))?;
            if !r.errors.is_empty() || r.applied.is_empty() || !r.unused.is_empty() {
                return Err(rec_err(
                    path,
                    format!(
                        "{} tensors applied, {} unused (first {:?}), {} errors (first {:?})",
                        r.applied.len(),
                        r.unused.len(),
                        r.unused.first(),
                        r.errors.len(),
                        r.errors.first().map(|e| e.to_string())
                    ),
                ));
            }
            Ok(net)
        }
    }
}

/// A fresh `arch` with its backbones loaded from ImageNet `files` (each path that no longer exists
/// is looked up by name in [`crate::imagenet::default_dir`], so runs move between machines).
pub fn imagenet_base(
    arch: Arch,
    files: &[PathBuf],
    device: &Device,
) -> Result<Net, CheckpointError> {
    let dir = crate::imagenet::default_dir();
    let files: Vec<PathBuf> = if files.is_empty() {
        crate::imagenet::default_files(arch)?
    } else {
        files
            .iter()
            .map(|f| match f.file_name() {
                Some(n) if !f.is_file() && dir.join(n).is_file() => dir.join(n),
                _ => f.clone(),
            })
            .collect()
    };
    Ok(crate::imagenet::init_imagenet(Net::new(arch, device), &files, false)?.0)
}

/// Load the weights file `path` described by `card` (a trained-parts file is applied over the
/// ImageNet backbones from [`crate::imagenet::default_dir`]).
pub fn load_with_card(
    path: &Path,
    card: &crate::classifier::ModelCard,
    device: &Device,
) -> Result<Net, CheckpointError> {
    if card.imagenet_backbones {
        let base = imagenet_base(card.arch, &[], device)?;
        load_parts_into(base, path, &Parts::trained(card.unfrozen_from))
    } else {
        load_weights(path, card.arch, device)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.display().to_string();
    move |source| CheckpointError::Io { path, source }
}

fn rec_err(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Record {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

fn fsync(path: &Path) -> Result<(), CheckpointError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(path))
}

/// A loaded checkpoint.
pub struct Checkpoint {
    pub model: Net,
    pub optim: ModuleOptimizer,
    pub state: TrainState,
}

/// A checkpoint directory found on disk, not yet loaded.
#[derive(Debug, Clone)]
pub struct Found(pub PathBuf);

impl Found {
    /// The run's progress and stored options (`state.json`), without loading any weights.
    pub fn state(&self) -> Result<TrainState, CheckpointError> {
        let sp = self.0.join("state.json");
        let text = std::fs::read_to_string(&sp).map_err(io_err(&sp))?;
        serde_json::from_str(&text).map_err(|e| CheckpointError::State {
            path: sp.display().to_string(),
            msg: e.to_string(),
        })
    }

    /// Replace the progress and stored options (`state.json`) atomically, weights untouched (a
    /// run's epoch count changed on `--resume`).
    pub fn save_state(&self, state: &TrainState) -> Result<(), CheckpointError> {
        let sp = self.0.join("state.json");
        let tmp = self.0.join("state.json.tmp");
        write_state(&tmp, state)?;
        std::fs::rename(&tmp, &sp).map_err(io_err(&sp))?;
        fsync(&self.0)
    }

    /// Load weights, optimizer state and progress onto `device` (an autodiff device to train on).
    pub fn load(&self, device: &Device) -> Result<Checkpoint, CheckpointError> {
        let state = self.state()?;
        let mp = self.0.join("model.bpk");
        let parts = state.config.saved_parts();
        let base = match parts {
            Parts::All => Net::new(state.config.arch, device),
            Parts::Trained(_) => imagenet_base(state.config.arch, &state.config.imagenet, device)?,
        };
        let model = load_parts_into(base, &mp, &parts)?;
        let op = self.0.join("optim.bpk");
        let optim = burn::optim::AdamConfig::new()
            .init()
            .load(&op)
            .map_err(|e| rec_err(&op, e))?;
        Ok(Checkpoint {
            model,
            optim,
            state,
        })
    }
}

/// The complete checkpoint in `run_dir`, if any (`checkpoint/`, else `checkpoint.old/`).
pub fn find(run_dir: &Path) -> Option<Found> {
    ["checkpoint", "checkpoint.old"]
        .iter()
        .map(|d| run_dir.join(d))
        .find(|d| {
            d.join("state.json").is_file()
                && d.join("model.bpk").is_file()
                && d.join("optim.bpk").is_file()
        })
        .map(Found)
}

/// Write `state` to `path` as pretty JSON and fsync it.
fn write_state(path: &Path, state: &TrainState) -> Result<(), CheckpointError> {
    let json = serde_json::to_string_pretty(state).map_err(|e| CheckpointError::State {
        path: path.display().to_string(),
        msg: e.to_string(),
    })?;
    std::fs::write(path, json).map_err(io_err(path))?;
    fsync(path)
}

/// Write a checkpoint atomically (see the module docs).
pub fn save(
    run_dir: &Path,
    model: &Net,
    optim: &ModuleOptimizer,
    state: &TrainState,
) -> Result<(), CheckpointError> {
    let tmp = run_dir.join("checkpoint.tmp");
    let cur = run_dir.join("checkpoint");
    let old = run_dir.join("checkpoint.old");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let mp = tmp.join("model.bpk");
    save_parts(model, &mp, &state.config.saved_parts())?;
    let op = tmp.join("optim.bpk");
    optim.save(&op).map_err(|e| rec_err(&op, e))?;
    write_state(&tmp.join("state.json"), state)?;
    for f in [&mp, &op] {
        fsync(f)?;
    }
    fsync(&tmp)?;
    if cur.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
        }
        std::fs::rename(&cur, &old).map_err(io_err(&cur))?;
    }
    std::fs::rename(&tmp, &cur).map_err(io_err(&tmp))?;
    fsync(run_dir)?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(())
}

/// Save `parts` of the weights to `path` atomically (temporary file, fsync, rename).
pub fn save_weights_atomic(model: &Net, path: &Path, parts: &Parts) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("bpk.tmp");
    save_parts(model, &tmp, parts)?;
    fsync(&tmp)?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsync(dir)?;
    }
    Ok(())
}

/// Load weights of `arch` from a burnpack file. A file of another architecture is named as such
/// ("holds compact weights, not mobilenetv2") instead of listing every missing tensor.
pub fn load_weights(path: &Path, arch: Arch, device: &Device) -> Result<Net, CheckpointError> {
    Net::new(arch, device).try_load_file(path).map_err(|e| {
        let other = Arch::ALL
            .into_iter()
            .filter(|a| *a != arch)
            .find(|a| Net::new(*a, device).try_load_file(path).is_ok());
        match other {
            Some(a) => rec_err(
                path,
                format!("the file holds {a} weights, not {arch} (use --arch {a}, or keep the .json model card beside it)"),
            ),
            None => {
                let msg = e.to_string();
                let short: String = msg.chars().take(300).collect();
                rec_err(
                    path,
                    if short.len() < msg.len() {
                        format!("{short}… (not a {arch} weights file of this version?)")
                    } else {
                        short
                    },
                )
            }
        }
    })
}

/// Load weights of `arch` from burnpack bytes (e.g. embedded in the binary).
pub fn load_weights_bytes(
    bytes: &[u8],
    arch: Arch,
    device: &Device,
) -> Result<Net, CheckpointError> {
    let p = Path::new("<embedded weights>");
    let rec = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| rec_err(p, e))?;
    Net::new(arch, device)
        .try_load_record(rec)
        .map_err(|e| rec_err(p, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;

    /// Sum of every parameter whose path contains `part`.
    fn sum_of(net: &Net, part: &str) -> f64 {
        struct V<'a>(&'a str, Vec<String>, f64);
        impl ModuleVisitor for V<'_> {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.1.push(name.to_string());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.1.pop();
            }
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                if self.1.join(".").contains(self.0) {
                    let v: Vec<f32> = p
                        .val()
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .unwrap();
                    self.2 += v.iter().map(|x| *x as f64).sum::<f64>();
                }
            }
        }
        let mut v = V(part, Vec::new(), 0.0);
        net.visit(&mut v);
        v.2
    }

    #[test]
    fn trained_parts_files_hold_the_heads_and_unfrozen_stages_only() {
        let dev = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        dev.seed(1);
        let trained = Net::new(Arch::SeedEnsemble, &dev);
        dev.seed(2);
        let base = Net::new(Arch::SeedEnsemble, &dev);

        let heads = dir.path().join("heads.bpk");
        save_parts(&trained, &heads, &Parts::trained(None)).unwrap();
        let all = dir.path().join("all.bpk");
        save_parts(&trained, &all, &Parts::All).unwrap();
        let small = std::fs::metadata(&heads).unwrap().len();
        assert!(small < 200_000, "heads only: {small} bytes");
        assert!(std::fs::metadata(&all).unwrap().len() > 20 * small);

        let got = load_parts_into(base.clone(), &heads, &Parts::trained(None)).unwrap();
        for p in ["mobilenet.head", "efficientnet.head"] {
            assert_eq!(sum_of(&got, p), sum_of(&trained, p), "{p}");
        }
        for p in ["mobilenet.backbone", "efficientnet.backbone"] {
            assert_eq!(sum_of(&got, p), sum_of(&base, p), "{p}");
        }

        // with stages 5.. unfrozen, those come from the file too
        let tuned = dir.path().join("tuned.bpk");
        save_parts(&trained, &tuned, &Parts::trained(Some(5))).unwrap();
        let got = load_parts_into(base.clone(), &tuned, &Parts::trained(Some(5))).unwrap();
        for p in [
            "mobilenet.backbone.blocks.5",
            "mobilenet.backbone.blocks.6",
            "efficientnet.backbone.conv_head",
            "mobilenet.head",
        ] {
            assert_eq!(sum_of(&got, p), sum_of(&trained, p), "{p}");
        }
        for p in [
            "mobilenet.backbone.blocks.4",
            "efficientnet.backbone.conv_stem",
        ] {
            assert_eq!(sum_of(&got, p), sum_of(&base, p), "{p}");
        }

        // a file of another network is refused, not half-applied
        let compact = dir.path().join("compact.bpk");
        save_parts(&Net::new(Arch::Compact, &dev), &compact, &Parts::All).unwrap();
        assert!(load_parts_into(base, &compact, &Parts::trained(None)).is_err());
    }
}
