//! The library side of the `moodlens detect`, `moodlens live` and `moodlens bench` commands: clap
//! argument structs (flatten them into the binary's subcommands) and one `run_*` function each,
//! generic over the [`EmotionClassifier`]. The binary only parses arguments, builds the classifier,
//! calls these and maps the outcome to an exit code.

use crate::annotate::{draw, draw_landmarks, AnnotatedWriter};
use crate::crop::{
    CropConfig, DEFAULT_EYE_DISTANCE, DEFAULT_EYE_Y, DEFAULT_MARGIN, DEFAULT_Y_OFFSET,
};
use crate::detect::{
    DetectorConfig, DetectorKind, FaceDetector, HaarConfig, DEFAULT_DETECT_WIDTH, DEFAULT_MIN_FACE,
    DEFAULT_MIN_NEIGHBORS, DEFAULT_SCALE_FACTOR,
};
use crate::error::{Result, VisionError};
use crate::pipeline::{
    EmotionClassifier, FrameResult, Pipeline, StageTimes, DEFAULT_FULL_SCAN_EVERY,
};
use crate::report::FaceReport;
use crate::source::{self, open_input, FrameSource, ImageLimits, Input, InputKind, Pace};
use crate::testvideo::{compose_video, shared_data_dir, Actor};
use crate::yunet::{YuNetConfig, DEFAULT_INPUT_SIDE, DEFAULT_SCORE_THRESHOLD};
use moodlens_session::{top3, Emotion, SessionConfig, SessionSummary, TrackerConfig};
use opencv::highgui;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Detector, framing and smoothing options shared by `detect`, `live` and `bench`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct PipelineArgs {
    /// Face detector: yunet (embedded YuNet: scores, five landmarks, eye-aligned crops) or haar
    /// (OpenCV's Haar cascade, the original design's).
    #[arg(long, default_value = "yunet", value_name = "yunet|haar")]
    pub detector: DetectorKind,
    /// YuNet: keep faces scoring at least this (0..1).
    #[arg(long, default_value_t = DEFAULT_SCORE_THRESHOLD, value_parser = unit_interval)]
    pub score_threshold: f32,
    /// YuNet: the frame's longer side is scaled to this for the network (larger finds smaller
    /// faces, at about quadratic cost; 320 finds faces of about 35 px and more at 1600 px).
    #[arg(long, default_value_t = DEFAULT_INPUT_SIDE, value_name = "PX")]
    pub detect_size: u32,
    /// Draw the five landmarks (YuNet) in annotated output (--annotate) and the live window.
    #[arg(long)]
    pub landmarks: bool,
    /// YuNet: crop by the box (with --margin) instead of aligning the eyes.
    #[arg(long)]
    pub no_align: bool,
    /// Aligned crops: eye distance as a fraction of the crop side.
    #[arg(long, default_value_t = DEFAULT_EYE_DISTANCE, value_parser = eye_fraction)]
    pub eye_distance: f32,
    /// Aligned crops: eye-line height as a fraction of the crop side.
    #[arg(long, default_value_t = DEFAULT_EYE_Y, value_parser = eye_fraction)]
    pub eye_y: f32,
    /// Haar cascade XML (default: OpenCV's haarcascade_frontalface_default.xml, embedded in the binary).
    #[arg(long, value_name = "XML")]
    pub cascade: Option<PathBuf>,
    /// Haar pyramid scale step.
    #[arg(long, default_value_t = DEFAULT_SCALE_FACTOR, value_parser = scale_factor)]
    pub scale_factor: f64,
    /// Haar neighbours needed to keep a face.
    #[arg(long, default_value_t = DEFAULT_MIN_NEIGHBORS)]
    pub min_neighbors: i32,
    /// Smallest face as a fraction of the frame's shorter side.
    #[arg(long, default_value_t = DEFAULT_MIN_FACE, value_parser = face_fraction)]
    pub min_face: f64,
    /// Detect on a copy downscaled to this width (0 = full resolution).
    #[arg(long, default_value_t = DEFAULT_DETECT_WIDTH)]
    pub detect_width: u32,
    /// Crop margin per side, fraction of the face box (measured to match FER-2013's framing).
    #[arg(long, default_value_t = DEFAULT_MARGIN)]
    pub margin: f32,
    /// Downward shift of the crop centre, fraction of the face box height.
    #[arg(long, default_value_t = DEFAULT_Y_OFFSET, allow_hyphen_values = true)]
    pub y_offset: f32,
    /// Rolling window (frames) that smooths each face's probabilities.
    #[arg(long, default_value_t = 10, value_parser = window_frames)]
    pub window: usize,
    /// Minimum IoU to keep a face's identity from one frame to the next.
    #[arg(long, default_value_t = 0.3, value_parser = iou_threshold)]
    pub iou: f32,
    /// Refuse images with more pixels than this.
    #[arg(long, default_value_t = 50_000_000)]
    pub max_image_pixels: u64,
    /// While faces are tracked, scan the whole frame only every N frames and only around the known
    /// faces in between (live and bench; `detect` always scans whole frames). 1 = always full.
    #[arg(long, default_value_t = DEFAULT_FULL_SCAN_EVERY, value_name = "N")]
    pub full_scan_every: u32,
}

