//! `moodlens`: reads facial expressions and recommends movies and music for the mood. A thin binary:
//! each subcommand parses its options and calls the library crates:
//! frame → faces (`moodlens-vision`) → emotions (`moodlens-model`) → mood (`moodlens-session`) →
//! recommendations (`moodlens-recommend`).

mod learn;
mod see;

use clap::{Parser, Subcommand};
use moodlens_recommend::cli::{
    about, run_catalog, run_feedback, run_history, run_recommend, CatalogArgs, FeedbackArgs,
    HistoryArgs, RecommendArgs,
};

#[derive(Parser)]
#[command(
    name = "moodlens",
    version,
    about = "Reads facial expressions and recommends movies and music for the mood",
    arg_required_else_help = true
)]
struct Cli {
    /// More logging (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Print the data sources and their attribution, then exit.
    #[arg(long)]
    about: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Faces and emotions in images or videos (boxes, 7 probabilities, top-3).
    Detect(see::DetectCmd),
    /// Live session from the webcam (or a video file): boxes and top-3 per face, smoothed; mood at the end.
    Live(see::LiveCmd),
    /// Movies and music for a mood (without --mood: choose from a list).
    Recommend(RecommendArgs),
    /// Like or dislike a recommended item.
    Feedback(FeedbackArgs),
    /// Mood over time from the local history.
    History(HistoryArgs),
    /// Import catalogs (MovieLens, TMDb CSV, Spotify CSV) into the local database.
    Catalog(CatalogArgs),
    /// Train an emotion classifier on FER-2013 (Kaggle CSV or per-class folders).
    Train(learn::TrainArgs),
    /// Evaluate a model (the embedded one by default) on a FER-2013 split.
    Eval(learn::EvalArgs),
    /// End-to-end frames per second and per-stage times on a video.
    Bench(see::BenchCmd),
    /// Accuracy through the full detect path on labelled photos, per crop framing.
    TuneCrop(see::TuneCropArgs),
    /// The local web app (camera in the browser, uploads, recommendations, history) on 127.0.0.1.
    Serve(moodlens_web::ServeArgs),
}

fn main() {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // HTTP client logs carry request URLs (a TMDb v3 key travels in one): keep them quiet.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level))
        .add_directive(
            moodlens_recommend::live::LOG_FILTER_DIRECTIVE
                .parse()
                .expect("static directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    moodlens_vision::quiet_opencv_logs();
    if cli.about {
        print!("{}", about());
        return;
    }
    let Some(command) = cli.command else {
        print!("{}", about());
        return;
    };
    let stdout = std::io::stdout();
    let result: anyhow::Result<i32> = match command {
        Command::Detect(a) => see::detect(a),
        Command::Live(a) => see::live(a),
        Command::Bench(a) => see::bench(a),
        Command::TuneCrop(a) => see::tune_crop(a),
        Command::Recommend(a) => run_recommend(
            &a,
            &mut std::io::stdin().lock(),
            &mut stdout.lock(),
            &mut std::io::stderr(),
        )
        .map(|_| 0),
        Command::Feedback(a) => run_feedback(&a, &mut stdout.lock()).map(|_| 0),
        Command::History(a) => run_history(&a, &mut stdout.lock()).map(|_| 0),
        Command::Catalog(a) => run_catalog(&a, &mut stdout.lock()).map(|_| 0),
        Command::Train(a) => learn::train(a).map(|_| 0),
        Command::Eval(a) => learn::eval(a).map(|_| 0),
        Command::Serve(a) => moodlens_web::run_serve(a).map(|_| 0),
    };
    match result {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
