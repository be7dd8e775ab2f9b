//! How the `moodlens` binary wires the vision commands: clap subcommands flatten the Args structs
//! of `moodlens_vision::cli`, and each calls one `run_*` function with the classifier.
//!
//! The classifier here is NOT a model: it returns uniform probabilities (every face reads as the
//! first emotion). It only shows the wiring, boxes, tracking, annotation and error handling;
//! the app passes the real classifier.
//!
//! `cargo run --release -p moodlens-vision --example wiring -- detect photo.jpg --annotate out.png`

use clap::{Parser, Subcommand};
use moodlens_vision::cli::{run_bench, run_detect, run_live, BenchArgs, DetectArgs, LiveArgs};
use moodlens_vision::EmotionClassifier;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Detect(DetectArgs),
    Live(LiveArgs),
    Bench(BenchArgs),
}

/// Not a model: uniform probabilities.
struct UniformNoModel;

impl EmotionClassifier for UniformNoModel {
    type Error = std::convert::Infallible;
    fn classify(&mut self, faces: &[Vec<u8>]) -> Result<Vec<[f32; 7]>, Self::Error> {
        Ok(vec![[1.0 / 7.0; 7]; faces.len()])
    }
}

fn main() {
    eprintln!("wiring example: no model, uniform probabilities");
    let cli = Cli::parse();
    let mut out = std::io::stdout();
    let code = match cli.cmd {
        Cmd::Detect(a) => match run_detect(&a, UniformNoModel, &mut out) {
            Ok(o) => {
                for r in &o.inputs {
                    if let Some(e) = &r.error {
                        eprintln!("error: {e}");
                    }
                }
                o.exit_code()
            }
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        Cmd::Live(a) => match run_live(&a, UniformNoModel, &mut out) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        Cmd::Bench(a) => match run_bench(&a, UniformNoModel, &mut out) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}
