//! Inference engines behind [`crate::Classifier`]. Training and evaluation always run on burn; the
//! classifier can run the same network, exported to ONNX by [`crate::onnx`], on a faster engine:
//!
//! - `burn`: burn's Flex CPU backend (always available);
//! - `ort`: ONNX Runtime through the `ort` crate, loading `libonnxruntime.so` at run time (see
//!   [`find_ort_library`]; `scripts/onnxruntime.sh` installs it from PyPI's `onnxruntime` wheel);
//! - `opencv`: OpenCV's DNN module (implemented in `moodlens-vision`, which links OpenCV, through
//!   the [`OnnxRunner`] trait; this crate must not depend on OpenCV);
//! - `auto` (the default): ONNX Runtime when its library loads, else burn (one info line says why).
//!
//! Every engine gets the same raw-pixel batch (the mirrors of flip TTA in it) and returns the
//! network's logits; the calibration temperature, softmax and the TTA average are computed by the
//! classifier, the same for all engines.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable naming the ONNX Runtime library file.
pub const ORT_LIB_ENV: &str = "MOODLENS_ORT_LIB";
/// Environment variable with the number of ONNX Runtime intra-op threads (default:
/// `RAYON_NUM_THREADS`, else the number of CPUs).
pub const ORT_THREADS_ENV: &str = "MOODLENS_ORT_THREADS";
/// Environment variable: `1` lets ONNX Runtime's intra-op threads spin between operators, `0`
/// makes them sleep (see [`ort_spinning`] for the default).
pub const ORT_SPIN_ENV: &str = "MOODLENS_ORT_SPIN";
/// File name of the ONNX Runtime library looked for in the cache folder and beside the executable.
pub const ORT_LIB_NAME: &str = "libonnxruntime.so";

/// Which engine runs the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// ONNX Runtime when its library loads, else burn.
    #[default]
    Auto,
    Burn,
    Ort,
    Opencv,
}

impl EngineKind {
    pub const ALL: [EngineKind; 4] = [
        EngineKind::Auto,
        EngineKind::Burn,
        EngineKind::Ort,
        EngineKind::Opencv,
    ];
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Auto => "auto",
            EngineKind::Burn => "burn",
            EngineKind::Ort => "ort",
            EngineKind::Opencv => "opencv",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        let s = match s.as_str() {
            "onnxruntime" => "ort",
            "flex" => "burn",
            other => other,
        };
        EngineKind::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown engine '{s}' (expected auto, burn, ort or opencv)"))
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error(
        "the ONNX Runtime library ({ORT_LIB_NAME}) was not found (looked for {searched}); \
         install it with `bash scripts/onnxruntime.sh` (from PyPI's onnxruntime wheel) or set \
         {ORT_LIB_ENV} to its path"
    )]
    OrtLibraryMissing { searched: String },
    #[error("loading the ONNX Runtime library {path}: {reason}")]
    OrtLoad { path: String, reason: String },
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    #[error("{engine}: {reason}")]
    Runner { engine: String, reason: String },
    #[error("{engine} returned {got} values for {n} faces (expected {expected})")]
    BadOutput {
        engine: String,
        n: usize,
        got: usize,
        expected: usize,
    },
}

/// An engine that runs an exported model ([`crate::onnx`]): raw gray pixels `[n,1,48,48]` (0–255
/// as f32) in, logits `[n,7]` out (row-major).
pub trait OnnxRunner: Send + std::fmt::Debug {
    /// Short engine name for reports (`ort`, `opencv`).
    fn name(&self) -> &'static str;
    fn logits(&mut self, pixels: &[f32], n: usize) -> Result<Vec<f32>, EngineError>;
}

/// Where the ONNX Runtime library is looked for, in order: `$MOODLENS_ORT_LIB`,
/// `${XDG_CACHE_HOME:-~/.cache}/moodlens/onnxruntime/libonnxruntime.so` (where
/// `scripts/onnxruntime.sh` puts it), then `libonnxruntime.so` beside the executable.
pub fn ort_library_candidates() -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(p) = std::env::var_os(ORT_LIB_ENV).filter(|p| !p.is_empty()) {
        c.push(PathBuf::from(p));
    }
    c.push(ort_cache_dir().join(ORT_LIB_NAME));
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        c.push(dir.join(ORT_LIB_NAME));
    }
    c
}

/// `${XDG_CACHE_HOME:-~/.cache}/moodlens/onnxruntime`.
pub fn ort_cache_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("moodlens").join("onnxruntime")
}

