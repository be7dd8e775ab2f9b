//! A stand-in for the `moodlens` binary's recommend-side subcommands, showing how to wire the
//! library's clap types and run functions:
//! `cargo run -p moodlens-recommend --example moodlens_recommend -- recommend --mood sad --json`.

use clap::{Parser, Subcommand};
use moodlens_recommend::cli::{
    about, run_catalog, run_feedback, run_history, run_recommend, CatalogArgs, FeedbackArgs,
    HistoryArgs, RecommendArgs,
};

#[derive(Parser)]
#[command(
    name = "moodlens",
    about = "moodlens recommend-side commands (example wiring)"
)]
struct Cli {
    /// Print data-source attribution and exit.
    #[arg(long)]
    about: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Movies and music for a mood (omit --mood to pick from a list).
    Recommend(RecommendArgs),
    /// Like or dislike a recommended item.
    Feedback(FeedbackArgs),
    /// Mood over time.
    History(HistoryArgs),
    /// Import catalogs.
    Catalog(CatalogArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if cli.about {
        print!("{}", about());
        return Ok(());
    }
    match cli.cmd {
        Some(Cmd::Recommend(a)) => run_recommend(
            &a,
            &mut std::io::stdin().lock(),
            &mut out,
            &mut std::io::stderr(),
        ),
        Some(Cmd::Feedback(a)) => run_feedback(&a, &mut out),
        Some(Cmd::History(a)) => run_history(&a, &mut out),
        Some(Cmd::Catalog(a)) => run_catalog(&a, &mut out),
        None => {
            print!("{}", about());
            Ok(())
        }
    }
}
