//! Measures the classifier's accuracy on labelled whole photos (the shared `realfaces/` set)
//! through the full path — decode, Haar detection, crop framing, classification — for several crop
//! framings, to choose the crop margin that matches what the model learned from FER-2013.
//!
//! The app calls [`evaluate_framings`] with the real classifier (e.g. `moodlens tune-crop`); the
//! vision crate itself has no model.

use crate::crop::{crop_detection, CropConfig};
use crate::detect::DetectorConfig;
use crate::error::{Result, VisionError};
use crate::pipeline::EmotionClassifier;
use crate::source::{load_image, ImageLimits};
use moodlens_session::{argmax, Emotion, NUM_EMOTIONS};
use opencv::core::Mat;
use opencv::imgproc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Accuracy of one framing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FramingReport {
    pub margin: f32,
    pub y_offset: f32,
    /// Eye-aligned crops (when the detector gives landmarks), with their eye distance and height.
    pub align: bool,
    pub eye_distance: f32,
    pub eye_y: f32,
    /// Mean of `recall` over the classes present (balanced accuracy through the whole pipeline).
    pub macro_recall: f64,
    /// Photos where a face was found and classified.
    pub classified: usize,
    /// Correct among `classified`.
    pub correct: usize,
    /// correct / classified.
    pub accuracy: f64,
    /// correct / all photos (a photo without a detected face counts as wrong).
    pub accuracy_all_photos: f64,
    /// Recall per true class over all its photos (a photo without a detected face is a miss).
    pub recall: BTreeMap<Emotion, f64>,
    /// Confusion counts: `confusion[true][predicted]` in canonical order.
    pub confusion: [[usize; NUM_EMOTIONS]; NUM_EMOTIONS],
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FramingEvaluation {
    pub photos: usize,
    /// Photos where the detector found at least one face (the largest is used).
    pub with_face: usize,
    pub framings: Vec<FramingReport>,
}

/// The labelled photos of a `<class>/*.jpg` folder tree (folder names parsed as emotions; other
/// folders ignored), sorted.
pub fn labelled_photos(root: &Path) -> Result<Vec<(PathBuf, Emotion)>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(root).map_err(|e| VisionError::Unreadable {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    for entry in rd.flatten() {
        let dir = entry.path();
        let Some(label) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<Emotion>().ok())
        else {
            continue;
        };
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir)?.flatten() {
            if f.path().is_file() {
                out.push((f.path(), label));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs every photo through detection once and through each framing in `framings`, classifying
/// in batches of up to 64 crops. Unreadable photos are errors (the set is curated).
pub fn evaluate_framings<C: EmotionClassifier>(
    photos: &[(PathBuf, Emotion)],
    detector: &DetectorConfig,
    framings: &[CropConfig],
    classifier: &mut C,
) -> Result<FramingEvaluation> {
    let mut det = detector.build()?;
    // Per framing: (true label, crop) of every photo with a face.
    let mut crops: Vec<Vec<(Emotion, Vec<u8>)>> = vec![Vec::new(); framings.len()];
    let mut with_face = 0;
    for (path, label) in photos {
        let img = load_image(path, &ImageLimits::default())?;
        let mut gray = Mat::default();
        imgproc::cvt_color_def(&img, &mut gray, imgproc::COLOR_BGR2GRAY)?;
        let found = det.detect_faces(&img, &gray)?;
        let Some(d) = found.iter().max_by_key(|d| d.bbox.area()) else {
            continue;
        };
        with_face += 1;
        for (i, f) in framings.iter().enumerate() {
            crops[i].push((*label, crop_detection(&gray, d, f)?));
        }
    }
    let mut reports = Vec::new();
    for (f, items) in framings.iter().zip(&crops) {
        let mut confusion = [[0usize; NUM_EMOTIONS]; NUM_EMOTIONS];
        for chunk in items.chunks(64) {
            let batch: Vec<Vec<u8>> = chunk.iter().map(|(_, c)| c.clone()).collect();
            let probs = classifier
                .classify(&batch)
                .map_err(|e| VisionError::Classifier(Box::new(e)))?;
            if probs.len() != batch.len() {
                return Err(VisionError::ClassifierOutput {
                    expected: batch.len(),
                    got: probs.len(),
                });
            }
            for ((label, _), p) in chunk.iter().zip(&probs) {
                confusion[label.index()][argmax(p).index()] += 1;
            }
        }
        let correct: usize = (0..NUM_EMOTIONS).map(|i| confusion[i][i]).sum();
        let classified = items.len();
        // recall over all photos of the class: a photo without a detected face is a miss
        let recall: BTreeMap<Emotion, f64> = Emotion::ALL
            .iter()
            .map(|e| {
                let n = photos.iter().filter(|(_, l)| l == e).count();
                let r = if n == 0 {
                    0.0
                } else {
                    confusion[e.index()][e.index()] as f64 / n as f64
                };
                (*e, r)
            })
            .collect();
        let present = Emotion::ALL
            .iter()
            .filter(|e| photos.iter().any(|(_, l)| l == *e))
            .count()
            .max(1);
        let macro_recall = recall.values().sum::<f64>() / present as f64;
        reports.push(FramingReport {
            margin: f.margin,
            y_offset: f.y_offset,
            align: f.align,
            eye_distance: f.eye_distance,
            eye_y: f.eye_y,
            macro_recall,
            classified,
            correct,
            accuracy: correct as f64 / classified.max(1) as f64,
            accuracy_all_photos: correct as f64 / photos.len().max(1) as f64,
            recall,
            confusion,
        });
    }
    Ok(FramingEvaluation {
        photos: photos.len(),
        with_face,
        framings: reports,
    })
}

/// The default sweep for box framings (Haar, or YuNet without alignment): margins -0.05..0.30 in
/// steps of 0.05, centred; with `align`, eye-aligned framings: eye distance 0.30..0.46 x eye-line
/// height 0.30..0.42 (plus the defaults).
pub fn default_framings(align: bool) -> Vec<CropConfig> {
    let mut v: Vec<CropConfig> = if align {
        let mut v = Vec::new();
        for ed in [0.30f32, 0.34, 0.38, 0.42, 0.46] {
            for ey in [0.30f32, 0.34, 0.38, 0.42] {
                v.push(CropConfig {
                    align: true,
                    eye_distance: ed,
                    eye_y: ey,
                    ..CropConfig::default()
                });
            }
        }
        v
    } else {
        [-0.05f32, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
            .iter()
            .map(|&m| CropConfig {
                margin: m,
                align: false,
                ..CropConfig::default()
            })
            .collect()
    };
    v.push(CropConfig {
        align,
        ..CropConfig::default()
    });
    v.dedup_by(|a, b| a == b);
    v
}
