//! Face detection: the [`FaceDetector`] trait and OpenCV's Haar cascade behind it.

use crate::error::{Result, VisionError};
use moodlens_session::BBox;
use opencv::core::{Mat, Rect, Size, Vector};
use opencv::imgproc;
use opencv::objdetect::CascadeClassifier;
use opencv::prelude::*;
use std::path::{Path, PathBuf};

/// Finds faces in a grayscale frame. Boxes are in the frame's pixel coordinates.
///
/// Implement it to plug in another detector (e.g. OpenCV's DNN/YuNet with a user-given model).
pub trait FaceDetector {
    /// `gray` is the full-resolution 8-bit single-channel frame.
    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>>;
}

impl<T: FaceDetector + ?Sized> FaceDetector for Box<T> {
    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>> {
        (**self).detect(gray)
    }
}

/// The cascade file used when none is given.
pub const DEFAULT_CASCADE: &str = "haarcascade_frontalface_default.xml";

/// Folders searched for the system's Haar cascades, in order (after `$MOODLENS_CASCADE_DIR` and
/// `$OPENCV_DATA_DIR/haarcascades` when set).
pub const CASCADE_DIRS: &[&str] = &[
    "/usr/share/opencv4/haarcascades",
    "/usr/local/share/opencv4/haarcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/local/share/opencv/haarcascades",
    "/opt/homebrew/share/opencv4/haarcascades",
    "/opt/local/share/opencv4/haarcascades",
];

