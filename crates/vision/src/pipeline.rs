//! The frame pipeline: source → detect → crop → classify (one batch per frame) → track/smooth.

use crate::crop::{crop_face, CropConfig};
use crate::detect::FaceDetector;
use crate::error::{Result, VisionError};
use crate::source::{Frame, FrameSource};
use moodlens_session::{
    BBox, FaceObservation, Probs, Session, SessionConfig, SessionSummary, NUM_EMOTIONS,
};
use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Turns a batch of face crops into emotion probabilities.
///
/// `faces` holds `CROP_SIZE * CROP_SIZE` grayscale bytes per face (row-major, 0..255, framed by
/// [`CropConfig`]); the result holds one vector per face, in the same order, with the seven
/// probabilities in [`moodlens_common::Emotion::ALL`] order. Implementors normalise with the
/// model's own `normalize` (the one training uses). Called once per frame with all its faces;
/// never with an empty batch.
pub trait EmotionClassifier {
    fn classify(&mut self, faces: &[Vec<u8>]) -> anyhow::Result<Vec<[f32; NUM_EMOTIONS]>>;
}

impl<T: EmotionClassifier + ?Sized> EmotionClassifier for &mut T {
    fn classify(&mut self, faces: &[Vec<u8>]) -> anyhow::Result<Vec<[f32; NUM_EMOTIONS]>> {
        (**self).classify(faces)
    }
}

impl<T: EmotionClassifier + ?Sized> EmotionClassifier for Box<T> {
    fn classify(&mut self, faces: &[Vec<u8>]) -> anyhow::Result<Vec<[f32; NUM_EMOTIONS]>> {
        (**self).classify(faces)
    }
}

/// Cumulative time per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimes {
    /// Frames processed.
    pub frames: u64,
    /// Reading and decoding frames (measured by [`Pipeline::run`] / callers via `add_decode`).
    pub decode: Duration,
    /// Gray conversion + downscale + Haar.
    pub detect: Duration,
    /// Cropping and resizing the faces.
    pub preprocess: Duration,
    /// The classifier's batch call.
    pub classify: Duration,
    /// Tracking, smoothing and summary bookkeeping.
    pub track: Duration,
}

impl StageTimes {
    pub fn total(&self) -> Duration {
        self.decode + self.detect + self.preprocess + self.classify + self.track
    }
}

/// The result of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameResult {
    pub frame: u64,
    pub timestamp_ms: f64,
    pub width: i32,
    pub height: i32,
    /// Faces in detection order (left to right for the Haar detector).
    pub faces: Vec<FaceObservation>,
    /// Frames the source had dropped up to this one (live camera / real-time pace).
    pub dropped_so_far: u64,
}

/// Detection + classification + tracking over frames, generic over the detector and classifier.
pub struct Pipeline<D: FaceDetector, C: EmotionClassifier> {
    detector: D,
    classifier: C,
    crop: CropConfig,
    session: Session,
    times: StageTimes,
    gray: Mat,
    full_scan_every: u32,
    since_full: u32,
    last_boxes: Vec<BBox>,
}

/// Default period of full-frame scans while faces are tracked (see [`Pipeline::with_full_scan_every`]).
pub const DEFAULT_FULL_SCAN_EVERY: u32 = 5;

impl<D: FaceDetector, C: EmotionClassifier> Pipeline<D, C> {
    pub fn new(detector: D, classifier: C, crop: CropConfig, session: SessionConfig) -> Self {
        Pipeline {
            detector,
            classifier,
            crop,
            session: Session::new(session),
            times: StageTimes::default(),
            gray: Mat::default(),
            full_scan_every: 1,
            since_full: 0,
            last_boxes: Vec::new(),
        }
    }

    /// Scan the whole frame only every `n` frames while faces are being tracked, and only around
    /// the previous frame's faces in between ([`FaceDetector::detect_near`]); a frame with fewer
    /// faces than the one before, or no face, triggers a full scan next. `n <= 1` (the default of
    /// [`Pipeline::new`]) scans every frame fully. New faces appear at most `n - 1` frames late.
    pub fn with_full_scan_every(mut self, n: u32) -> Self {
        self.full_scan_every = n.max(1);
        self
    }

