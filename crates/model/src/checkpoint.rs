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
    /// Load weights, optimizer state and progress onto `device` (an autodiff device to train on).
    pub fn load(&self, device: &Device) -> Result<Checkpoint, CheckpointError> {
        let sp = self.0.join("state.json");
        let text = std::fs::read_to_string(&sp).map_err(io_err(&sp))?;
        let state: TrainState =
            serde_json::from_str(&text).map_err(|e| CheckpointError::State {
                path: sp.display().to_string(),
                msg: e.to_string(),
            })?;
        let mp = self.0.join("model.bpk");
        let model = Net::new(state.config.arch, device)
            .try_load_file(&mp)
            .map_err(|e| rec_err(&mp, e))?;
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
    model.clone().save_file(&mp).map_err(|e| rec_err(&mp, e))?;
    let op = tmp.join("optim.bpk");
    optim.save(&op).map_err(|e| rec_err(&op, e))?;
    let sp = tmp.join("state.json");
    let json = serde_json::to_string_pretty(state).map_err(|e| CheckpointError::State {
        path: sp.display().to_string(),
        msg: e.to_string(),
    })?;
    std::fs::write(&sp, json).map_err(io_err(&sp))?;
    for f in [&mp, &op, &sp] {
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

/// Save weights to `path` atomically (temporary file, fsync, rename).
pub fn save_weights_atomic(model: &Net, path: &Path) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("bpk.tmp");
    model
        .clone()
        .save_file(&tmp)
        .map_err(|e| rec_err(&tmp, e))?;
    fsync(&tmp)?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsync(dir)?;
    }
    Ok(())
}

/// Load weights of `arch` from a burnpack file.
pub fn load_weights(path: &Path, arch: Arch, device: &Device) -> Result<Net, CheckpointError> {
    Net::new(arch, device)
        .try_load_file(path)
        .map_err(|e| rec_err(path, e))
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