/// A number in `lo..=hi` (or `lo < x <= hi` with `open_low`) for option values.
fn number_in<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    s: &str,
    lo: T,
    hi: T,
    open_low: bool,
    what: &str,
) -> std::result::Result<T, String> {
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    let low_ok = if open_low { v > lo } else { v >= lo };
    if low_ok && v <= hi {
        Ok(v)
    } else {
        let l = if open_low { "above" } else { "at least" };
        Err(format!(
            "{what}: must be {l} {lo} and at most {hi}, got {v}"
        ))
    }
}

fn window_frames(s: &str) -> std::result::Result<usize, String> {
    number_in(s, 1, 10_000, false, "the smoothing window in frames")
}

fn unit_interval(s: &str) -> std::result::Result<f32, String> {
    number_in(s, 0.0, 1.0, false, "a score between 0 and 1")
}
fn eye_fraction(s: &str) -> std::result::Result<f32, String> {
    number_in(s, 0.05, 0.95, false, "a fraction of the crop side")
}
fn scale_factor(s: &str) -> std::result::Result<f64, String> {
    number_in(s, 1.0, 2.0, true, "the pyramid step")
}
fn face_fraction(s: &str) -> std::result::Result<f64, String> {
    number_in(s, 0.0, 1.0, true, "a fraction of the frame's shorter side")
}
fn iou_threshold(s: &str) -> std::result::Result<f32, String> {
    number_in(s, 0.0, 1.0, true, "an overlap (IoU)")
}

impl Default for PipelineArgs {
    fn default() -> Self {
        PipelineArgs {
            detector: DetectorKind::default(),
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            detect_size: DEFAULT_INPUT_SIDE,
            landmarks: false,
            no_align: false,
            eye_distance: DEFAULT_EYE_DISTANCE,
            eye_y: DEFAULT_EYE_Y,
            cascade: None,
            scale_factor: DEFAULT_SCALE_FACTOR,
            min_neighbors: DEFAULT_MIN_NEIGHBORS,
            min_face: DEFAULT_MIN_FACE,
            detect_width: DEFAULT_DETECT_WIDTH,
            margin: DEFAULT_MARGIN,
            y_offset: DEFAULT_Y_OFFSET,
            window: 10,
            iou: 0.3,
            max_image_pixels: 50_000_000,
            full_scan_every: DEFAULT_FULL_SCAN_EVERY,
        }
    }
}

impl PipelineArgs {
    pub fn haar(&self) -> HaarConfig {
        HaarConfig {
            cascade: self.cascade.clone(),
            scale_factor: self.scale_factor,
            min_neighbors: self.min_neighbors,
            min_face: self.min_face,
            detect_width: (self.detect_width > 0).then_some(self.detect_width),
            equalize: true,
            merge_nested: true,
        }
    }

