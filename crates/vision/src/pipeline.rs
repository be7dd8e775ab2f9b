//! The frame pipeline: source → detect → crop → classify (one batch per frame) → track/smooth.

use crate::crop::{crop_detection, CropConfig};
use crate::detect::{Detection, FaceDetector};
use crate::error::{Result, VisionError};
use crate::source::{Frame, FrameSource};
use moodlens_session::{BBox, FaceObservation, Probs, Session, SessionConfig, SessionSummary};
use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use std::time::{Duration, Instant};

pub use moodlens_common::EmotionClassifier;

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
    /// The detector's view of each face, in the order of `faces`: box, score, landmarks (YuNet).
    pub detections: Vec<Detection>,
}

/// Detection + classification + tracking over frames, generic over the detector and classifier.
pub struct Pipeline<D: FaceDetector, C: EmotionClassifier> {
    finder: FaceFinder<D>,
    classifier: C,
    session: Session,
    times: StageTimes,
}

/// The detection half of a [`Pipeline`]: gray conversion, full or region scans, crops. Its state
/// depends only on earlier detections, never on the classifier, so it can run one frame ahead of
/// classification ([`Pipeline::run`]).
struct FaceFinder<D: FaceDetector> {
    detector: D,
    crop: CropConfig,
    gray: Mat,
    full_scan_every: u32,
    since_full: u32,
    last_boxes: Vec<BBox>,
}

/// Default period of full-frame scans while faces are tracked (see [`Pipeline::with_full_scan_every`]).
pub const DEFAULT_FULL_SCAN_EVERY: u32 = 5;

impl<D: FaceDetector> FaceFinder<D> {
    /// Detects the faces of a BGR (or gray) frame and returns their boxes and crops; no
    /// classification, no tracking.
    fn faces(
        &mut self,
        image: &Mat,
        times: &mut StageTimes,
    ) -> Result<(Vec<Detection>, Vec<Vec<u8>>)> {
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
        let found = if full {
            self.since_full = 0;
            self.detector.detect_faces(image, &gray)?
        } else {
            self.since_full += 1;
            let b = self
                .detector
                .detect_faces_near(image, &gray, &self.last_boxes)?;
            if b.len() < self.last_boxes.len() {
                // Lost a face: look everywhere next frame.
                self.since_full = self.full_scan_every;
            }
            b
        };
        self.last_boxes = found.iter().map(|d| d.bbox).collect();
        let t1 = Instant::now();
        let crops = found
            .iter()
            .map(|d| crop_detection(&gray, d, &self.crop))
            .collect::<Result<Vec<_>>>()?;
        self.gray = gray;
        let t2 = Instant::now();
        times.detect += t1 - t0;
        times.preprocess += t2 - t1;
        Ok((found, crops))
    }

    fn reset(&mut self) {
        self.since_full = 0;
        self.last_boxes.clear();
    }
}

impl<D: FaceDetector, C: EmotionClassifier> Pipeline<D, C> {
    pub fn new(detector: D, classifier: C, crop: CropConfig, session: SessionConfig) -> Self {
        Pipeline {
            finder: FaceFinder {
                detector,
                crop,
                gray: Mat::default(),
                full_scan_every: 1,
                since_full: 0,
                last_boxes: Vec::new(),
            },
            classifier,
            session: Session::new(session),
            times: StageTimes::default(),
        }
    }

    /// Scan the whole frame only every `n` frames while faces are being tracked, and only around
    /// the previous frame's faces in between ([`FaceDetector::detect_near`]); a frame with fewer
    /// faces than the one before, or no face, triggers a full scan next. `n <= 1` (the default of
    /// [`Pipeline::new`]) scans every frame fully. New faces appear at most `n - 1` frames late.
    pub fn with_full_scan_every(mut self, n: u32) -> Self {
        self.finder.full_scan_every = n.max(1);
        self
    }

    /// Detects the faces of a BGR (or gray) frame and returns their boxes and crops; no
    /// classification, no tracking.
    pub fn faces(&mut self, image: &Mat) -> Result<(Vec<BBox>, Vec<Vec<u8>>)> {
        let (d, c) = self.finder.faces(image, &mut self.times)?;
        Ok((d.into_iter().map(|d| d.bbox).collect(), c))
    }

