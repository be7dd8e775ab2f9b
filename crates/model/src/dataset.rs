//! One entry point for FER-2013 in either layout: a Kaggle CSV file (gzip or plain), a per-class
//! folder tree, or a directory holding either. Also the class statistics training needs.

use crate::fer_csv::{self, Sample, Split};
use crate::folders;
use crate::{Emotion, NUM_EMOTIONS};
use std::path::{Path, PathBuf};

/// Fraction of bad rows/files tolerated before a load fails.
pub const DEFAULT_MAX_BAD_FRACTION: f64 = 0.01;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Csv(#[from] fer_csv::CsvError),
    #[error(transparent)]
    Folders(#[from] folders::FolderError),
    #[error("{0}: not a FER-2013 CSV (.csv/.csv.gz) nor a folder with train/<class>/ or test/<class>/ (nor one holding fer2013.csv[.gz])")]
    Unknown(String),
    #[error("{0}: no such file or directory")]
    Missing(String),
}

/// All samples of a data source, with what was skipped.
#[derive(Debug, Default)]
pub struct FerData {
    pub samples: Vec<Sample>,
    /// Human-readable description of each skipped row/file (line number or path, and reason).
    pub skipped: Vec<String>,
    pub source: String,
}

impl FerData {
    /// Samples of one split.
    pub fn split(&self, split: Split) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.split == split).collect()
    }
    pub fn count(&self, split: Split) -> usize {
        self.samples.iter().filter(|s| s.split == split).count()
    }
}

/// Resolve what `path` is and load it. `limit` caps the samples per (split, class), for quick runs.
pub fn load(
    path: &Path,
    max_bad_fraction: f64,
    limit: Option<usize>,
) -> Result<FerData, DataError> {
    let name = path.display().to_string();
    if !path.exists() {
        return Err(DataError::Missing(name));
    }
    let mut data = if path.is_dir() {
        if folders::is_folder_layout(path) {
            load_folder_data(path, max_bad_fraction, limit)?
        } else if let Some(csv) = ["fer2013.csv.gz", "fer2013.csv"]
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file())
        {
            load_csv_data(&csv, max_bad_fraction)?
        } else {
            return Err(DataError::Unknown(name));
        }
    } else {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".csv.gz") || lower.ends_with(".gz") {
            load_csv_data(path, max_bad_fraction)?
        } else {
            return Err(DataError::Unknown(name));
        }
    };
    if let Some(l) = limit {
        let mut seen = [[0usize; NUM_EMOTIONS]; 3];
        data.samples.retain(|s| {
            let c = &mut seen[s.split as usize][s.label.index()];
            *c += 1;
            *c <= l
        });
    }
    Ok(data)
}

fn load_csv_data(path: &Path, frac: f64) -> Result<FerData, DataError> {
    let l = fer_csv::load_csv(path, frac)?;
    Ok(FerData {
        samples: l.samples,
        skipped: l
            .bad
            .iter()
            .map(|b| format!("{}:{}: {}", path.display(), b.line, b.reason))
            .collect(),
        source: path.display().to_string(),
    })
}

fn load_folder_data(path: &Path, frac: f64, limit: Option<usize>) -> Result<FerData, DataError> {
    let l = folders::load_folders(path, frac, limit)?;
    Ok(FerData {
        samples: l.samples,
        skipped: l
            .bad
            .iter()
            .map(|b| format!("{}: {}", b.path.display(), b.reason))
            .collect(),
        source: path.display().to_string(),
    })
}

/// The default FER-2013 location: `$MOODLENS_FER_DATA` or `../shared/data/fer2013` from the
/// workspace root.
pub fn default_fer_dir() -> PathBuf {
    if let Ok(p) = std::env::var("MOODLENS_FER_DATA") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fer2013")
}

/// Samples per class.
pub fn class_counts<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> [usize; NUM_EMOTIONS] {
    let mut c = [0; NUM_EMOTIONS];
    for s in samples {
        c[s.label.index()] += 1;
    }
    c
}

/// scikit-learn's "balanced" class weights: `n_samples / (n_classes * count_c)` over the classes
/// present (absent classes get 1: they never occur in the loss, and the loss needs positive weights).
/// Counts may be fractional: with soft targets (FER+ votes) a class's count is its summed target
/// mass.
pub fn balanced_class_weights(counts: &[f64; NUM_EMOTIONS]) -> [f32; NUM_EMOTIONS] {
    let n: f64 = counts.iter().sum();
    let present = counts.iter().filter(|&&c| c > 0.0).count().max(1);
    let mut w = [1f32; NUM_EMOTIONS];
    for (i, &c) in counts.iter().enumerate() {
        if c > 0.0 {
            w[i] = (n / (present as f64 * c)) as f32;
        }
    }
    w
}

/// Label names in model order, for reports.
pub fn labels() -> Vec<&'static str> {
    Emotion::ALL.iter().map(|e| e.label()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_match_sklearn() {
        // sklearn: n/(k*c) with n=100, k=2 classes present
        let mut counts = [0f64; NUM_EMOTIONS];
        counts[0] = 75.0;
        counts[3] = 25.0;
        let w = balanced_class_weights(&counts);
        assert!((w[0] - 100.0 / 150.0).abs() < 1e-6);
        assert!((w[3] - 2.0).abs() < 1e-6);
        assert_eq!(w[1], 1.0);
        // weighted counts are equal across present classes
        assert!((w[0] * 75.0 - w[3] * 25.0).abs() < 1e-4);
    }

    #[test]
    fn balanced_weights_on_fer_training_counts() {
        // counts from the data README (Training split)
        let counts = [3995, 436, 4097, 7215, 4830, 3171, 4965].map(|c| c as f64);
        let w = balanced_class_weights(&counts);
        let expect_disgust = 28709.0 / (7.0 * 436.0);
        assert!((w[1] - expect_disgust).abs() < 1e-3);
        assert!(w[3] < 1.0 && w[1] > 9.0);
    }

    #[test]
    fn unknown_and_missing_paths_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(&dir.path().join("nope"), 0.01, None),
            Err(DataError::Missing(_))
        ));
        assert!(matches!(
            load(dir.path(), 0.01, None),
            Err(DataError::Unknown(_))
        ));
        let txt = dir.path().join("a.txt");
        std::fs::write(&txt, "x").unwrap();
        assert!(matches!(load(&txt, 0.01, None), Err(DataError::Unknown(_))));
    }

    #[test]
    fn csv_limit_caps_per_split_and_class() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        let px = vec!["1"; 2304].join(" ");
        let mut t = String::from("emotion,pixels,Usage\n");
        for i in 0..10 {
            t.push_str(&format!("{},{px},Training\n", i % 2));
        }
        t.push_str(&format!("3,{px},PrivateTest\n"));
        std::fs::write(&p, t).unwrap();
        let d = load(&p, 0.0, Some(3)).unwrap();
        assert_eq!(d.count(Split::Training), 6);
        assert_eq!(d.count(Split::PrivateTest), 1);
        assert_eq!(class_counts(d.split(Split::Training))[0], 3);
    }
}