    pub fn crop(&self) -> CropConfig {
        CropConfig {
            margin: self.margin,
            y_offset: self.y_offset,
            align: !self.no_align,
            eye_distance: self.eye_distance,
            eye_y: self.eye_y,
            ..CropConfig::default()
        }
    }

    /// The detector these options select.
    pub fn detector_config(&self) -> DetectorConfig {
        DetectorConfig {
            kind: self.detector,
            haar: self.haar(),
            yunet: YuNetConfig {
                score_threshold: self.score_threshold,
                input_side: self.detect_size.clamp(32, 4096),
                ..YuNetConfig::default()
            },
        }
    }

    pub fn session(&self) -> SessionConfig {
        SessionConfig {
            window: self.window.max(1),
            tracker: TrackerConfig {
                iou_threshold: self.iou,
                ..TrackerConfig::default()
            },
        }
    }

    pub fn limits(&self) -> ImageLimits {
        ImageLimits {
            max_pixels: self.max_image_pixels,
            ..ImageLimits::default()
        }
    }

    /// A pipeline with these settings around `classifier` (region scans between full scans as
    /// set by `--full-scan-every`).
    pub fn pipeline<C: EmotionClassifier>(
        &self,
        classifier: C,
    ) -> Result<Pipeline<Box<dyn FaceDetector + Send>, C>> {
        Ok(Pipeline::new(
            self.detector_config().build()?,
            classifier,
            self.crop(),
            self.session(),
        )
        .with_full_scan_every(self.full_scan_every))
    }
}

// ---------------------------------------------------------------------------------------------
// detect
// ---------------------------------------------------------------------------------------------

