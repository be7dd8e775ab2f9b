//! `moodlens`: reads facial expressions and recommends movies and music for the mood. A thin binary:
//! each subcommand parses its options and calls the library crates (see the workspace README).

mod learn;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "moodlens",
    version,
    about = "Reads facial expressions and recommends movies and music for the mood"
)]
struct Cli {
    /// More logging (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an emotion classifier on FER-2013 (Kaggle CSV or per-class folders).
    Train(learn::TrainArgs),
    /// Evaluate a model (the embedded one by default) on a FER-2013 split.
    Eval(learn::EvalArgs),
}

fn main() {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::Train(a) => learn::train(a),
        Command::Eval(a) => learn::eval(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
