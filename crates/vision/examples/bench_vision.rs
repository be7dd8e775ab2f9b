//! Times the vision stages (decode, detect, preprocess, track) of `moodlens bench` without a
//! model: the classifier here returns uniform probabilities and costs nothing, so the "classify"
//! column is NOT the model's time. `moodlens bench` in the app measures the real thing.
//!
//! `cargo run --release -p moodlens-vision --example bench_vision [-- FRAMES]`
//! (`OPENCV_THREADS=n` pins OpenCV's thread pool for comparisons.)

use moodlens_vision::testvideo::{make_bench_video, shared_data_dir};
use moodlens_vision::{run, EmotionClassifier, VisionConfig};

/// Not a model: uniform probabilities, to time everything around the classifier.
struct UniformNoModel;

impl EmotionClassifier for UniformNoModel {
    type Error = std::convert::Infallible;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; 7]>, Self::Error> {
        Ok(vec![[1.0 / 7.0; 7]; faces.len()])
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frames: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(300);
    if let Some(n) = std::env::var("OPENCV_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        moodlens_vision::opencv::core::set_num_threads(n)?;
    }
    let dir = std::env::temp_dir().join(format!("moodlens-bench-vision-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let video = dir.join("one.avi");
    make_bench_video(&video, frames, &shared_data_dir())?;
    let cfg = VisionConfig::default();
    let mut pipeline = cfg.pipeline(UniformNoModel)?;
    let r = run::bench_video(&mut pipeline, &video, cfg.limits);
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", serde_json::to_string_pretty(&r?)?);
    Ok(())
}