    /// Detects the faces of a BGR (or gray) frame and returns their boxes and crops; no
    /// classification, no tracking.
    pub fn faces(&mut self, image: &Mat) -> Result<(Vec<BBox>, Vec<Vec<u8>>)> {
        let t0 = Instant::now();
        let gray = if image.channels() == 1 {
            image.try_clone()?
        } else {
            let code = if image.channels() == 4 {
                imgproc::COLOR_BGRA2GRAY
            } else {
                imgproc::COLOR_BGR2GRAY
            };
            imgproc::cvt_color_def(image, &mut self.gray, code)?;
            std::mem::take(&mut self.gray)
        };
        let full = self.full_scan_every <= 1
            || self.last_boxes.is_empty()
            || self.since_full + 1 >= self.full_scan_every;
        let boxes = if full {
            self.since_full = 0;
            self.detector.detect(&gray)?
        } else {
            self.since_full += 1;
            let b = self.detector.detect_near(&gray, &self.last_boxes)?;
            if b.len() < self.last_boxes.len() {
                // Lost a face: look everywhere next frame.
                self.since_full = self.full_scan_every;
            }
            b
        };
        self.last_boxes.clone_from(&boxes);
        let t1 = Instant::now();
        let crops = boxes
            .iter()
            .map(|b| crop_face(&gray, b, &self.crop))
            .collect::<Result<Vec<_>>>()?;
        self.gray = gray;
        let t2 = Instant::now();
        self.times.detect += t1 - t0;
        self.times.preprocess += t2 - t1;
        Ok((boxes, crops))
    }

    /// Processes one frame through every stage.
    pub fn process(&mut self, frame: &Frame) -> Result<FrameResult> {
        let (boxes, crops) = self.faces(&frame.image)?;
        let t0 = Instant::now();
        let probs: Vec<Probs> = if crops.is_empty() {
            Vec::new()
        } else {
            let p = self
                .classifier
                .classify(&crops)
                .map_err(VisionError::Classifier)?;
            if p.len() != crops.len() {
                return Err(VisionError::ClassifierOutput {
                    expected: crops.len(),
                    got: p.len(),
                });
            }
            p
        };
        let t1 = Instant::now();
        let faces =
            self.session
                .observe(&boxes, &probs)
                .map_err(|e| VisionError::ClassifierOutput {
                    expected: e.boxes,
                    got: e.probabilities,
                })?;
        let t2 = Instant::now();
        self.times.classify += t1 - t0;
        self.times.track += t2 - t1;
        self.times.frames += 1;
        Ok(FrameResult {
            frame: frame.index,
            timestamp_ms: frame.timestamp_ms,
            width: frame.image.cols(),
            height: frame.image.rows(),
            faces,
            dropped_so_far: 0,
        })
    }

    /// Reads the next frame from `source` and processes it; `Ok(None)` at the end of the source.
    /// Returns the frame too (for display/annotation).
    pub fn step(&mut self, source: &mut dyn FrameSource) -> Result<Option<(Frame, FrameResult)>> {
        let t0 = Instant::now();
        let frame = source.next_frame()?;
        self.times.decode += t0.elapsed();
        let Some(frame) = frame else {
            return Ok(None);
        };
        let mut r = self.process(&frame)?;
        r.dropped_so_far = source.dropped();
        Ok(Some((frame, r)))
    }

    /// Runs `source` to its end, calling `on_frame` for each result (return `false` to stop early),
    /// and returns the session summary.
    pub fn run(
        &mut self,
        source: &mut dyn FrameSource,
        mut on_frame: impl FnMut(&Frame, &FrameResult) -> Result<bool>,
    ) -> Result<SessionSummary> {
        while let Some((frame, r)) = self.step(source)? {
            if !on_frame(&frame, &r)? {
                break;
            }
        }
        Ok(self.summary())
    }

    pub fn summary(&self) -> SessionSummary {
        self.session.summary()
    }

    pub fn times(&self) -> &StageTimes {
        &self.times
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Starts a new session (identities, windows, votes) and resets the stage times; keeps the
    /// detector and classifier.
    pub fn reset(&mut self) {
        self.session = Session::new(*self.session.config());
        self.times = StageTimes::default();
        self.since_full = 0;
        self.last_boxes.clear();
    }

    pub fn classifier_mut(&mut self) -> &mut C {
        &mut self.classifier
    }

    pub fn detector_mut(&mut self) -> &mut D {
        &mut self.detector
    }
}

/// The trained burn model ([`moodlens_model::Classifier`]) as the pipeline's classifier.
impl EmotionClassifier for moodlens_model::Classifier {
    fn classify(&mut self, faces: &[Vec<u8>]) -> anyhow::Result<Vec<[f32; NUM_EMOTIONS]>> {
        let refs: Vec<&[u8]> = faces.iter().map(|f| f.as_slice()).collect();
        Ok(self.predict(&refs)?)
    }
}
