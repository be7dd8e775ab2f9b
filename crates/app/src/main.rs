//! `moodlens`: reads facial expressions and recommends movies and music for the mood. A thin binary
//! over the library crates: frame → faces (`moodlens-vision`) → emotions (`moodlens-model`) → mood
//! (`moodlens-session`) → recommendations (`moodlens-recommend`); `moodlens-web` serves the page.
//! Every command lives in `cmd/<command>.rs` with its options and its output; the libraries parse
//! no flags and print nothing.

mod cmd;

use clap::{Parser, Subcommand};
use cmd::{
    bench, catalog, detect, eval, export, feedback, history, live, recommend, serve, train,
    tune_crop,
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
    #[command(
        after_help = "Examples:\n  moodlens detect photo.jpg\n  moodlens detect --json a.jpg b.jpg > faces.json\n  moodlens detect --csv - clip.mp4 --annotate out.avi"
    )]
    Detect(detect::DetectArgs),
    /// Live session from the webcam (or a video file): boxes and top-3 per face, smoothed; mood at the end.
    #[command(
        after_help = "Examples:\n  moodlens live                       (webcam 0, window; q or Esc ends)\n  moodlens live --input clip.mp4 --headless --json > frames.jsonl"
    )]
    Live(live::LiveArgs),
    /// Movies and music for a mood (without --mood: choose from a list).
    #[command(
        after_help = "Examples:\n  moodlens recommend                  (choose a mood from a list)\n  moodlens recommend --mood sad --strategy uplift --json"
    )]
    Recommend(recommend::RecommendArgs),
    /// Like or dislike a recommended item.
    #[command(after_help = "Example:\n  moodlens feedback \"Forrest Gump (1994)\" --like")]
    Feedback(feedback::FeedbackArgs),
    /// Mood over time from the local history.
    #[command(
        after_help = "Examples:\n  moodlens history --json | head -1\n  moodlens history --plot moods.png\n  moodlens history --export moods.csv"
    )]
    History(history::HistoryArgs),
    /// Import catalogs (MovieLens, TMDb CSV, Spotify CSV) into the local database.
    #[command(after_help = "Example:\n  moodlens catalog import movielens ~/data/ml-latest-small")]
    Catalog(catalog::CatalogArgs),
    /// Train an emotion classifier on FER-2013 (Kaggle CSV or per-class folders).
    #[command(
        after_help = "Examples:\n  moodlens train --data fer2013.csv.gz --out runs/mine\n  moodlens train --out runs/mine --resume --epochs 30\n  moodlens train --arch seed-ensemble --init imagenet --data fer2013.csv.gz --out runs/seed"
    )]
    Train(train::TrainArgs),
    /// Evaluate a model (the embedded one by default) on a FER-2013 split.
    #[command(
        after_help = "Examples:\n  moodlens eval --data fer2013.csv.gz --split private-test --json\n  moodlens eval --data fer2013.csv.gz --weights runs/mine/best.bpk --confusion cm.png"
    )]
    Eval(eval::EvalArgs),
    /// Export a model (the embedded one by default) to ONNX, for ONNX Runtime, onnxruntime-web or OpenCV DNN.
    #[command(
        after_help = "Examples:\n  moodlens export --onnx moodlens.onnx\n  moodlens export --onnx seed.onnx --arch seed-ensemble --weights runs/seed/best.bpk --opencv46"
    )]
    Export(export::ExportArgs),
    /// End-to-end frames per second and per-stage times on a video.
    #[command(
        after_help = "Examples:\n  moodlens bench\n  moodlens bench --classifier --batch 1,8"
    )]
    Bench(bench::BenchArgs),
    /// Accuracy through the full detect path on labelled photos, per crop framing.
    #[command(after_help = "Example:\n  moodlens tune-crop --photos my-labelled-photos/")]
    TuneCrop(tune_crop::TuneCropArgs),
    /// The local web app (camera in the browser, uploads, recommendations, history) on 127.0.0.1.
    #[command(
        after_help = "Examples:\n  moodlens serve --open\n  moodlens serve --port 8080 --offline"
    )]
    Serve(serve::ServeArgs),
}

/// True when `e` (or anything in its chain) is a write to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            // library errors that wrap an io::Error transparently hide it from the chain
            || c.to_string().ends_with("Broken pipe (os error 32)")
    })
}

/// A reader that closed our stdout early (`moodlens history --json | head -1`) is not an error:
/// `print!` reports it by panicking, so the panic hook ends the process quietly with 0 in that
/// case and keeps the default report for every other panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    use std::process::ExitCode;
    quiet_on_closed_stdout();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // the options given on the command line (`train --resume` tells them from defaults)
    let explicit: Vec<String> = matches
        .subcommand()
        .map(|(_, m)| {
            m.ids()
                .filter(|id| {
                    m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.to_string())
                .collect()
        })
        .unwrap_or_default();
    let level = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // HTTP client logs carry request URLs (a TMDb v3 key travels in one): keep them quiet.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level))
        .add_directive(
            moodlens_recommend::online::LOG_FILTER_DIRECTIVE
                .parse()
                .expect("static directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    moodlens_vision::quiet_opencv_logs();
    if cli.about {
        print!("{}", moodlens_recommend::ATTRIBUTION);
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        print!("{}", moodlens_recommend::ATTRIBUTION);
        return ExitCode::SUCCESS;
    };
    let stdout = std::io::stdout();
    let result: anyhow::Result<i32> = match command {
        Command::Detect(a) => detect::run(a),
        Command::Live(a) => live::run(a),
        Command::Bench(a) => bench::run(a),
        Command::TuneCrop(a) => tune_crop::run(a),
        Command::Recommend(a) => recommend::run(
            &a,
            &mut std::io::stdin().lock(),
            &mut stdout.lock(),
            &mut std::io::stderr(),
        )
        .map(|_| 0),
        Command::Feedback(a) => feedback::run(&a, &mut stdout.lock()).map(|_| 0),
        Command::History(a) => history::run(&a, &mut stdout.lock()).map(|_| 0),
        Command::Catalog(a) => catalog::run(&a, &mut stdout.lock()).map(|_| 0),
        Command::Train(a) => train::train(a, &explicit).map(|_| 0),
        Command::Eval(a) => eval::eval(a).map(|_| 0),
        Command::Export(a) => export::export(a).map(|_| 0),
        Command::Serve(a) => serve::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
