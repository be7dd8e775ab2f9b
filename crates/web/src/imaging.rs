//! In-memory image decoding with limits, and face analysis of one image.

use crate::Worker;
use moodlens_session::{BBox, Session, SessionConfig};
use moodlens_vision::crop::crop_detection;
use moodlens_vision::opencv::core::Mat;
use moodlens_vision::opencv::imgproc;
use moodlens_vision::opencv::prelude::*;
use moodlens_vision::FaceReport;
use moodlens_vision::{CropConfig, EmotionClassifier, FaceDetector, SessionSummary};
use serde::Serialize;

pub use moodlens_vision::source::{decode_image, DecodeError};

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
