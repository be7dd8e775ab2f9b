//! Measures (1) where OpenCV's Haar box falls inside FER-2013's 48x48 frames, which gives the crop
//! framing (margin, vertical offset) that reproduces FER-2013's framing from a Haar box, and (2) the
//! Haar detection rate on `realfaces/` with the default detector settings.
//!
//! `cargo run --release -p moodlens-vision --example measure_framing [-- <per-class FER limit>]`

use moodlens_vision::detect::{FaceDetector, HaarConfig, HaarDetector};
use moodlens_vision::opencv::core::{self, Mat, Scalar, Size};
use moodlens_vision::opencv::imgproc;
use moodlens_vision::source::{load_image, ImageLimits};
use moodlens_vision::testvideo::shared_data_dir;
use std::time::Instant;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn quart(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 4], v[3 * v.len() / 4])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let data = shared_data_dir();
    let classes = [
        "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise",
    ];

    // (1) FER framing.
    let mut det = HaarDetector::new(HaarConfig {
        detect_width: None,
        min_neighbors: 3,
        min_face: 0.3,
        equalize: true,
        ..HaarConfig::default()
    })?;
    let (up, pad) = (192, 48);
    let (mut n, mut found) = (0usize, 0usize);
    let (mut margins, mut yoffs, mut xoffs, mut rel_w) = (vec![], vec![], vec![], vec![]);
    for c in classes {
        let dir = data.join("fer2013/test").join(c);
        let mut files: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for p in files.into_iter().take(limit) {
            let img = load_image(&p, &ImageLimits::default())?;
            let mut gray = Mat::default();
            imgproc::cvt_color_def(&img, &mut gray, imgproc::COLOR_BGR2GRAY)?;
            let mut big = Mat::default();
            imgproc::resize(
                &gray,
                &mut big,
                Size::new(up, up),
                0.0,
                0.0,
                imgproc::INTER_CUBIC,
            )?;
            let mut padded = Mat::default();
            core::copy_make_border(
                &big,
                &mut padded,
                pad,
                pad,
                pad,
                pad,
                core::BORDER_REPLICATE,
                Scalar::default(),
            )?;
            n += 1;
            let boxes = det.detect(&padded)?;
            if boxes.len() != 1 {
                continue;
            }
            found += 1;
            let b = boxes[0];
            let s = 48.0 / up as f64;
            // Box in FER 48x48 coordinates.
            let (bx, by, bw, bh) = (
                (b.x - pad) as f64 * s,
                (b.y - pad) as f64 * s,
                b.w as f64 * s,
                b.h as f64 * s,
            );
            rel_w.push(bw / 48.0);
            margins.push((48.0 / bw - 1.0) / 2.0);
            yoffs.push((24.0 - (by + bh / 2.0)) / bh);
            xoffs.push((24.0 - (bx + bw / 2.0)) / bw);
        }
    }
    println!("FER-2013 test faces (first {limit} per class): {n}, exactly one Haar face in {found} ({:.1}%)", 100.0 * found as f64 / n as f64);
    let (q1, q3) = quart(&mut margins);
    println!(
        "  Haar box width / FER frame: median {:.3}",
        median(&mut rel_w)
    );
    println!(
        "  margin (per side, fraction of box): median {:.3} (IQR {:.3}..{:.3})",
        median(&mut margins),
        q1,
        q3
    );
    let (q1, q3) = quart(&mut yoffs);
    println!("  y_offset (frame centre below box centre, fraction of box): median {:.3} (IQR {:.3}..{:.3})", median(&mut yoffs), q1, q3);
    println!("  x_offset: median {:.3}", median(&mut xoffs));

    // (2) realfaces detection rate with the default (real-time) settings; `SCALE_FACTOR` and
    // `MIN_FACE` environment variables override them for comparisons.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let mut cfg = HaarConfig::default();
    if let Some(v) = env("SCALE_FACTOR") {
        cfg.scale_factor = v;
    }
    if let Some(v) = env("MIN_FACE") {
        cfg.min_face = v;
    }
    println!(
        "realfaces detector: scale_factor {} min_face {}",
        cfg.scale_factor, cfg.min_face
    );
    let mut det = HaarDetector::new(cfg)?;
    let (mut total, mut one, mut zero, mut many) = (0, 0, 0, 0);
    let t0 = Instant::now();
    let mut widths = vec![];
    for c in classes {
        let dir = data.join("realfaces").join(c);
        let mut files: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for p in files {
            let img = load_image(&p, &ImageLimits::default())?;
            let mut gray = Mat::default();
            imgproc::cvt_color_def(&img, &mut gray, imgproc::COLOR_BGR2GRAY)?;
            let b = det.detect(&gray)?;
            total += 1;
            match b.len() {
                0 => zero += 1,
                1 => {
                    one += 1;
                    widths.push(b[0].w as f64);
                }
                _ => many += 1,
            }
        }
    }
    println!(
        "realfaces: {total} photos, exactly one face {one} ({:.1}%), none {zero}, several {many}; median box {:.0} px; {:.1} ms/photo",
        100.0 * one as f64 / total as f64,
        median(&mut widths),
        t0.elapsed().as_secs_f64() * 1000.0 / total as f64
    );
    Ok(())
}
