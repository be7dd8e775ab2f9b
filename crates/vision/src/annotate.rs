//! Annotated output: boxes and top-3 labels drawn on frames, written as an image or a video
//! (`--annotate <out>`), and shown in the live window.

use crate::error::{Result, VisionError};
use crate::pipeline::FrameResult;
use opencv::core::{Mat, Point, Rect, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc, videoio};
use std::path::{Path, PathBuf};

fn color_for(track_id: u32) -> Scalar {
    const PALETTE: [(f64, f64, f64); 6] = [
        (0.0, 220.0, 0.0),
        (0.0, 180.0, 255.0),
        (255.0, 120.0, 0.0),
        (200.0, 0.0, 200.0),
        (0.0, 220.0, 220.0),
        (80.0, 80.0, 255.0),
    ];
    let (b, g, r) = PALETTE[(track_id as usize) % PALETTE.len()];
    Scalar::new(b, g, r, 0.0)
}

/// Draws every face of `result` on `image` (BGR): its box, `#id`, and the top-3 emotions with
/// percentages (smoothed).
/// Draws the detector's five landmarks of every face (YuNet) as small filled dots: eyes, nose tip,
/// mouth corners, in the face's colour with a dark outline.
pub fn draw_landmarks(image: &mut Mat, result: &FrameResult) -> Result<()> {
    let r = ((image.cols().max(image.rows()) as f64 / 300.0).round() as i32).clamp(2, 6);
    for (f, d) in result.faces.iter().zip(&result.detections) {
        let Some(lm) = d.landmarks else { continue };
        let c = color_for(f.track_id);
        for p in lm {
            let at = opencv::core::Point::new(p[0].round() as i32, p[1].round() as i32);
            imgproc::circle(image, at, r + 1, Scalar::all(0.0), -1, imgproc::LINE_AA, 0)?;
            imgproc::circle(image, at, r, c, -1, imgproc::LINE_AA, 0)?;
        }
    }
    Ok(())
}

pub fn draw(image: &mut Mat, result: &FrameResult) -> Result<()> {
    let scale = (image.cols().max(image.rows()) as f64 / 900.0).clamp(0.6, 1.5);
    let line_h = (22.0 * scale).round() as i32;
    for f in &result.faces {
        let c = color_for(f.track_id);
        let b = f.bbox;
        imgproc::rectangle(
            image,
            Rect::new(b.x, b.y, b.w, b.h),
            c,
            2,
            imgproc::LINE_8,
            0,
        )?;
        let mut lines = vec![format!("#{}", f.track_id)];
        lines.extend(
            f.top3
                .iter()
                .map(|s| format!("{} {:.0}%", s.emotion, s.probability * 100.0)),
        );
        // Labels to the right of the box when they fit, else inside its top-left corner.
        let x = if b.x + b.w + (130.0 * scale) as i32 <= image.cols() {
            b.x + b.w + 4
        } else {
            b.x.max(0) + 4
        };
        for (i, text) in lines.iter().enumerate() {
            let y = (b.y.max(0) + line_h * (i as i32 + 1)).min(image.rows() - 4);
            for (thick, col) in [(3, Scalar::all(0.0)), (1, c)] {
                imgproc::put_text(
                    image,
                    text,
                    Point::new(x, y),
                    imgproc::FONT_HERSHEY_SIMPLEX,
                    0.6 * scale,
                    col,
                    thick,
                    imgproc::LINE_AA,
                    false,
                )?;
            }
        }
    }
    Ok(())
}

/// Writes annotated frames: one image for an image input, a video otherwise.
pub enum AnnotatedWriter {
    Image {
        path: PathBuf,
        written: bool,
    },
    Video {
        path: PathBuf,
        fps: f64,
        writer: Option<videoio::VideoWriter>,
    },
}

impl AnnotatedWriter {
    /// An image writer (format from the extension: .png, .jpg, ...).
    pub fn image(path: &Path) -> AnnotatedWriter {
        AnnotatedWriter::Image {
            path: path.to_path_buf(),
            written: false,
        }
    }

