//! `moodlens live`: a webcam (or a video file) through the pipeline with a window showing boxes
//! and the smoothed top-3 per face (or one line / one JSON line per frame with `--headless`); at
//! the end the session's mood and recommendations for it.

use super::args::{ModelArgs, PipelineArgs, SummaryArgs};
use super::detect::face_line;
use super::recommend::end_of_session;
use anyhow::{bail, Result};
use clap::Args;
use moodlens_vision::opencv::highgui;
use moodlens_vision::run::{live_session, Annotate, Flow};
use moodlens_vision::source::{Input, Pace};
use moodlens_vision::{FrameResult, LiveFrameLine, LiveOutcome};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
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
    /// JSON Lines: one line per frame (headless), then one line with the session's summary and
    /// recommendations.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many processed frames.
    #[arg(long, value_name = "N")]
    pub max_frames: Option<u64>,
    /// Also write the annotated video here.
    #[arg(long, value_name = "OUT")]
    pub annotate: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub summary: SummaryArgs,
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

fn open_window() -> Result<()> {
    if !display_available() {
        bail!(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset); run with --headless on machines \
             without a display"
        );
    }
    highgui::named_window(WINDOW, highgui::WINDOW_AUTOSIZE).map_err(|e| {
        anyhow::anyhow!(
            "cannot open a window ({}); run with --headless on machines without a display",
            e.message
        )
    })
}

/// One headless line per frame: text, or a JSON line with `json`.
fn print_frame(out: &mut dyn Write, r: &FrameResult, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &LiveFrameLine::from_result(r))?;
        return writeln!(out);
    }
    let faces: Vec<String> = r.faces.iter().map(|f| face_line(f, true)).collect();
    writeln!(
        out,
        "frame {} ({:.2} s): {} face(s){}{}",
        r.frame,
        r.timestamp_ms / 1000.0,
        r.faces.len(),
        if faces.is_empty() { "" } else { ": " },
        faces.join("; ")
    )
}

/// The session through the pipeline: per-frame lines (headless) or the window.
fn run_session(a: &LiveArgs, out: &mut dyn Write) -> Result<LiveOutcome> {
    let cfg = a.pipeline.config();
    let mut pipeline = cfg.pipeline(a.model.classifier()?)?;
    let input = match &a.input {
        Some(p) => Input::File(p.clone()),
        None => Input::Camera(a.camera),
    };
    let pace = if a.realtime {
        Pace::Realtime
    } else {
        Pace::AsFastAsPossible
    };
    if !a.headless {
        open_window()?;
    }
    let annotate = a.annotate.clone().map(|target| Annotate {
        target,
        landmarks: a.pipeline.landmarks,
    });
    let outcome = live_session(
        &mut pipeline,
        &input,
        pace,
        cfg.limits,
        annotate.as_ref(),
        !a.headless,
        a.max_frames,
        &mut |frame, r| {
            if a.headless {
                print_frame(out, r, a.json)?;
                return Ok(Flow::Continue);
            }
            highgui::imshow(WINDOW, &frame.image)?;
            let key = highgui::wait_key(1)?;
            Ok(if key == 'q' as i32 || key == 'Q' as i32 || key == 27 {
                Flow::Stop
            } else {
                Flow::Continue
            })
        },
    );
    if !a.headless {
        let _ = highgui::destroy_window(WINDOW);
    }
    Ok(outcome?)
}

pub fn run(a: LiveArgs) -> Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let outcome = run_session(&a, &mut out)?;
    let source = if a.input.is_some() { "video" } else { "camera" };
    let seen = outcome.summary.face_observations > 0;
    if a.json {
        // JSON Lines: the frames, then one line with the summary and the recommendations
        let rec = if seen {
            end_of_session(&[&outcome.summary], source, &a.summary, None)
        } else {
            None
        };
        serde_json::to_writer(
            &mut out,
            &super::with_recommendations(&outcome, rec.as_ref())?,
        )?;
        writeln!(out)?;
        return Ok(0);
    }
    writeln!(
        out,
        "session: {} frames from {} in {:.2} s ({:.1} fps, {} dropped)",
        outcome.frames, outcome.source, outcome.seconds, outcome.fps, outcome.dropped
    )?;
    writeln!(out, "{}", outcome.summary)?;
    if !seen {
        writeln!(out, "No face was seen, so no mood and no recommendations.")?;
    } else if !a.summary.no_recommend {
        end_of_session(&[&outcome.summary], source, &a.summary, Some(&mut out));
    }
    Ok(0)
}
