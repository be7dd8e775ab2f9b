//! One JSON shape for a face, everywhere: `detect --json`, `live --json`, `POST /api/detect` and
//! the web app's WebSocket frames all print [`FaceReport`]s.
//!
//! ```json
//! {"face":0,"track_id":1,"bbox":{"x":36,"y":18,"w":261,"h":332},"emotion":"happy",
//!  "probabilities":{"angry":0.01,...},"smoothed":{"angry":0.02,...},
//!  "top3":[{"emotion":"happy","probability":0.92},...],"score":0.93,"landmarks":[[100.7,132.9],...]}
//! ```

use crate::detect::Detection;
use crate::pipeline::{FrameResult, StageTimes};
use moodlens_session::{
    probs_map, BBox, Emotion, FaceObservation, Scored, SessionSummary, TrackId,
};
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

/// One frame in `detect` output (an image is one frame).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameRecord {
    pub frame: u64,
    pub timestamp_ms: f64,
    pub faces: Vec<FaceReport>,
}

impl FrameRecord {
    pub fn from_result(r: &FrameResult) -> FrameRecord {
        FrameRecord {
            frame: r.frame,
            timestamp_ms: r.timestamp_ms,
            faces: FaceReport::all(&r.faces, &r.detections),
        }
    }
}

/// The result for one input of `detect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputReport {
    pub input: String,
    /// "image" or "video" (null when the input could not be opened).
    pub kind: Option<&'static str>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// The error message when the input could not be (fully) processed.
    pub error: Option<String>,
    pub frames: Vec<FrameRecord>,
    /// Session summary (final mood over the frames; for an image, its faces).
    pub summary: Option<SessionSummary>,
}

impl InputReport {
    /// The report of an input that could not be processed at all.
    pub fn failed(path: &std::path::Path, error: String) -> InputReport {
        InputReport {
            input: path.display().to_string(),
            kind: None,
            width: None,
            height: None,
            error: Some(error),
            frames: Vec::new(),
            summary: None,
        }
    }

    pub fn faces(&self) -> usize {
        self.frames.iter().map(|f| f.faces.len()).sum()
    }
}

/// Everything `detect` found. JSON: `{"inputs":[{"input":"a.jpg","kind":"image","width":350,
/// "height":350,"error":null,"frames":[{"frame":0,"timestamp_ms":0.0,"faces":[{"face":0,
/// "track_id":1,"bbox":{"x":..,"y":..,"w":..,"h":..},"probabilities":{"angry":..,...},
/// "top3":[{"emotion":"happy","probability":0.8},...]}]}],"summary":{...}}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectOutcome {
    pub inputs: Vec<InputReport>,
}

impl DetectOutcome {
    /// Inputs that failed (their error is in the report).
    pub fn failed(&self) -> usize {
        self.inputs.iter().filter(|r| r.error.is_some()).count()
    }

    /// The exit code the binary should use: 0 when every input was processed (faces or not),
    /// 1 when any input failed.
    pub fn exit_code(&self) -> i32 {
        if self.failed() > 0 {
            1
        } else {
            0
        }
    }
}

/// What a live session produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveOutcome {
    pub source: String,
    /// Frames processed.
    pub frames: u64,
    /// Frames dropped because processing fell behind (camera or --realtime).
    pub dropped: u64,
    pub seconds: f64,
    /// Processed frames per second (wall clock).
    pub fps: f64,
    pub summary: SessionSummary,
}

/// One line of headless `live --json` output (JSON lines):
/// `{"frame":12,"timestamp_ms":480.0,"dropped":0,"faces":[{"track_id":1,"bbox":{..},
/// "probabilities":{"angry":..},"smoothed":{..},"top3":[{"emotion":"happy","probability":0.8},..]}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveFrameLine {
    pub frame: u64,
    pub timestamp_ms: f64,
    pub dropped: u64,
    pub faces: Vec<FaceReport>,
}

impl LiveFrameLine {
    pub fn from_result(r: &FrameResult) -> LiveFrameLine {
        LiveFrameLine {
            frame: r.frame,
            timestamp_ms: r.timestamp_ms,
            dropped: r.dropped_so_far,
            faces: FaceReport::all(&r.faces, &r.detections),
        }
    }
}

/// Mean milliseconds per frame of each stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageMs {
    pub decode: f64,
    pub detect: f64,
    pub preprocess: f64,
    pub classify: f64,
    pub track: f64,
}

impl StageMs {
    pub fn from_times(t: &StageTimes) -> StageMs {
        let n = t.frames.max(1) as f64;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / n;
        StageMs {
            decode: ms(t.decode),
            detect: ms(t.detect),
            preprocess: ms(t.preprocess),
            classify: ms(t.classify),
            track: ms(t.track),
        }
    }
}

/// The benchmark's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub input: String,
    pub width: i32,
    pub height: i32,
    pub frames: u64,
    /// Frames with exactly one face.
    pub frames_with_one_face: u64,
    /// Faces found over all frames.
    pub face_observations: u64,
    pub seconds: f64,
    /// End-to-end frames per second (decode through tracking).
    pub fps: f64,
    pub per_frame_ms: StageMs,
    /// Threads OpenCV uses.
    pub opencv_threads: i32,
}