    /// A video writer at `fps`; the codec follows the extension: .avi → MJPG, .mp4/.m4v → mp4v,
    /// .webm → VP80, anything else → MJPG. Opened at the first frame (its size).
    pub fn video(path: &Path, fps: f64) -> AnnotatedWriter {
        AnnotatedWriter::Video {
            path: path.to_path_buf(),
            fps: if fps > 0.0 { fps } else { 25.0 },
            writer: None,
        }
    }

    /// Adds a frame (already annotated).
    pub fn write(&mut self, frame: &Mat) -> Result<()> {
        match self {
            AnnotatedWriter::Image { path, written } => {
                let ok =
                    imgcodecs::imwrite(&path_str(path)?, frame, &Vector::new()).map_err(|e| {
                        VisionError::Write {
                            path: path.clone(),
                            reason: e.message,
                        }
                    })?;
                if !ok {
                    return Err(VisionError::Write {
                        path: path.clone(),
                        reason: "OpenCV cannot encode this format (use .png or .jpg)".into(),
                    });
                }
                *written = true;
                Ok(())
            }
            AnnotatedWriter::Video { path, fps, writer } => {
                if writer.is_none() {
                    *writer = Some(open_video_writer(
                        path,
                        *fps,
                        Size::new(frame.cols(), frame.rows()),
                    )?);
                }
                if let Some(w) = writer.as_mut() {
                    w.write(frame)?;
                }
                Ok(())
            }
        }
    }

    /// Flushes and closes the output.
    pub fn finish(self) -> Result<()> {
        if let AnnotatedWriter::Video {
            writer: Some(mut w),
            ..
        } = self
        {
            w.release()?;
        }
        Ok(())
    }
}

fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| VisionError::Write {
            path: path.to_path_buf(),
            reason: "path is not valid UTF-8".into(),
        })
}

/// Image formats `--annotate` writes (by extension).
pub const IMAGE_OUTPUTS: [&str; 9] = [
    "png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "ppm", "pgm",
];
/// Video formats `--annotate` writes (by extension).
pub const VIDEO_OUTPUTS: [&str; 5] = ["avi", "mp4", "m4v", "mov", "webm"];

/// Checks an annotation target before any work: its folder exists and its extension is a format
/// written for this kind of input (an image for an image, a video for a video).
pub fn check_output(path: &Path, video: bool) -> Result<()> {
    let bad = |reason: String| VisionError::Write {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(bad(
            "is a folder (give a file name, or several inputs to write into a folder)".into(),
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(bad(format!("folder {} does not exist", dir.display())));
        }
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (ok, kind, list): (bool, &str, &[&str]) = if video {
        (
            VIDEO_OUTPUTS.contains(&ext.as_str()),
            "a video",
            &VIDEO_OUTPUTS,
        )
    } else {
        (
            IMAGE_OUTPUTS.contains(&ext.as_str()),
            "an image",
            &IMAGE_OUTPUTS,
        )
    };
    if ok {
        return Ok(());
    }
    let other = if video {
        IMAGE_OUTPUTS.contains(&ext.as_str())
    } else {
        VIDEO_OUTPUTS.contains(&ext.as_str())
    };
    Err(bad(if other {
        format!(
            "the input is {kind}, so its annotated copy is too: use .{}",
            list.join(", .")
        )
    } else {
        format!(
            "cannot write '{}' files for {kind}: use .{}",
            if ext.is_empty() {
                "(no extension)"
            } else {
                &ext
            },
            list.join(", .")
        )
    }))
}

/// Opens an OpenCV video writer with the codec chosen by the file extension.
pub fn open_video_writer(path: &Path, fps: f64, size: Size) -> Result<videoio::VideoWriter> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let cc = match ext.as_str() {
        "mp4" | "m4v" | "mov" => ['m', 'p', '4', 'v'],
        "webm" => ['V', 'P', '8', '0'],
        _ => ['M', 'J', 'P', 'G'],
    };
    let fourcc = videoio::VideoWriter::fourcc(cc[0], cc[1], cc[2], cc[3])?;
    let w = videoio::VideoWriter::new(&path_str(path)?, fourcc, fps, size, true)?;
    if !w.is_opened()? {
        return Err(VisionError::Write {
            path: path.to_path_buf(),
            reason: format!(
                "OpenCV cannot open a {} video writer here (try an .avi output)",
                cc.iter().collect::<String>()
            ),
        });
    }
    Ok(w)
}