/// `moodlens detect <image or video>... [--json | --csv <file>] [--annotate <out>]`
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct DetectArgs {
    /// Images (jpg, png, bmp, tiff, webp, pnm) and/or videos (anything the system FFmpeg decodes).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Print one JSON document (see `DetectOutcome`) instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write one CSV row per face to this file (`-` = standard output).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the annotated image/video here (a folder when there are several inputs).
    #[arg(long, value_name = "OUT")]
    pub annotate: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
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
            faces: r
                .faces
                .iter()
                .enumerate()
                .map(|(i, f)| FaceReport::new(i, f, r.detections.get(i)))
                .collect(),
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

/// CSV header of `detect --csv`.
pub fn csv_header() -> String {
    let mut h = String::from("input,frame,timestamp_ms,face,track_id,x,y,w,h");
    for e in Emotion::ALL {
        h.push(',');
        h.push_str(e.label());
    }
    h.push_str(",top1,top1_p,top2,top2_p,top3,top3_p");
    h
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV rows (no header) of one input report, one per face.
pub fn csv_rows(r: &InputReport) -> Vec<String> {
    let mut rows = Vec::new();
    for f in &r.frames {
        for face in &f.faces {
            let b = face.bbox;
            let mut row = format!(
                "{},{},{:.1},{},{},{},{},{},{}",
                csv_field(&r.input),
                f.frame,
                f.timestamp_ms,
                face.face,
                face.track_id,
                b.x,
                b.y,
                b.w,
                b.h
            );
            for e in Emotion::ALL {
                row.push_str(&format!(",{:.5}", face.probabilities[&e]));
            }
            for s in &face.top3 {
                row.push_str(&format!(",{},{:.5}", s.emotion, s.probability));
            }
            rows.push(row);
        }
    }
    rows
}

/// Where the annotated copy of `input` goes: `out` itself for one input, else
/// `out/<stem>.annotated.<png|avi>`; a name already written in this run (same file name in two
/// folders) gets `-2`, `-3`, ... rather than overwriting, and says so.
fn annotate_target(
    out: &Path,
    input: &Path,
    many: bool,
    video: bool,
    used: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<PathBuf> {
    if !many {
        crate::annotate::check_output(out, video)?;
        return Ok(out.to_path_buf());
    }
    std::fs::create_dir_all(out).map_err(|e| VisionError::Write {
        path: out.to_path_buf(),
        reason: e.to_string(),
    })?;
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    let ext = if video { "avi" } else { "png" };
    let mut target = out.join(format!("{stem}.annotated.{ext}"));
    let mut n = 2;
    while used.contains(&target) {
        target = out.join(format!("{stem}-{n}.annotated.{ext}"));
        n += 1;
    }
    if n > 2 {
        tracing::warn!(
            "{}: another input has the same name; its annotated copy is {}",
            input.display(),
            target.display()
        );
    }
    used.insert(target.clone());
    Ok(target)
}

fn format_face_line(f: &moodlens_session::FaceObservation, smoothed: bool) -> String {
    let b = f.bbox;
    let t = if smoothed {
        f.top3.clone()
    } else {
        top3(&f.probabilities)
    };
    let labels: Vec<String> = t
        .iter()
        .map(|s| format!("{} {:.0}%", s.emotion, s.probability * 100.0))
        .collect();
    format!(
        "#{} [x={} y={} w={} h={}] {}",
        f.track_id,
        b.x,
        b.y,
        b.w,
        b.h,
        labels.join(", ")
    )
}

fn detect_one<C: EmotionClassifier>(
    path: &Path,
    args: &DetectArgs,
    pipeline: &mut Pipeline<Box<dyn FaceDetector + Send>, C>,
    out: &mut dyn Write,
    text: bool,
    used: &mut std::collections::BTreeSet<PathBuf>,
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
            args.pipeline.limits(),
        )?;
        let mut writer = match &args.annotate {
            Some(o) => {
                let target = annotate_target(o, path, args.inputs.len() > 1, video, used)?;
                Some(if video {
                    AnnotatedWriter::video(&target, src.fps().unwrap_or(25.0))
                } else {
                    AnnotatedWriter::image(&target)
                })
            }
            None => None,
        };
        if text {
            writeln!(out, "{}:", path.display())?;
        }
        while let Some((mut frame, r)) = pipeline.step(src.as_mut())? {
            report.width = Some(r.width);
            report.height = Some(r.height);
            if text {
                if video {
                    writeln!(
                        out,
                        "  frame {} ({:.2} s): {} face(s)",
                        r.frame,
                        r.timestamp_ms / 1000.0,
                        r.faces.len()
                    )?;
                } else {
                    writeln!(out, "  {} face(s)", r.faces.len())?;
                }
                for f in &r.faces {
                    writeln!(out, "    {}", format_face_line(f, false))?;
                }
            }
            if let Some(w) = writer.as_mut() {
                draw(&mut frame.image, &r)?;
                if args.pipeline.landmarks {
                    draw_landmarks(&mut frame.image, &r)?;
                }
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
        // reported once, on stderr, by the caller (the message names the file)
        report.error = Some(e.to_string());
    } else if text && report.kind == Some("video") {
        if let Some(s) = &report.summary {
            let _ = writeln!(out, "  summary: {}", s.to_string().replace('\n', "\n  "));
        }
    }
    report
}

/// Runs `detect`: every input through the pipeline (a fresh session per input), printing text,
/// JSON (`--json`) or CSV (`--csv -`) to `out`, writing `--csv <file>` and `--annotate <out>`.
/// A bad input is reported (in its [`InputReport::error`]) and the others still run; use
/// [`DetectOutcome::exit_code`]. Errors returned here are setup errors (cascade, CSV file).
pub fn run_detect<C: EmotionClassifier>(
    args: &DetectArgs,
    classifier: C,
    out: &mut dyn Write,
) -> Result<DetectOutcome> {
    crate::quiet_opencv_logs();
    // Offline detection: every frame scanned whole.
    let mut pipeline = args.pipeline.pipeline(classifier)?.with_full_scan_every(1);
    let csv_to_stdout = args.csv.as_deref() == Some(Path::new("-"));
    let text = !args.json && !csv_to_stdout;
    let mut outcome = DetectOutcome { inputs: Vec::new() };
    let mut used = std::collections::BTreeSet::new();
    for path in &args.inputs {
        let r = detect_one(path, args, &mut pipeline, out, text, &mut used);
        outcome.inputs.push(r);
    }
    if let Some(csv) = &args.csv {
        let mut s = csv_header();
        s.push('\n');
        for r in &outcome.inputs {
            for row in csv_rows(r) {
                s.push_str(&row);
                s.push('\n');
            }
        }
        if csv_to_stdout {
            out.write_all(s.as_bytes())?;
        } else {
            std::fs::write(csv, s).map_err(|e| VisionError::Write {
                path: csv.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &outcome)?;
        writeln!(out)?;
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// live
// ---------------------------------------------------------------------------------------------

/// `moodlens live [--camera N | --input <video>] [--headless] [--realtime] [--json]`
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LiveArgs {
    /// Camera index (OpenCV VideoCapture).
    #[arg(long, default_value_t = 0)]
    pub camera: i32,
    /// Read this video file instead of a camera.
    #[arg(long, value_name = "VIDEO")]
    pub input: Option<PathBuf>,
    /// No window: print per-frame results (one line each; JSON lines with --json).
    #[arg(long)]
    pub headless: bool,
    /// Play a video file at its frame rate, dropping frames when processing falls behind.
    #[arg(long)]
    pub realtime: bool,
    /// Machine-readable output: JSON lines per frame (headless) and the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many processed frames.
    #[arg(long, value_name = "N")]
    pub max_frames: Option<u64>,
    /// Also write the annotated video here.
    #[arg(long, value_name = "OUT")]
    pub annotate: Option<PathBuf>,
    /// Print the final summary (text, or JSON with `--json`) at the end. Not a flag: set it to
    /// false when the caller prints its own end-of-session output (e.g. with recommendations).
    #[arg(skip = true)]
    pub print_summary: bool,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
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
            faces: r
                .faces
                .iter()
                .enumerate()
                .map(|(i, f)| FaceReport::new(i, f, r.detections.get(i)))
                .collect(),
        }
    }
}

const WINDOW: &str = "moodlens";

/// Whether a window can be opened. On Linux, OpenCV's Qt/GTK backends abort the whole process
/// (not an error) when there is no display, so this is checked first; `QT_QPA_PLATFORM` (e.g.
/// `offscreen`) counts as a display.
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        ["DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
    } else {
        true
    }
}

/// Runs `live`: a camera or video through the pipeline until the source ends, `q`/Esc in the window,
/// or `--max-frames`. Headless prints a line per frame; both print the final summary (text, or JSON
/// with `--json`) to `out`. Errors: the source cannot be opened (missing camera, bad file, empty
/// video), no display for the window, the classifier fails.
pub fn run_live<C: EmotionClassifier>(
    args: &LiveArgs,
    classifier: C,
    out: &mut dyn Write,
) -> Result<LiveOutcome> {
    crate::quiet_opencv_logs();
    let mut pipeline = args.pipeline.pipeline(classifier)?;
    let pace = if args.realtime {
        Pace::Realtime
    } else {
        Pace::AsFastAsPossible
    };
    let input = match &args.input {
        Some(p) => Input::File(p.clone()),
        None => Input::Camera(args.camera),
    };
    let mut src: Box<dyn FrameSource> = open_input(&input, pace, args.pipeline.limits())?;
    if !args.headless {
        if !display_available() {
            return Err(VisionError::Window(
                "no display (DISPLAY and WAYLAND_DISPLAY are unset); run with --headless on \
                 machines without a display"
                    .into(),
            ));
        }
        highgui::named_window(WINDOW, highgui::WINDOW_AUTOSIZE).map_err(|e| {
            VisionError::Window(format!(
                "cannot open a window ({}); run with --headless on machines without a display",
                e.message
            ))
        })?;
    }
    if let Some(p) = &args.annotate {
        crate::annotate::check_output(p, true)?;
    }
    let mut writer = args
        .annotate
        .as_ref()
        .map(|p| AnnotatedWriter::video(p, src.fps().unwrap_or(25.0)));
    let t0 = Instant::now();
    let mut frames = 0u64;
    let mut dropped = 0u64;
    pipeline.run(src.as_mut(), |frame, r| {
        frames += 1;
        dropped = r.dropped_so_far;
        if args.headless {
            if args.json {
                serde_json::to_writer(&mut *out, &LiveFrameLine::from_result(r))?;
                writeln!(out)?;
            } else {
                let faces: Vec<String> =
                    r.faces.iter().map(|f| format_face_line(f, true)).collect();
                writeln!(
                    out,
                    "frame {} ({:.2} s): {} face(s){}{}",
                    r.frame,
                    r.timestamp_ms / 1000.0,
                    r.faces.len(),
                    if faces.is_empty() { "" } else { ": " },
                    faces.join("; ")
                )?;
            }
        }
        if writer.is_some() || !args.headless {
            draw(&mut frame.image, r)?;
            if args.pipeline.landmarks {
                draw_landmarks(&mut frame.image, r)?;
            }
        }
        if let Some(w) = writer.as_mut() {
            w.write(&frame.image)?;
        }
        if !args.headless {
            highgui::imshow(WINDOW, &frame.image)?;
            let key = highgui::wait_key(1)?;
            if key == 'q' as i32 || key == 'Q' as i32 || key == 27 {
                return Ok(false);
            }
        }
        Ok(args.max_frames.is_none_or(|m| frames < m))
    })?;
    let dropped = dropped.max(src.dropped());
    if !args.headless {
        let _ = highgui::destroy_window(WINDOW);
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let outcome = LiveOutcome {
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
    };
    if !args.print_summary {
        return Ok(outcome);
    }
    if args.json {
        // one line: `live --json` is JSON Lines (frames, then this summary)
        serde_json::to_writer(&mut *out, &outcome)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "session: {} frames from {} in {:.2} s ({:.1} fps, {} dropped)",
            outcome.frames, outcome.source, outcome.seconds, outcome.fps, outcome.dropped
        )?;
        writeln!(out, "{}", outcome.summary)?;
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// bench
// ---------------------------------------------------------------------------------------------

/// `moodlens bench [--input <video>] [--frames N] [--json]`
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct BenchArgs {
    /// A 640x480 video with one face; default: one is built from a realfaces photo of the shared
    /// data (`$MOODLENS_DATA` or ../shared/data).
    #[arg(long, value_name = "VIDEO")]
    pub input: Option<PathBuf>,
    /// Frames of the generated video.
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
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

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.per_frame_ms;
        writeln!(
            f,
            "{}: {} frames {}x{} in {:.2} s = {:.1} fps end to end ({} frames with one face, {} faces in all; OpenCV threads {})",
            self.input, self.frames, self.width, self.height, self.seconds, self.fps,
            self.frames_with_one_face, self.face_observations, self.opencv_threads
        )?;
        write!(
            f,
            "per frame: decode {:.2} ms, detect {:.2} ms, preprocess {:.3} ms, classify {:.2} ms, track {:.3} ms",
            s.decode, s.detect, s.preprocess, s.classify, s.track
        )
    }
}

/// Builds the default benchmark video: 640x480, `frames` frames at 30 fps, one realfaces photo
/// (pasted at 240x240) drifting across a plain background.
pub fn make_bench_video(out: &Path, frames: usize, data: &Path) -> Result<()> {
    make_bench_video_faces(out, frames, 1, data)
}

/// Like [`make_bench_video`] with `faces` (1 to 3) faces: the first as there, the others smaller
/// (160x160) photos of other people drifting in other directions (they may cross).
pub fn make_bench_video_faces(out: &Path, frames: usize, faces: usize, data: &Path) -> Result<()> {
    let mut actors = vec![Actor {
        photo: first_file(&data.join("realfaces/happy"))?,
        side: 240,
        start: (40, 100),
        velocity: (3, 1),
        brightness: 0.0,
        from: 0,
        until: usize::MAX,
    }];
    let others = [
        ("neutral", (440, 20), (-2, 1)),
        ("surprise", (300, 300), (2, -1)),
    ];
    for (class, start, velocity) in others.iter().take(faces.clamp(1, 3) - 1) {
        actors.push(Actor {
            photo: first_file(&data.join("realfaces").join(class))?,
            side: 160,
            start: *start,
            velocity: *velocity,
            brightness: 0.0,
            from: 0,
            until: usize::MAX,
        });
    }
    compose_video(out, (640, 480), 30.0, frames, &actors)?;
    Ok(())
}

fn first_file(dir: &Path) -> Result<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| VisionError::Unreadable {
            path: dir.to_path_buf(),
            reason: format!("{e} (set MOODLENS_DATA to the shared data folder)"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .next()
        .ok_or_else(|| VisionError::NotFound {
            path: dir.to_path_buf(),
        })
}

/// Runs `bench`: the whole pipeline over a 640x480 one-face video as fast as possible; prints and
/// returns fps and per-stage times.
pub fn run_bench<C: EmotionClassifier>(
    args: &BenchArgs,
    classifier: C,
    out: &mut dyn Write,
) -> Result<BenchReport> {
    crate::quiet_opencv_logs();
    let mut pipeline = args.pipeline.pipeline(classifier)?;
    let tmp;
    let input = match &args.input {
        Some(p) => p.clone(),
        None => {
            tmp = TempFile(
                std::env::temp_dir().join(format!("moodlens-bench-{}.avi", std::process::id())),
            );
            make_bench_video(&tmp.0, args.frames.max(1), &shared_data_dir())?;
            tmp.0.clone()
        }
    };
    let mut src = open_input(
        &Input::File(input.clone()),
        Pace::AsFastAsPossible,
        args.pipeline.limits(),
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
    let report = BenchReport {
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
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{report}")?;
    }
    Ok(report)
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(clap::Subcommand)]
    enum Cmd {
        Detect(DetectArgs),
        Live(LiveArgs),
        Bench(BenchArgs),
    }

    #[test]
    fn args_parse_with_defaults() {
        let t = T::try_parse_from(["x", "detect", "a.jpg", "b.mp4", "--json"]).unwrap();
        let Cmd::Detect(d) = t.cmd else { panic!() };
        assert_eq!(d.inputs.len(), 2);
        assert!(d.json);
        assert_eq!(d.pipeline, PipelineArgs::default());
        let t = T::try_parse_from([
            "x",
            "live",
            "--input",
            "v.avi",
            "--headless",
            "--realtime",
            "--margin",
            "0.2",
            "--y-offset",
            "-0.05",
        ])
        .unwrap();
        let Cmd::Live(l) = t.cmd else { panic!() };
        assert!(l.headless && l.realtime && l.print_summary);
        assert_eq!(l.pipeline.crop().margin, 0.2);
        assert_eq!(l.pipeline.crop().y_offset, -0.05);
        assert!(T::try_parse_from(["x", "detect"]).is_err());
        assert!(T::try_parse_from(["x", "detect", "a.jpg", "--json", "--csv", "f"]).is_err());
        let t = T::try_parse_from(["x", "bench"]).unwrap();
        let Cmd::Bench(b) = t.cmd else { panic!() };
        assert_eq!(b.frames, 300);
    }

    #[test]
    fn csv_header_has_all_emotions_in_order() {
        assert_eq!(
            csv_header(),
            "input,frame,timestamp_ms,face,track_id,x,y,w,h,angry,disgust,fear,happy,sad,surprise,neutral,top1,top1_p,top2,top2_p,top3,top3_p"
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