/// The first existing file of [`ort_library_candidates`]. With `$MOODLENS_ORT_LIB` set, only that
/// path counts (a wrong setting is an error, not a silent fallback).
pub fn find_ort_library() -> Result<PathBuf, EngineError> {
    let candidates = ort_library_candidates();
    let explicit = std::env::var_os(ORT_LIB_ENV).is_some_and(|p| !p.is_empty());
    let search: &[PathBuf] = if explicit {
        &candidates[..1]
    } else {
        &candidates
    };
    search
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| EngineError::OrtLibraryMissing {
            searched: search
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The process-wide ONNX Runtime environment (the library is loaded once).
fn ort_environment() -> Result<&'static ort::environment::Environment, EngineError> {
    static ENV: OnceLock<Result<ort::environment::Environment, EngineError>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = find_ort_library()?;
        let load = |reason: String| EngineError::OrtLoad {
            path: path.display().to_string(),
            reason,
        };
        ort::init_from(&path)
            .map_err(|e| load(e.to_string()))?
            .with_name("moodlens")
            .build()
            .map_err(|e| load(e.to_string()))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Intra-op threads for ONNX Runtime: `$MOODLENS_ORT_THREADS`, else `$RAYON_NUM_THREADS` (the
/// setting burn's Flex backend follows), else the number of CPUs.
pub fn ort_threads() -> usize {
    [ORT_THREADS_ENV, "RAYON_NUM_THREADS"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find_map(|v| v.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// Whether ONNX Runtime's intra-op threads spin between operators: `$MOODLENS_ORT_SPIN` (1 or 0),
/// else SPIN_DEFAULT.
pub fn ort_spinning() -> bool {
    match std::env::var(ORT_SPIN_ENV).ok().as_deref().map(str::trim) {
        Some("1") | Some("true") | Some("yes") => true,
        Some("0") | Some("false") | Some("no") => false,
        _ => SPIN_DEFAULT,
    }
}

const SPIN_DEFAULT: bool = false;

/// An exported model in an ONNX Runtime session.
#[derive(Debug)]
pub struct OrtRunner {
    session: ort::session::Session,
}

impl OrtRunner {
    /// A session for the ONNX model `bytes` (from [`crate::onnx::export`]); loads the library on
    /// first use.
    pub fn new(bytes: &[u8]) -> Result<OrtRunner, EngineError> {
        let env = ort_environment()?;
        let e = |x: String| EngineError::Ort(x);
        let session = ort::session::Session::builder(env)
            .map_err(|x| e(x.to_string()))?
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Level3)
            .map_err(|x| e(x.to_string()))?
            .with_intra_threads(ort_threads())
            .map_err(|x| e(x.to_string()))?
            .with_intra_op_spinning(ort_spinning())
            .map_err(|x| e(x.to_string()))?
            .commit_from_memory(bytes)
            .map_err(|x| e(x.to_string()))?;
        Ok(OrtRunner { session })
    }

    /// Runs the model and returns the named output (`logits` or `probabilities`), row-major.
    pub fn run_output(
        &mut self,
        pixels: &[f32],
        n: usize,
        output: &str,
    ) -> Result<Vec<f32>, EngineError> {
        let e = |x: ort::Error| EngineError::Ort(x.to_string());
        let side = crate::INPUT_SIZE;
        let input =
            ort::value::TensorRef::from_array_view(([n, 1, side, side], pixels)).map_err(e)?;
        let outputs = self
            .session
            .run(ort::inputs![crate::onnx::INPUT_NAME => input])
            .map_err(e)?;
        let value = outputs
            .get(output)
            .ok_or_else(|| EngineError::Ort(format!("the model has no output `{output}`")))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(e)?;
        Ok(data.to_vec())
    }
}

impl OnnxRunner for OrtRunner {
    fn name(&self) -> &'static str {
        "ort"
    }
    fn logits(&mut self, pixels: &[f32], n: usize) -> Result<Vec<f32>, EngineError> {
        self.run_output(pixels, n, crate::onnx::LOGITS_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_round_trip() {
        for e in EngineKind::ALL {
            assert_eq!(e.name().parse::<EngineKind>().unwrap(), e);
        }
        assert_eq!(
            "onnxruntime".parse::<EngineKind>().unwrap(),
            EngineKind::Ort
        );
        assert!("tensorrt"
            .parse::<EngineKind>()
            .unwrap_err()
            .contains("burn"));
    }

    #[test]
    fn library_search_order_puts_the_cache_before_the_executable_folder() {
        let c = ort_library_candidates();
        let cache = c
            .iter()
            .position(|p| p.ends_with("moodlens/onnxruntime/libonnxruntime.so"))
            .unwrap();
        assert!(cache + 1 < c.len());
        assert!(c.last().unwrap().ends_with(ORT_LIB_NAME));
    }
}