    /// [`Pipeline::faces`] with the detector's scores and landmarks.
    pub fn detections(&mut self, image: &Mat) -> Result<(Vec<Detection>, Vec<Vec<u8>>)> {
        self.finder.faces(image, &mut self.times)
    }

    /// Processes one frame through every stage.
    pub fn process(&mut self, frame: &Frame) -> Result<FrameResult> {
        let (boxes, crops) = self.finder.faces(&frame.image, &mut self.times)?;
        classify_and_track(
            &mut self.classifier,
            &mut self.session,
            &mut self.times,
            frame,
            &boxes,
            &crops,
        )
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

    /// Runs `source` to its end, calling `on_frame` for each frame (which it may draw on) and its
    /// result (return `false` to stop early),
    /// and returns the session summary. Decoding and detection of the next frame run on a second
    /// thread while the current frame is classified (the two halves share no state: detection
    /// depends only on earlier detections), so on two cores a frame costs about the longer of the
    /// two halves instead of their sum; results, order and stage times are the same as calling
    /// [`Pipeline::step`] in a loop. At most one detected frame waits for the classifier.
    pub fn run(
        &mut self,
        source: &mut dyn FrameSource,
        mut on_frame: impl FnMut(&mut Frame, &FrameResult) -> Result<bool>,
    ) -> Result<SessionSummary>
    where
        D: Send,
    {
        type Detected = (Frame, Vec<Detection>, Vec<Vec<u8>>, u64, StageTimes);
        let Pipeline {
            finder,
            classifier,
            session,
            times,
        } = self;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Detected>>(1);
        std::thread::scope(|scope| -> Result<()> {
            scope.spawn(move || loop {
                let mut t = StageTimes::default();
                let t0 = Instant::now();
                let item = match source.next_frame() {
                    Ok(Some(frame)) => {
                        t.decode += t0.elapsed();
                        finder
                            .faces(&frame.image, &mut t)
                            .map(|(b, c)| (frame, b, c, source.dropped(), t))
                    }
                    Ok(None) => break,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                // The receiver is gone when the consumer stopped (early stop or error).
                if tx.send(item).is_err() || failed {
                    break;
                }
            });
            for item in rx {
                let (mut frame, boxes, crops, dropped, t) = item?;
                times.decode += t.decode;
                times.detect += t.detect;
                times.preprocess += t.preprocess;
                let mut r = classify_and_track(classifier, session, times, &frame, &boxes, &crops)?;
                r.dropped_so_far = dropped;
                if !on_frame(&mut frame, &r)? {
                    break;
                }
            }
            Ok(())
        })?;
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
        self.finder.reset();
    }

    pub fn classifier_mut(&mut self) -> &mut C {
        &mut self.classifier
    }

    pub fn detector_mut(&mut self) -> &mut D {
        &mut self.finder.detector
    }
}

/// The classification half of a frame: one batch through the classifier, then tracking and
/// smoothing.
fn classify_and_track<C: EmotionClassifier>(
    classifier: &mut C,
    session: &mut Session,
    times: &mut StageTimes,
    frame: &Frame,
    detections: &[Detection],
    crops: &[Vec<u8>],
) -> Result<FrameResult> {
    let boxes: Vec<BBox> = detections.iter().map(|d| d.bbox).collect();
    let t0 = Instant::now();
    let probs: Vec<Probs> = if crops.is_empty() {
        Vec::new()
    } else {
        let p = classifier
            .classify(crops)
            .map_err(|e| VisionError::Classifier(Box::new(e)))?;
        if p.len() != crops.len() {
            return Err(VisionError::ClassifierOutput {
                expected: crops.len(),
                got: p.len(),
            });
        }
        p
    };
    let t1 = Instant::now();
    let faces = session
        .observe(&boxes, &probs)
        .map_err(|e| VisionError::ClassifierOutput {
            expected: e.boxes,
            got: e.probabilities,
        })?;
    let t2 = Instant::now();
    times.classify += t1 - t0;
    times.track += t2 - t1;
    times.frames += 1;
    Ok(FrameResult {
        frame: frame.index,
        timestamp_ms: frame.timestamp_ms,
        width: frame.image.cols(),
        height: frame.image.rows(),
        faces,
        dropped_so_far: 0,
        detections: detections.to_vec(),
    })
}
