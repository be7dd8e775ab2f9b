//! Face detection: the [`FaceDetector`] trait and OpenCV's Haar cascade behind it.

use crate::error::{Result, VisionError};
use moodlens_session::BBox;
use opencv::core::{Mat, Rect, Size, Vector};
use opencv::imgproc;
use opencv::objdetect::CascadeClassifier;
use opencv::prelude::*;
use std::path::PathBuf;

/// One detected face: its box, the detector's score (0..1, when it gives one) and five landmarks
/// (right eye, left eye, nose tip, right and left mouth corner, as the subject sees them; frame
/// pixels), when the detector finds them (YuNet).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Detection {
    pub bbox: BBox,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<[[f32; 2]; 5]>,
}

impl Detection {
    /// A box without score or landmarks.
    pub fn from_box(bbox: BBox) -> Detection {
        Detection {
            bbox,
            score: None,
            landmarks: None,
        }
    }
}

/// Which detector: OpenCV's Haar cascade (the original design's) or YuNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetectorKind {
    Haar,
    #[default]
    Yunet,
}

impl std::str::FromStr for DetectorKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "haar" => Ok(DetectorKind::Haar),
            "yunet" => Ok(DetectorKind::Yunet),
            _ => Err(format!("unknown detector '{s}' (yunet, haar)")),
        }
    }
}

impl std::fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DetectorKind::Haar => "haar",
            DetectorKind::Yunet => "yunet",
        })
    }
}

/// Which detector with which settings; [`DetectorConfig::build`] makes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectorConfig {
    pub kind: DetectorKind,
    pub haar: HaarConfig,
    pub yunet: crate::yunet::YuNetConfig,
}

impl DetectorConfig {
    /// A detector of `kind` with default settings.
    pub fn of(kind: DetectorKind) -> DetectorConfig {
        DetectorConfig {
            kind,
            ..DetectorConfig::default()
        }
    }

    pub fn build(&self) -> Result<Box<dyn FaceDetector + Send>> {
        Ok(match self.kind {
            DetectorKind::Haar => Box::new(HaarDetector::new(self.haar.clone())?),
            DetectorKind::Yunet => Box::new(crate::yunet::YuNetDetector::new(self.yunet.clone())?),
        })
    }
}

/// Finds faces in a frame. Boxes are in the frame's pixel coordinates.
///
/// Implement it to plug in another detector.
pub trait FaceDetector {
    /// `gray` is the full-resolution 8-bit single-channel frame.
    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>>;

    /// Full detections on a frame given both as captured (`image`: BGR or gray) and as gray.
    /// The default runs [`FaceDetector::detect`] on `gray` (no scores, no landmarks).
    fn detect_faces(&mut self, image: &Mat, gray: &Mat) -> Result<Vec<Detection>> {
        let _ = image;
        Ok(self
            .detect(gray)?
            .into_iter()
            .map(Detection::from_box)
            .collect())
    }

    /// [`FaceDetector::detect_faces`] near known faces (see [`FaceDetector::detect_near`]). The
    /// default: `detect_near` for detectors without landmarks.
    fn detect_faces_near(
        &mut self,
        image: &Mat,
        gray: &Mat,
        near: &[BBox],
    ) -> Result<Vec<Detection>> {
        let _ = image;
        Ok(self
            .detect_near(gray, near)?
            .into_iter()
            .map(Detection::from_box)
            .collect())
    }

    /// Short name for reports.
    fn name(&self) -> &'static str {
        "custom"
    }

    /// Faces near `near` (the faces of the previous frame) only — a cheaper scan used between full
    /// scans while tracking. New faces elsewhere are found by the next full scan. The default scans
    /// the whole frame.
    fn detect_near(&mut self, gray: &Mat, near: &[BBox]) -> Result<Vec<BBox>> {
        let _ = near;
        self.detect(gray)
    }
}

impl<T: FaceDetector + ?Sized> FaceDetector for Box<T> {
    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>> {
        (**self).detect(gray)
    }

    fn detect_faces(&mut self, image: &Mat, gray: &Mat) -> Result<Vec<Detection>> {
        (**self).detect_faces(image, gray)
    }

