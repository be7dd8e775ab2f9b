//! In-memory image decoding with limits, and face analysis of one image.

use crate::Worker;
use moodlens_session::{BBox, Session, SessionConfig};
use moodlens_vision::crop::crop_detection;
use moodlens_vision::opencv::core::{Mat, Vector};
use moodlens_vision::opencv::imgcodecs;
use moodlens_vision::opencv::imgproc;
use moodlens_vision::opencv::prelude::*;
use moodlens_vision::source::{jpeg_is_complete, sniff_image, ImageFormat};
use moodlens_vision::FaceReport;
use moodlens_vision::{CropConfig, EmotionClassifier, FaceDetector, SessionSummary};
use serde::Serialize;

/// Why bytes could not be turned into an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    NotAnImage,
    Corrupt(String),
    TooManyPixels { width: u64, height: u64, max: u64 },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty image: send the bytes of a JPEG or PNG image"),
            DecodeError::NotAnImage => write!(
                f,
                "not an image: expected JPEG, PNG, BMP, WebP, TIFF or PNM data"
            ),
            DecodeError::Corrupt(r) => write!(f, "the image could not be decoded: {r}"),
            DecodeError::TooManyPixels { width, height, max } => write!(
                f,
                "picture too large: {width}x{height} is more than {}; use a smaller one",
                if *max >= 1_000_000 {
                    format!("{} megapixels", (*max as f64 / 1e5).round() / 10.0)
                } else {
                    format!("{max} pixels")
                }
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes image bytes (sniffed by content, not by declared type) to 8-bit BGR, checking the
/// pixel count from the header before decoding (JPEG/PNG) and after (all formats).
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<Mat, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let fmt = sniff_image(&bytes[..bytes.len().min(32)]).ok_or(DecodeError::NotAnImage)?;
    let check = |w: u64, h: u64| {
        if w.saturating_mul(h) > max_pixels {
            Err(DecodeError::TooManyPixels {
                width: w,
                height: h,
                max: max_pixels,
            })
        } else {
            Ok(())
        }
    };
    match fmt {
        ImageFormat::Jpeg if !jpeg_is_complete(bytes) => {
            return Err(DecodeError::Corrupt(
                "JPEG data ends before its end-of-image marker".into(),
            ))
        }
        ImageFormat::Png if !bytes.windows(4).any(|w| w == b"IEND") => {
            return Err(DecodeError::Corrupt(
                "PNG data ends before its IEND chunk".into(),
            ))
        }
        _ => {}
    }
    if matches!(fmt, ImageFormat::Jpeg | ImageFormat::Png) {
        let dims = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| DecodeError::Corrupt(e.to_string()))?
            .into_dimensions()
            .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
        check(dims.0 as u64, dims.1 as u64)?;
    }
    let buf = Vector::<u8>::from_slice(bytes);
    let mat = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)
        .map_err(|e| DecodeError::Corrupt(e.message))?;
    if mat.empty() || mat.rows() <= 0 || mat.cols() <= 0 {
        return Err(DecodeError::Corrupt("the decoder could not read it".into()));
    }
    check(mat.cols() as u64, mat.rows() as u64)?;
    Ok(mat)
}

/// The answer of `POST /api/detect`.
#[derive(Debug, Clone, Serialize)]
pub struct DetectResponse {
    pub width: i32,
    pub height: i32,
    pub faces: Vec<FaceReport>,
    /// Mood over the image's faces (same rule as a session).
    pub summary: SessionSummary,
    /// Milliseconds spent decoding, detecting and classifying.
    pub ms: f64,
}

/// Detects, crops and classifies every face of `image` (one batch).
pub(crate) fn analyze(w: &mut Worker, image: &Mat) -> anyhow::Result<DetectResponse> {
    let mut gray = Mat::default();
    imgproc::cvt_color_def(image, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let found = w.detector.detect_faces(image, &gray)?;
    let boxes: Vec<BBox> = found.iter().map(|d| d.bbox).collect();
    let crop = CropConfig::default();
    let crops = found
        .iter()
        .map(|d| crop_detection(&gray, d, &crop))
        .collect::<Result<Vec<_>, _>>()?;
    let probs = if crops.is_empty() {
        Vec::new()
    } else {
        w.classifier.classify(&crops)?
    };
    anyhow::ensure!(
        probs.len() == boxes.len(),
        "the classifier returned {} results for {} faces",
        probs.len(),
        boxes.len()
    );
    let mut session = Session::new(SessionConfig {
        window: 1,
        ..SessionConfig::default()
    });
    let obs = session.observe(&boxes, &probs)?;
    let faces = FaceReport::all(&obs, &found);
    Ok(DetectResponse {
        width: image.cols(),
        height: image.rows(),
        faces,
        summary: session.summary(),
        ms: 0.0,
    })
}