/// Finds `file` (e.g. [`DEFAULT_CASCADE`]) in the system's OpenCV data folders.
pub fn find_cascade(file: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("MOODLENS_CASCADE_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("OPENCV_DATA_DIR") {
        dirs.push(PathBuf::from(d).join("haarcascades"));
    }
    dirs.extend(CASCADE_DIRS.iter().map(PathBuf::from));
    for d in &dirs {
        let p = d.join(file);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(VisionError::CascadeNotFound {
        searched: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Default pyramid step (measured on realfaces: 1.2 is faster but finds one face in 80% of the
/// photos against 92% for 1.1; see docs/VISION.md).
pub const DEFAULT_SCALE_FACTOR: f64 = 1.1;
/// Default minimum neighbours.
pub const DEFAULT_MIN_NEIGHBORS: i32 = 5;
/// Default smallest face, fraction of the frame's shorter side (96 px at 480 lines: a person at
/// webcam distance; smaller faces need `--min-face`).
pub const DEFAULT_MIN_FACE: f64 = 0.2;
/// Default detection width.
pub const DEFAULT_DETECT_WIDTH: u32 = 320;

/// Haar detector settings, tuned for real time at 640x480.
#[derive(Debug, Clone, PartialEq)]
pub struct HaarConfig {
    /// Cascade XML; `None` = [`DEFAULT_CASCADE`] from the system's OpenCV data folder.
    pub cascade: Option<PathBuf>,
    /// Scale step of the image pyramid (OpenCV's scaleFactor). Default 1.1.
    pub scale_factor: f64,
    /// Neighbouring detections needed to keep a face (OpenCV's minNeighbors). Default 5.
    pub min_neighbors: i32,
    /// Smallest face, as a fraction of the frame's shorter side. Default 0.2 (96 px at 480 lines).
    pub min_face: f64,
    /// Detect on a copy downscaled to this width when the frame is wider (speed); `None` = full
    /// size. Boxes are mapped back to full-frame pixels. Default 320.
    pub detect_width: Option<u32>,
    /// Equalise the histogram before detecting (helps dim frames). Default true.
    pub equalize: bool,
    /// Merge boxes nested in each other into one (see [`merge_nested`]). Default true.
    pub merge_nested: bool,
}

impl Default for HaarConfig {
    fn default() -> Self {
        HaarConfig {
            cascade: None,
            scale_factor: DEFAULT_SCALE_FACTOR,
            min_neighbors: DEFAULT_MIN_NEIGHBORS,
            min_face: DEFAULT_MIN_FACE,
            detect_width: Some(DEFAULT_DETECT_WIDTH),
            equalize: true,
            merge_nested: true,
        }
    }
}

/// OpenCV's Viola-Jones Haar cascade.
pub struct HaarDetector {
    config: HaarConfig,
    cascade: CascadeClassifier,
    path: PathBuf,
    small: Mat,
    eq: Mat,
}

impl HaarDetector {
    pub fn new(config: HaarConfig) -> Result<HaarDetector> {
        let path = match &config.cascade {
            Some(p) => {
                if !p.is_file() {
                    return Err(VisionError::NotFound { path: p.clone() });
                }
                p.clone()
            }
            None => find_cascade(DEFAULT_CASCADE)?,
        };
        let bad = || VisionError::BadCascade { path: path.clone() };
        let name = path.to_str().ok_or_else(bad)?;
        let cascade = CascadeClassifier::new(name).map_err(|_| bad())?;
        if cascade.empty().unwrap_or(true) {
            return Err(bad());
        }
        Ok(HaarDetector {
            config,
            cascade,
            path,
            small: Mat::default(),
            eq: Mat::default(),
        })
    }

    pub fn config(&self) -> &HaarConfig {
        &self.config
    }

    /// The cascade file in use.
    pub fn cascade_path(&self) -> &Path {
        &self.path
    }
}

impl FaceDetector for HaarDetector {
    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>> {
        let (w, h) = (gray.cols(), gray.rows());
        if w <= 0 || h <= 0 {
            return Ok(Vec::new());
        }
        let scale = match self.config.detect_width {
            Some(dw) if (dw as i32) < w && dw > 0 => dw as f64 / w as f64,
            _ => 1.0,
        };
        let src: &Mat = if scale < 1.0 {
            let size = Size::new(
                ((w as f64 * scale).round() as i32).max(1),
                ((h as f64 * scale).round() as i32).max(1),
            );
            imgproc::resize(gray, &mut self.small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            &self.small
        } else {
            gray
        };
        let src: &Mat = if self.config.equalize {
            imgproc::equalize_hist(src, &mut self.eq)?;
            &self.eq
        } else {
            src
        };
        let short = src.cols().min(src.rows()) as f64;
        let min_px = ((short * self.config.min_face).round() as i32).max(20);
        let mut found = Vector::<Rect>::new();
        self.cascade.detect_multi_scale(
            src,
            &mut found,
            self.config.scale_factor.max(1.01),
            self.config.min_neighbors.max(0),
            0,
            Size::new(min_px, min_px),
            Size::new(0, 0),
        )?;
        let inv = 1.0 / scale;
        let mut boxes: Vec<BBox> = found
            .iter()
            .map(|r| {
                BBox::new(
                    (r.x as f64 * inv).round() as i32,
                    (r.y as f64 * inv).round() as i32,
                    (r.width as f64 * inv).round() as i32,
                    (r.height as f64 * inv).round() as i32,
                )
            })
            .collect();
        if self.config.merge_nested {
            boxes = merge_nested(boxes, NESTED_OVERLAP);
        }
        // Stable order: left to right, then top to bottom.
        boxes.sort_by_key(|b| (b.x, b.y));
        Ok(boxes)
    }
}

/// Overlap (intersection over the smaller box) above which two Haar boxes are one face.
pub const NESTED_OVERLAP: f32 = 0.5;

/// Merges boxes that mostly cover each other (intersection / smaller area ≥ `min_overlap`) into
/// their mean box. Haar often reports one face twice — a tight box nested in a looser one — which
/// would otherwise look like two faces and split a face's identity between frames.
pub fn merge_nested(boxes: Vec<BBox>, min_overlap: f32) -> Vec<BBox> {
    // Groups of boxes; each new box joins the first group it overlaps with.
    let mut groups: Vec<Vec<BBox>> = Vec::new();
    'outer: for b in boxes {
        for g in groups.iter_mut() {
            if g.iter().any(|o| {
                let inter = b.intersection(o).map(|i| i.area()).unwrap_or(0);
                let smaller = b.area().min(o.area());
                smaller > 0 && inter as f32 >= min_overlap * smaller as f32
            }) {
                g.push(b);
                continue 'outer;
            }
        }
        groups.push(vec![b]);
    }
    groups
        .into_iter()
        .map(|g| {
            let n = g.len() as f64;
            let mean = |f: fn(&BBox) -> i32| {
                (g.iter().map(|b| f(b) as f64).sum::<f64>() / n).round() as i32
            };
            BBox::new(mean(|b| b.x), mean(|b| b.y), mean(|b| b.w), mean(|b| b.h))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_boxes_merge_separate_ones_stay() {
        // Real case from a test video: a loose 214 px box around a tight 130 px one.
        let merged = merge_nested(
            vec![BBox::new(104, 14, 214, 214), BBox::new(154, 50, 130, 130)],
            NESTED_OVERLAP,
        );
        assert_eq!(merged, vec![BBox::new(129, 32, 172, 172)]);
        let apart = vec![BBox::new(0, 0, 100, 100), BBox::new(300, 0, 100, 100)];
        assert_eq!(merge_nested(apart.clone(), NESTED_OVERLAP), apart);
        // Side by side with a small overlap: two faces.
        let close = vec![BBox::new(0, 0, 100, 100), BBox::new(80, 0, 100, 100)];
        assert_eq!(merge_nested(close.clone(), NESTED_OVERLAP).len(), 2);
        assert!(merge_nested(vec![], NESTED_OVERLAP).is_empty());
    }

    #[test]
    fn the_system_cascade_is_found_and_loads() {
        let p = find_cascade(DEFAULT_CASCADE).unwrap();
        assert!(p.is_file());
        let d = HaarDetector::new(HaarConfig::default()).unwrap();
        assert_eq!(d.cascade_path(), p);
        let missing = HaarDetector::new(HaarConfig {
            cascade: Some("/nonexistent/cascade.xml".into()),
            ..HaarConfig::default()
        });
        assert!(matches!(missing, Err(VisionError::NotFound { .. })));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.xml");
        std::fs::write(&bad, "<opencv_storage></opencv_storage>").unwrap();
        let bad = HaarDetector::new(HaarConfig {
            cascade: Some(bad),
            ..HaarConfig::default()
        });
        assert!(
            matches!(bad, Err(VisionError::BadCascade { .. })),
            "{:?}",
            bad.err()
        );
    }
}
