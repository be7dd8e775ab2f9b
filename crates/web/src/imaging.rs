//! In-memory image decoding with limits, and face analysis of one image.

use crate::Worker;
use moodlens_vision::opencv::core::Mat;
use moodlens_vision::opencv::prelude::*;
use moodlens_vision::{FaceReport, Frame, SessionSummary, VisionError};
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

/// Every face of `image` through the one analysis path ([`moodlens_vision::Pipeline`]: detect,
/// crop, classify in one batch), as a fresh session.
pub(crate) fn analyze(w: &mut Worker, image: Mat) -> Result<DetectResponse, VisionError> {
    w.reset();
    let (width, height) = (image.cols(), image.rows());
    let frame = Frame {
        index: 0,
        timestamp_ms: 0.0,
        image,
    };
    let r = w.process(&frame)?;
    Ok(DetectResponse {
        width,
        height,
        faces: FaceReport::all(&r.faces, &r.detections),
        summary: w.summary(),
        ms: 0.0,
    })
}
