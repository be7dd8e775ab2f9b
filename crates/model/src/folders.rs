//! FER-2013 per-class folder loader (`train/<class>/*.jpg|png`, `test/<class>/...`), the layout
//! Keras' `flow_from_directory` reads. The official split is taken from the file name prefix
//! (`Training_`, `PublicTest_`, `PrivateTest_`); files without one count as Training under `train/`
//! and PrivateTest under `test/`. Images of another size are converted to gray and resized to 48x48.
//! Unreadable images are reported with their path, counted and skipped; the load fails when more than
//! `max_bad_fraction` of the files are bad.

use crate::fer_csv::{Sample, Split};
use crate::{Emotion, INPUT_SIZE};
use std::path::{Path, PathBuf};

/// A file that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFile {
    pub path: PathBuf,
    pub reason: String,
}

/// Errors of the folder loader.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: no train/<class>/ or test/<class>/ folders with images (classes: angry disgust fear happy neutral sad surprise)")]
    Empty { path: String },
    #[error(
        "{path}: {bad} of {total} images are unreadable (first: {first_path}: {first_reason})"
    )]
    TooManyBad {
        path: String,
        bad: usize,
        total: usize,
        first_path: String,
        first_reason: String,
    },
}

/// Good samples, their source paths, and the files that were skipped.
#[derive(Debug, Default)]
pub struct LoadedFolders {
    pub samples: Vec<Sample>,
    pub paths: Vec<PathBuf>,
    pub bad: Vec<BadFile>,
}

fn split_of(file_name: &str, in_test: bool) -> Split {
    if file_name.starts_with("PublicTest") {
        Split::PublicTest
    } else if file_name.starts_with("PrivateTest") {
        Split::PrivateTest
    } else if file_name.starts_with("Training") || !in_test {
        Split::Training
    } else {
        Split::PrivateTest
    }
}

/// Decode one image file into 48x48 gray pixels.
pub fn read_face(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    decode_face(&bytes)
}

/// Decode image bytes (JPEG/PNG) into 48x48 gray pixels.
pub fn decode_face(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory(bytes).map_err(|e| format!("not a readable image: {e}"))?;
    let gray = img.to_luma8();
    let gray = if gray.width() as usize != INPUT_SIZE || gray.height() as usize != INPUT_SIZE {
        image::imageops::resize(
            &gray,
            INPUT_SIZE as u32,
            INPUT_SIZE as u32,
            image::imageops::FilterType::Triangle,
        )
    } else {
        gray
    };
    Ok(gray.into_raw())
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        .unwrap_or(false)
}

/// True when `dir` looks like the per-class layout (has `train/` or `test/` with class folders).
pub fn is_folder_layout(dir: &Path) -> bool {
    ["train", "test"].iter().any(|s| {
        Emotion::ALL
            .iter()
            .any(|e| dir.join(s).join(e.label()).is_dir())
    })
}

/// Load every image of `root/{train,test}/<class>/`. `limit` caps the number of files per
/// (folder, class) pair, taken in sorted order (for quick runs).
pub fn load_folders(
    root: &Path,
    max_bad_fraction: f64,
    limit: Option<usize>,
) -> Result<LoadedFolders, FolderError> {
    let name = root.display().to_string();
    let mut files: Vec<(PathBuf, Emotion, Split)> = Vec::new();
    for sub in ["train", "test"] {
        for emo in Emotion::ALL {
            let dir = root.join(sub).join(emo.label());
            if !dir.is_dir() {
                continue;
            }
            let rd = std::fs::read_dir(&dir).map_err(|source| FolderError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let mut here: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_image(p))
                .collect();
            here.sort();
            if let Some(l) = limit {
                here.truncate(l);
            }
            for p in here {
                let fname = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
                let split = split_of(fname, sub == "test");
                files.push((p, emo, split));
            }
        }
    }
    if files.is_empty() {
        return Err(FolderError::Empty { path: name });
    }
    // Decode in parallel over the available cores.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let chunk = files.len().div_ceil(threads);
    let results: Vec<Result<Vec<u8>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|(p, _, _)| read_face(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut out = LoadedFolders::default();
    for ((path, label, split), r) in files.into_iter().zip(results) {
        match r {
            Ok(pixels) => {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.samples.push(Sample {
                    pixels,
                    label,
                    split,
                    origin: crate::fer_csv::Origin::File(rel),
                    crowd: None,
                });
                out.paths.push(path);
            }
            Err(reason) => out.bad.push(BadFile { path, reason }),
        }
    }
    let total = out.samples.len() + out.bad.len();
    if let Some(first) = out.bad.first() {
        if out.bad.len() as f64 > max_bad_fraction * total as f64 {
            return Err(FolderError::TooManyBad {
                path: name,
                bad: out.bad.len(),
                total,
                first_path: first.path.display().to_string(),
                first_reason: first.reason.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, v: u8, size: u32) {
        let img = image::GrayImage::from_pixel(size, size, image::Luma([v]));
        img.save(path).unwrap();
    }

    #[test]
    fn loads_layout_with_splits_resizes_and_skips_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for (sub, emo, file, v) in [
            ("train", "happy", "Training_1.png", 10u8),
            ("train", "sad", "Training_2.png", 20),
            ("train", "sad", "noprefix.png", 30),
            ("test", "fear", "PublicTest_3.png", 40),
            ("test", "angry", "PrivateTest_4.png", 50),
            ("test", "angry", "other.png", 60),
        ] {
            std::fs::create_dir_all(r.join(sub).join(emo)).unwrap();
            write_png(&r.join(sub).join(emo).join(file), v, 48);
        }
        // a bigger image is resized, a corrupt one is reported
        write_png(&r.join("train/happy/Training_9.png"), 99, 96);
        std::fs::write(r.join("train/happy/Training_bad.png"), b"not an image").unwrap();
        assert!(is_folder_layout(r));

        let err = load_folders(r, 0.05, None).unwrap_err();
        assert!(
            matches!(
                err,
                FolderError::TooManyBad {
                    bad: 1,
                    total: 8,
                    ..
                }
            ),
            "{err}"
        );

        let l = load_folders(r, 0.2, None).unwrap();
        assert_eq!(l.samples.len(), 7);
        assert_eq!(l.bad.len(), 1);
        assert!(l.bad[0].path.ends_with("Training_bad.png"));
        let get = |v: u8| l.samples.iter().find(|s| s.pixels[0] == v).unwrap();
        assert_eq!(get(10).label, Emotion::Happy);
        assert_eq!(get(30).split, Split::Training);
        assert_eq!(get(40).split, Split::PublicTest);
        assert_eq!(get(40).label, Emotion::Fear);
        assert_eq!(get(50).split, Split::PrivateTest);
        assert_eq!(get(60).split, Split::PrivateTest);
        assert_eq!(get(99).pixels.len(), 48 * 48);
    }

    #[test]
    fn empty_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_folder_layout(dir.path()));
        assert!(matches!(
            load_folders(dir.path(), 0.1, None),
            Err(FolderError::Empty { .. })
        ));
    }
}
