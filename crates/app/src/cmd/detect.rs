//! `moodlens detect <image or video>...`: every face of every frame (box, detector score,
//! landmarks, seven probabilities, top-3) as text, JSON or CSV, annotated copies on request, then
//! the mood over all inputs and recommendations for it.

use super::args::{ModelArgs, PipelineArgs, SummaryArgs};
use super::recommend::end_of_session;
use anyhow::Result;
use clap::Args;
use moodlens_session::{top3, Emotion, FaceObservation};
use moodlens_vision::run::{detect_input, Annotate};
use moodlens_vision::source::InputKind;
use moodlens_vision::{DetectOutcome, InputReport};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct DetectArgs {
    /// Images (jpg, png, bmp, tiff, webp, pnm) and/or videos (anything the system FFmpeg decodes).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Print one JSON document (the inputs with their frames and faces, then the
    /// recommendations) instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write one CSV row per face to this file (`-` = standard output, and nothing else there).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the annotated image/video here (a folder when there are several inputs).
    #[arg(long, value_name = "OUT")]
    pub annotate: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub summary: SummaryArgs,
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

/// One face as a line of text: `#1 [x=.. y=.. w=.. h=..] happy 92%, neutral 5%, sad 1%`, from
/// the smoothed probabilities (`smoothed`) or this frame's.
pub fn face_line(f: &FaceObservation, smoothed: bool) -> String {
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

/// Where the annotated copy of `input` goes: `out` itself for one input, else
/// `out/<stem>.annotated.<png|avi>`; a name already written in this run (same file name in two
/// folders) gets `-2`, `-3`, ... rather than overwriting, and says so.
fn annotate_target(
    out: &Path,
    input: &Path,
    many: bool,
    used: &mut BTreeSet<PathBuf>,
) -> Result<PathBuf> {
    let video = moodlens_vision::source::input_kind(input)? == InputKind::Video;
    if !many {
        moodlens_vision::annotate::check_output(out, video)?;
        return Ok(out.to_path_buf());
    }
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create the folder {}: {e}", out.display()))?;
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

/// Text output of one frame of `detect`.
fn print_frame(
    out: &mut dyn Write,
    kind: InputKind,
    r: &moodlens_vision::FrameResult,
) -> std::io::Result<()> {
    if kind == InputKind::Video {
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
        writeln!(out, "    {}", face_line(f, false))?;
    }
    Ok(())
}

/// Every input through the pipeline (a fresh session each, every frame scanned whole), printing
/// text as frames come unless `text` is off. A bad input is reported in its report (said once on
/// stderr by the caller) and the others still run.
fn detect_all(a: &DetectArgs, out: &mut dyn Write, text: bool) -> Result<DetectOutcome> {
    let cfg = a.pipeline.config();
    let mut pipeline = cfg.pipeline(a.model.classifier()?)?.with_full_scan_every(1);
    let mut used = BTreeSet::new();
    let mut outcome = DetectOutcome { inputs: Vec::new() };
    for path in &a.inputs {
        let annotate = match &a.annotate {
            Some(o) => match annotate_target(o, path, a.inputs.len() > 1, &mut used) {
                Ok(target) => Some(Annotate {
                    target,
                    landmarks: a.pipeline.landmarks,
                }),
                Err(e) => {
                    outcome
                        .inputs
                        .push(InputReport::failed(path, e.to_string()));
                    continue;
                }
            },
            None => None,
        };
        if text {
            writeln!(out, "{}:", path.display())?;
        }
        let mut on_frame = |kind: InputKind, r: &moodlens_vision::FrameResult| {
            if text {
                print_frame(out, kind, r)
            } else {
                Ok(())
            }
        };
        let r = detect_input(
            path,
            &mut pipeline,
            cfg.limits,
            annotate.as_ref(),
            &mut on_frame,
        );
        if let Some(e) = &r.error {
            // a closed stdout is not the input's fault
            if e.ends_with("Broken pipe (os error 32)") {
                return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
            }
        } else if text && r.kind == Some("video") {
            if let Some(s) = &r.summary {
                writeln!(out, "  summary: {}", s.to_string().replace('\n', "\n  "))?;
            }
        }
        outcome.inputs.push(r);
    }
    Ok(outcome)
}

/// Returns the process exit code: 0 when every input was processed (faces or not), 1 when any
/// failed.
pub fn run(a: DetectArgs) -> Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let csv_to_stdout = a.csv.as_deref() == Some(Path::new("-"));
    let text = !a.json && !csv_to_stdout;
    let outcome = detect_all(&a, &mut out, text)?;
    for r in &outcome.inputs {
        if let Some(e) = &r.error {
            if e.contains(&r.input) {
                eprintln!("error: {e}");
            } else {
                eprintln!("error: {}: {e}", r.input);
            }
        }
    }
    if let Some(csv) = &a.csv {
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
            std::fs::write(csv, s)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", csv.display()))?;
        }
    }
    // The session's mood over every input that had faces, then recommendations: as text, inside
    // the JSON document (--json), or only recorded when stdout carries CSV (--csv -).
    let summaries: Vec<_> = outcome
        .inputs
        .iter()
        .filter_map(|r| r.summary.as_ref())
        .filter(|s| s.face_observations > 0)
        .collect();
    let rec = if summaries.is_empty() {
        None
    } else {
        let text_out: Option<&mut dyn Write> = if text { Some(&mut out) } else { None };
        end_of_session(&summaries, "image", &a.summary, text_out)
    };
    if a.json {
        let v = super::with_recommendations(&outcome, rec.as_ref())?;
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    }
    Ok(if outcome.failed() > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

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
