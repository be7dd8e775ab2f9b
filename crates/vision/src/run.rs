//! Whole runs of the pipeline over an input: one image or video file ([`detect_input`]), a camera or
//! video session ([`live_session`]) and the timing run over a video ([`bench_video`]), all set up
//! from one [`VisionConfig`]. No output is printed here: callers get every frame through a callback
//! and the outcome as a value ([`crate::report`]), and print it as they like (the `moodlens`
//! binary's `detect`, `live` and `bench` commands, the web app).

use crate::annotate::{draw, draw_landmarks, AnnotatedWriter};
use crate::crop::CropConfig;
use crate::detect::{DetectorConfig, FaceDetector};
use crate::error::Result;
use crate::pipeline::{EmotionClassifier, FrameResult, Pipeline, DEFAULT_FULL_SCAN_EVERY};
use crate::report::{BenchReport, FrameRecord, InputReport, LiveOutcome, StageMs};
use crate::source::{self, open_input, Frame, FrameSource, ImageLimits, Input, InputKind, Pace};
use moodlens_session::SessionConfig;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Everything that decides what the pipeline sees and how: the detector, the crop framing, the
/// smoothing/tracking session, the image size limits and how often a tracked frame is scanned
/// whole. `VisionConfig::default()` is the measured default of every setting (docs/VISION.md);
/// the command-line defaults are derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub detector: DetectorConfig,
    pub crop: CropConfig,
    pub session: SessionConfig,
    pub limits: ImageLimits,
    /// While faces are tracked, scan the whole frame only every N frames and only around the known
    /// faces in between (1 = always the whole frame).
    pub full_scan_every: u32,
}

impl Default for VisionConfig {
    fn default() -> Self {
        VisionConfig {
            detector: DetectorConfig::default(),
            crop: CropConfig::default(),
            session: SessionConfig::default(),
            limits: ImageLimits::default(),
            full_scan_every: DEFAULT_FULL_SCAN_EVERY,
        }
    }
}

/// The pipeline type every run here uses: any detector, a classifier of the caller's.
pub type BoxedPipeline<C> = Pipeline<Box<dyn FaceDetector + Send>, C>;

impl VisionConfig {
    /// A pipeline with these settings around `classifier`.
    pub fn pipeline<C: EmotionClassifier>(&self, classifier: C) -> Result<BoxedPipeline<C>> {
        Ok(
            Pipeline::new(self.detector.build()?, classifier, self.crop, self.session)
                .with_full_scan_every(self.full_scan_every.max(1)),
        )
    }
}

/// Where an annotated copy of the frames goes (boxes, top-3; landmarks when asked).
#[derive(Debug, Clone, PartialEq)]
pub struct Annotate {
    pub target: PathBuf,
    pub landmarks: bool,
}

fn annotate_frame(image: &mut opencv::core::Mat, r: &FrameResult, landmarks: bool) -> Result<()> {
    draw(image, r)?;
    if landmarks {
        draw_landmarks(image, r)?;
    }
    Ok(())
}

/// One image or video file through `pipeline` as a fresh session, every frame scanned whole:
/// `on_frame` sees each frame's result as it comes (the input's kind first), the annotated copy is
/// written to `annotate` when given. A bad input (unreadable, corrupt, too large, no frames) is
/// not an `Err`: its message is in [`InputReport::error`], with the frames read before it failed.
pub fn detect_input<C: EmotionClassifier>(
    path: &Path,
    pipeline: &mut BoxedPipeline<C>,
    limits: ImageLimits,
    annotate: Option<&Annotate>,
    on_frame: &mut dyn FnMut(InputKind, &FrameResult) -> std::io::Result<()>,
) -> InputReport {
    let mut report = InputReport {
        input: path.display().to_string(),
        kind: None,
        width: None,
        height: None,
        error: None,
        frames: Vec::new(),
        summary: None,
    };
    pipeline.reset();
    let result = (|| -> Result<()> {
        let kind = source::input_kind(path)?;
        let video = kind == InputKind::Video;
        report.kind = Some(if video { "video" } else { "image" });
        let mut src = open_input(
            &Input::File(path.to_path_buf()),
            Pace::AsFastAsPossible,
            limits,
        )?;
        let mut writer = annotate.map(|a| {
            if video {
                AnnotatedWriter::video(&a.target, src.fps().unwrap_or(25.0))
            } else {
                AnnotatedWriter::image(&a.target)
            }
        });
        while let Some((mut frame, r)) = pipeline.step(src.as_mut())? {
            report.width = Some(r.width);
            report.height = Some(r.height);
            on_frame(kind, &r)?;
            if let (Some(w), Some(a)) = (writer.as_mut(), annotate) {
                annotate_frame(&mut frame.image, &r, a.landmarks)?;
                w.write(&frame.image)?;
            }
            report.frames.push(FrameRecord::from_result(&r));
        }
        if let Some(w) = writer {
            w.finish()?;
        }
        Ok(())
    })();
    report.summary = Some(pipeline.summary());
    if let Err(e) = result {
        report.error = Some(e.to_string());
    }
    report
}

