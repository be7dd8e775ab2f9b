//! Times the vision stages (decode, detect, preprocess, track) of `moodlens bench` without a
//! model: the classifier here returns uniform probabilities and costs nothing, so the "classify"
//! column is NOT the model's time. `moodlens bench` in the app measures the real thing.
//!
//! `cargo run --release -p moodlens-vision --example bench_vision [-- --frames 300 --detect-width 320]`

use clap::Parser;
use moodlens_vision::cli::{run_bench, BenchArgs};
use moodlens_vision::EmotionClassifier;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

/// Not a model: uniform probabilities, to time everything around the classifier.
struct UniformNoModel;

impl EmotionClassifier for UniformNoModel {
    type Error = std::convert::Infallible;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; 7]>, Self::Error> {
        Ok(vec![[1.0 / 7.0; 7]; faces.len()])
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `OPENCV_THREADS=n` pins OpenCV's thread pool (for comparisons).
    if let Some(n) = std::env::var("OPENCV_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        moodlens_vision::opencv::core::set_num_threads(n)?;
    }
    run_bench(&cli.bench, UniformNoModel, &mut std::io::stdout())?;
    Ok(())
}