    fn detect_faces_near(
        &mut self,
        image: &Mat,
        gray: &Mat,
        near: &[BBox],
    ) -> Result<Vec<Detection>> {
        (**self).detect_faces_near(image, gray, near)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn detect_near(&mut self, gray: &Mat, near: &[BBox]) -> Result<Vec<BBox>> {
        (**self).detect_near(gray, near)
    }
}

/// The cascade used when none is given: OpenCV's `haarcascade_frontalface_default.xml` (from
/// Debian's opencv-data 4.6.0), embedded in the binary so nothing is read from the system's OpenCV
/// data folders at run time. Its licence (Intel License Agreement) is kept in the file's header and
/// in `crates/vision/data/LICENSE-haarcascade.txt`.
pub const EMBEDDED_CASCADE_XML: &str = include_str!("../data/haarcascade_frontalface_default.xml");

/// File name of the embedded cascade (for messages).
pub const EMBEDDED_CASCADE_NAME: &str = "haarcascade_frontalface_default.xml (embedded)";

/// Loads a cascade from XML text held in memory (OpenCV's `FileStorage` in MEMORY mode).
pub fn cascade_from_xml(xml: &str) -> Option<CascadeClassifier> {
    use opencv::core::{FileStorage, FileStorage_Mode};
    let mode = FileStorage_Mode::READ as i32 | FileStorage_Mode::MEMORY as i32;
    let fs = FileStorage::new(xml, mode, "").ok()?;
    if !fs.is_opened().unwrap_or(false) {
        return None;
    }
    let node = fs.get_first_top_level_node().ok()?;
    let mut cascade = CascadeClassifier::default().ok()?;
    if !cascade.read(&node).unwrap_or(false) || cascade.empty().unwrap_or(true) {
        return None;
    }
    Some(cascade)
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
    /// Cascade XML file; `None` = the embedded [`EMBEDDED_CASCADE_XML`].
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
    source: String,
    small: Mat,
    eq: Mat,
}

impl HaarDetector {
    pub fn new(config: HaarConfig) -> Result<HaarDetector> {
        let (cascade, source) = match &config.cascade {
            Some(p) => {
                if !p.is_file() {
                    return Err(VisionError::NotFound { path: p.clone() });
                }
                let bad = || VisionError::BadCascade { path: p.clone() };
                let name = p.to_str().ok_or_else(bad)?;
                let cascade = CascadeClassifier::new(name).map_err(|_| bad())?;
                if cascade.empty().unwrap_or(true) {
                    return Err(bad());
                }
                (cascade, p.display().to_string())
            }
            None => (
                cascade_from_xml(EMBEDDED_CASCADE_XML).ok_or_else(|| VisionError::BadCascade {
                    path: PathBuf::from(EMBEDDED_CASCADE_NAME),
                })?,
                EMBEDDED_CASCADE_NAME.to_string(),
            ),
        };
        Ok(HaarDetector {
            config,
            cascade,
            source,
            small: Mat::default(),
            eq: Mat::default(),
        })
    }

    pub fn config(&self) -> &HaarConfig {
        &self.config
    }

    /// The cascade in use: the user's file, or [`EMBEDDED_CASCADE_NAME`].
    pub fn cascade_source(&self) -> &str {
        &self.source
    }
}

impl HaarDetector {
    /// Scale from full-frame pixels to detection pixels, and the minimum face side (detection
    /// pixels), both fixed by the full frame so that region scans behave like full scans.
    fn scale_and_min(&self, w: i32, h: i32) -> (f64, i32) {
        let scale = match self.config.detect_width {
            Some(dw) if (dw as i32) < w && dw > 0 => dw as f64 / w as f64,
            _ => 1.0,
        };
        let short = (w.min(h) as f64) * scale;
        let min_px = ((short * self.config.min_face).round() as i32).max(20);
        (scale, min_px)
    }

