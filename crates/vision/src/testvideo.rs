//! Builds test and benchmark videos from real face photos: each photo is pasted on a plain
//! background and moved across the frame, and the ground-truth paste rectangles are returned.

use crate::annotate::open_video_writer;
use crate::error::{Result, VisionError};
use crate::source::{load_image, ImageLimits};
use opencv::core::{Mat, Rect, Scalar, Size, CV_8UC3};
use opencv::imgproc;
use opencv::prelude::*;
use std::path::{Path, PathBuf};

pub use moodlens_common::shared_data_dir;

/// One face moving through the video.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The photo (any size; resized to `side` x `side`).
    pub photo: PathBuf,
    /// Pasted size in pixels.
    pub side: i32,
    /// Top-left corner at frame 0.
    pub start: (i32, i32),
    /// Movement per frame in pixels (bounces off the frame edges).
    pub velocity: (i32, i32),
    /// Added to every pixel value of the photo (saturating), e.g. to tell actors apart.
    pub brightness: f64,
    /// First frame the actor is visible; it stays until `until` (exclusive).
    pub from: usize,
    pub until: usize,
}

/// Writes `frames` frames of `size` at `fps` to `out` (codec by extension; .avi = MJPG) and returns,
/// per frame, the rectangles where each visible actor was pasted (in actor order).
pub fn compose_video(
    out: &Path,
    size: (i32, i32),
    fps: f64,
    frames: usize,
    actors: &[Actor],
) -> Result<Vec<Vec<(usize, Rect)>>> {
    let (fw, fh) = size;
    let mut photos = Vec::new();
    for a in actors {
        let img = load_image(&a.photo, &ImageLimits::default())?;
        let mut resized = Mat::default();
        imgproc::resize(
            &img,
            &mut resized,
            Size::new(a.side, a.side),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )?;
        let mut adjusted = Mat::default();
        resized.convert_to(&mut adjusted, -1, 1.0, a.brightness)?;
        photos.push(adjusted);
    }
    let mut writer = open_video_writer(out, fps, Size::new(fw, fh))?;
    let mut truth = Vec::with_capacity(frames);
    for f in 0..frames {
        let mut canvas = Mat::new_rows_cols_with_default(fh, fw, CV_8UC3, Scalar::all(0.0))?;
        // A soft vertical gradient background (no structure a face detector could mistake).
        for band in 0..8 {
            let y0 = band * fh / 8;
            let y1 = (band + 1) * fh / 8;
            let v = 90.0 + 10.0 * band as f64;
            let mut roi = canvas.roi_mut(Rect::new(0, y0, fw, y1 - y0))?;
            roi.set_to_def(&Scalar::new(v, v + 5.0, v + 10.0, 0.0))?;
        }
        let mut visible = Vec::new();
        for (i, a) in actors.iter().enumerate() {
            if f < a.from || f >= a.until {
                continue;
            }
            let t = (f - a.from) as i32;
            let x = bounce(a.start.0 + a.velocity.0 * t, fw - a.side);
            let y = bounce(a.start.1 + a.velocity.1 * t, fh - a.side);
            let r = Rect::new(x, y, a.side, a.side);
            let mut roi = canvas.roi_mut(r)?;
            photos[i].copy_to(&mut roi)?;
            visible.push((i, r));
        }
        writer.write(&canvas)?;
        truth.push(visible);
    }
    writer.release()?;
    if !out.is_file() {
        return Err(VisionError::Write {
            path: out.to_path_buf(),
            reason: "the video writer produced no file".into(),
        });
    }
    Ok(truth)
}

/// Reflects `v` into `0..=max` (a ping-pong path).
fn bounce(v: i32, max: i32) -> i32 {
    if max <= 0 {
        return 0;
    }
    let period = 2 * max;
    let m = v.rem_euclid(period);
    if m <= max {
        m
    } else {
        period - m
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

#[cfg(test)]
mod tests {
    #[test]
    fn bounce_ping_pongs() {
        assert_eq!(super::bounce(0, 10), 0);
        assert_eq!(super::bounce(10, 10), 10);
        assert_eq!(super::bounce(12, 10), 8);
        assert_eq!(super::bounce(21, 10), 1);
        assert_eq!(super::bounce(-3, 10), 3);
        assert_eq!(super::bounce(5, 0), 0);
    }
}
