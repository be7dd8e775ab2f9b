//! One JSON shape for a face, everywhere: `detect --json`, `live --json`, `POST /api/detect` and
//! the web app's WebSocket frames all print [`FaceReport`]s.
//!
//! ```json
//! {"face":0,"track_id":1,"bbox":{"x":36,"y":18,"w":261,"h":332},"emotion":"happy",
//!  "probabilities":{"angry":0.01,...},"smoothed":{"angry":0.02,...},
//!  "top3":[{"emotion":"happy","probability":0.92},...],"score":0.93,"landmarks":[[100.7,132.9],...]}
//! ```

use crate::detect::Detection;
use moodlens_session::{probs_map, BBox, Emotion, FaceObservation, Scored, TrackId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One face of one frame (see the module docs for the JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceReport {
    /// Index in the frame, left to right.
    pub face: usize,
    /// Identity across the frames of a session (1, 2, ... in order of first appearance; an
    /// image's faces are 1, 2, ... left to right).
    pub track_id: TrackId,
    pub bbox: BBox,
    /// The top emotion of `smoothed`.
    pub emotion: Emotion,
    /// The classifier's probabilities for this frame.
    pub probabilities: BTreeMap<Emotion, f32>,
    /// Averaged over this identity's last frames (the smoothing window); for a single image, the
    /// same as `probabilities`.
    pub smoothed: BTreeMap<Emotion, f32>,
    /// The three most probable emotions of `smoothed`.
    pub top3: Vec<Scored>,
    /// The detector's confidence (YuNet; absent for Haar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Five landmarks in frame pixels (YuNet): right eye, left eye, nose tip, right and left mouth
    /// corner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<[[f32; 2]; 5]>,
}

impl FaceReport {
    /// The report of the `index`-th face of a frame.
    pub fn new(index: usize, obs: &FaceObservation, detection: Option<&Detection>) -> FaceReport {
        FaceReport {
            face: index,
            track_id: obs.track_id,
            bbox: obs.bbox,
            emotion: obs.emotion(),
            probabilities: probs_map(&obs.probabilities),
            smoothed: probs_map(&obs.smoothed),
            top3: obs.top3.clone(),
            score: detection.and_then(|d| d.score),
            landmarks: detection.and_then(|d| d.landmarks),
        }
    }

    /// Every face of a frame (`detections` in the same order, when the detector gave them).
    pub fn all(faces: &[FaceObservation], detections: &[Detection]) -> Vec<FaceReport> {
        faces
            .iter()
            .enumerate()
            .map(|(i, f)| FaceReport::new(i, f, detections.get(i)))
            .collect()
    }
}