    /// Runs the cascade on `area` (a part of `gray`, in full-frame pixels) and returns boxes in
    /// full-frame pixels.
    fn scan(
        &mut self,
        gray: &Mat,
        area: Rect,
        scale: f64,
        min_px: i32,
        max_px: i32,
    ) -> Result<Vec<BBox>> {
        let roi;
        let part: &Mat = if area.x == 0
            && area.y == 0
            && area.width == gray.cols()
            && area.height == gray.rows()
        {
            gray
        } else {
            roi = gray.roi(area)?.try_clone()?;
            &roi
        };
        let src: &Mat = if scale < 1.0 {
            let size = Size::new(
                ((area.width as f64 * scale).round() as i32).max(1),
                ((area.height as f64 * scale).round() as i32).max(1),
            );
            imgproc::resize(part, &mut self.small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            &self.small
        } else {
            part
        };
        if src.cols() < min_px || src.rows() < min_px {
            return Ok(Vec::new());
        }
        let src: &Mat = if self.config.equalize {
            imgproc::equalize_hist(src, &mut self.eq)?;
            &self.eq
        } else {
            src
        };
        let mut found = Vector::<Rect>::new();
        self.cascade.detect_multi_scale(
            src,
            &mut found,
            self.config.scale_factor.max(1.01),
            self.config.min_neighbors.max(0),
            0,
            Size::new(min_px, min_px),
            Size::new(max_px, max_px),
        )?;
        let inv = 1.0 / scale;
        Ok(found
            .iter()
            .map(|r| {
                BBox::new(
                    area.x + (r.x as f64 * inv).round() as i32,
                    area.y + (r.y as f64 * inv).round() as i32,
                    (r.width as f64 * inv).round() as i32,
                    (r.height as f64 * inv).round() as i32,
                )
            })
            .collect())
    }

    fn finish(&self, mut boxes: Vec<BBox>) -> Vec<BBox> {
        if self.config.merge_nested {
            boxes = merge_nested(boxes, NESTED_OVERLAP);
        }
        // Stable order: left to right, then top to bottom.
        boxes.sort_by_key(|b| (b.x, b.y));
        boxes
    }
}

impl FaceDetector for HaarDetector {
    fn name(&self) -> &'static str {
        "haar"
    }

    fn detect(&mut self, gray: &Mat) -> Result<Vec<BBox>> {
        let (w, h) = (gray.cols(), gray.rows());
        if w <= 0 || h <= 0 {
            return Ok(Vec::new());
        }
        let (scale, min_px) = self.scale_and_min(w, h);
        let boxes = self.scan(gray, Rect::new(0, 0, w, h), scale, min_px, 0)?;
        Ok(self.finish(boxes))
    }

    fn detect_near(&mut self, gray: &Mat, near: &[BBox]) -> Result<Vec<BBox>> {
        let (w, h) = (gray.cols(), gray.rows());
        if w <= 0 || h <= 0 {
            return Ok(Vec::new());
        }
        let (scale, min_px) = self.scale_and_min(w, h);
        let mut boxes = Vec::new();
        for r in search_regions(near, w, h) {
            // Only face sizes close to the known ones: the small scales dominate a full scan's cost.
            let lo =
                ((r.min_side as f64 * NEAR_MIN_SIZE as f64 * scale).round() as i32).max(min_px);
            let hi = (r.max_side as f64 * NEAR_MAX_SIZE as f64 * scale).round() as i32;
            boxes.extend(self.scan(gray, r.area, scale, lo, hi.max(lo + 1))?);
        }
        Ok(self.finish(boxes))
    }
}

/// How much larger than a known face its search region is (side factor).
pub const NEAR_REGION: f32 = 1.8;
/// Smallest face searched near a known face, relative to its side.
pub const NEAR_MIN_SIZE: f32 = 0.7;
/// Largest face searched near a known face, relative to its side.
pub const NEAR_MAX_SIZE: f32 = 1.4;

/// A region scanned by [`FaceDetector::detect_near`], with the side range of the known faces in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchRegion {
    pub area: Rect,
    pub min_side: i32,
    pub max_side: i32,
}