/// What [`live_session`] should do after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// A camera or video session: frames through `pipeline` until the source ends, `on_frame` says
/// [`Flow::Stop`] or `max_frames` were processed. `on_frame` gets the frame with boxes already
/// drawn when `draw_frames` is set (for a window). Errors: the source cannot be opened (missing
/// camera, bad file, empty video), the annotated output cannot be written, the classifier fails,
/// or `on_frame` fails.
#[allow(clippy::too_many_arguments)]
pub fn live_session<C: EmotionClassifier>(
    pipeline: &mut BoxedPipeline<C>,
    input: &Input,
    pace: Pace,
    limits: ImageLimits,
    annotate: Option<&Annotate>,
    draw_frames: bool,
    max_frames: Option<u64>,
    on_frame: &mut dyn FnMut(&mut Frame, &FrameResult) -> Result<Flow>,
) -> Result<LiveOutcome> {
    let mut src: Box<dyn FrameSource> = open_input(input, pace, limits)?;
    if let Some(a) = annotate {
        crate::annotate::check_output(&a.target, true)?;
    }
    let mut writer = annotate.map(|a| AnnotatedWriter::video(&a.target, src.fps().unwrap_or(25.0)));
    let landmarks = annotate.is_some_and(|a| a.landmarks);
    let t0 = Instant::now();
    let mut frames = 0u64;
    let mut dropped = 0u64;
    pipeline.run(src.as_mut(), |frame, r| {
        frames += 1;
        dropped = r.dropped_so_far;
        if writer.is_some() || draw_frames {
            annotate_frame(&mut frame.image, r, landmarks)?;
        }
        if let Some(w) = writer.as_mut() {
            w.write(&frame.image)?;
        }
        let flow = on_frame(frame, r)?;
        Ok(flow == Flow::Continue && max_frames.is_none_or(|m| frames < m))
    })?;
    let dropped = dropped.max(src.dropped());
    if let Some(w) = writer {
        w.finish()?;
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(LiveOutcome {
        source: src.name(),
        frames,
        dropped,
        seconds,
        fps: if seconds > 0.0 {
            frames as f64 / seconds
        } else {
            0.0
        },
        summary: pipeline.summary(),
    })
}

/// The whole pipeline over the video `input` as fast as possible: end-to-end frames per second
/// and the mean time of each stage per frame.
pub fn bench_video<C: EmotionClassifier>(
    pipeline: &mut BoxedPipeline<C>,
    input: &Path,
    limits: ImageLimits,
) -> Result<BenchReport> {
    let mut src = open_input(
        &Input::File(input.to_path_buf()),
        Pace::AsFastAsPossible,
        limits,
    )?;
    let (mut w, mut h, mut one, mut faces) = (0, 0, 0u64, 0u64);
    let t0 = Instant::now();
    pipeline.run(src.as_mut(), |_, r| {
        w = r.width;
        h = r.height;
        if r.faces.len() == 1 {
            one += 1;
        }
        faces += r.faces.len() as u64;
        Ok(true)
    })?;
    let seconds = t0.elapsed().as_secs_f64();
    let times = *pipeline.times();
    Ok(BenchReport {
        input: input.display().to_string(),
        width: w,
        height: h,
        frames: times.frames,
        frames_with_one_face: one,
        face_observations: faces,
        seconds,
        fps: times.frames as f64 / seconds.max(1e-9),
        per_frame_ms: StageMs::from_times(&times),
        opencv_threads: opencv::core::get_num_threads().unwrap_or(-1),
    })
}