/// The regions scanned by [`FaceDetector::detect_near`]: each known box grown to a square of
/// [`NEAR_REGION`] times its side around its centre, clipped to the frame; overlapping regions
/// are merged into their bounding rectangle.
pub fn search_regions(near: &[BBox], w: i32, h: i32) -> Vec<SearchRegion> {
    let mut rects: Vec<SearchRegion> = Vec::new();
    for b in near {
        let side = (b.w.max(b.h) as f32 * NEAR_REGION).round() as i32;
        let (cx, cy) = b.center();
        let x0 = ((cx - side as f32 / 2.0).round() as i32).clamp(0, w);
        let y0 = ((cy - side as f32 / 2.0).round() as i32).clamp(0, h);
        let x1 = ((cx + side as f32 / 2.0).round() as i32).clamp(0, w);
        let y1 = ((cy + side as f32 / 2.0).round() as i32).clamp(0, h);
        if x1 > x0 && y1 > y0 {
            rects.push(SearchRegion {
                area: Rect::new(x0, y0, x1 - x0, y1 - y0),
                min_side: b.w.min(b.h),
                max_side: b.w.max(b.h),
            });
        }
    }
    // Merge overlapping regions until none overlap (a face is never scanned twice).
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                let (ra, rb) = (rects[i], rects[j]);
                let (a, b) = (ra.area, rb.area);
                if a.x < b.x + b.width
                    && b.x < a.x + a.width
                    && a.y < b.y + b.height
                    && b.y < a.y + a.height
                {
                    let x0 = a.x.min(b.x);
                    let y0 = a.y.min(b.y);
                    let x1 = (a.x + a.width).max(b.x + b.width);
                    let y1 = (a.y + a.height).max(b.y + b.height);
                    rects[i] = SearchRegion {
                        area: Rect::new(x0, y0, x1 - x0, y1 - y0),
                        min_side: ra.min_side.min(rb.min_side),
                        max_side: ra.max_side.max(rb.max_side),
                    };
                    rects.remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    rects
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
    fn search_regions_grow_clip_and_merge() {
        let r = search_regions(&[BBox::new(100, 100, 100, 100)], 640, 480);
        assert_eq!(r[0].area, Rect::new(60, 60, 180, 180));
        assert_eq!((r[0].min_side, r[0].max_side), (100, 100));
        // Clipped at the frame's edge.
        let r = search_regions(&[BBox::new(0, 0, 100, 100)], 640, 480);
        assert_eq!(r[0].area, Rect::new(0, 0, 140, 140));
        let r = search_regions(
            &[BBox::new(100, 100, 100, 100), BBox::new(180, 100, 80, 80)],
            640,
            480,
        );
        assert_eq!((r[0].min_side, r[0].max_side), (80, 100));
        // Two nearby faces: one merged region; far apart: two.
        assert_eq!(
            search_regions(
                &[BBox::new(100, 100, 100, 100), BBox::new(180, 100, 100, 100)],
                640,
                480
            )
            .len(),
            1
        );
        assert_eq!(
            search_regions(
                &[BBox::new(0, 0, 100, 100), BBox::new(400, 300, 100, 100)],
                640,
                480
            )
            .len(),
            2
        );
        assert!(search_regions(&[BBox::new(900, 900, 10, 10)], 640, 480).is_empty());
    }

    #[test]
    fn the_embedded_cascade_loads_and_a_user_file_too() {
        let d = HaarDetector::new(HaarConfig::default()).unwrap();
        assert_eq!(d.cascade_source(), EMBEDDED_CASCADE_NAME);
        assert!(EMBEDDED_CASCADE_XML.contains("Intel License Agreement"));
        assert!(cascade_from_xml("<opencv_storage></opencv_storage>").is_none());
        assert!(cascade_from_xml("not xml at all").is_none());
        // --cascade FILE: the same XML from a user's file loads too
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.xml");
        std::fs::write(&own, EMBEDDED_CASCADE_XML).unwrap();
        let d = HaarDetector::new(HaarConfig {
            cascade: Some(own.clone()),
            ..HaarConfig::default()
        })
        .unwrap();
        assert_eq!(d.cascade_source(), own.display().to_string());
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
