//! `moodlens catalog import …` and `moodlens catalog stats`: larger catalogs from tables the user
//! owns, with a progress bar on a terminal.

use super::args::StoreArgs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use moodlens_recommend::import::{
    ImportReport, Importer, MovieLens, Progress, Quiet, SpotifyCsv, TmdbCsv,
};
use std::io::Write;
use std::path::PathBuf;

/// `moodlens catalog …`
#[derive(Args, Debug, Clone, PartialEq)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: CatalogCommand,
}

#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum CatalogCommand {
    /// Import a catalog into the local database.
    Import(ImportArgs),
    /// Show how many imported films and tracks the database holds.
    Stats(StoreArgs),
}

#[derive(Args, Debug, Clone, PartialEq)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum ImportSource {
    /// MovieLens folder (movies.csv, links.csv, ratings.csv), e.g. ml-latest-small.
    Movielens(ImportFrom),
    /// TMDb CSV export (id,title,genre,…,release_date,vote_average,vote_count).
    TmdbCsv(ImportFrom),
    /// Spotify track table with track_id, names and audio features.
    SpotifyCsv(ImportFrom),
}

/// What to import from, and where to.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ImportFrom {
    /// The folder (movielens) or CSV file (tmdb-csv, spotify-csv).
    pub path: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// A progress bar per imported file (stderr).
#[derive(Default)]
struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn start(&mut self, name: &str, total_bytes: u64) {
        let pb = ProgressBar::new(total_bytes);
        pb.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:30}] {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(name.to_string());
        self.0 = Some(pb);
    }
    fn at(&mut self, bytes: u64) {
        if let Some(pb) = &self.0 {
            pb.set_position(bytes);
        }
    }
    fn done(&mut self) {
        if let Some(pb) = self.0.take() {
            pb.finish_and_clear();
        }
    }
}

/// `moodlens catalog import …` / `moodlens catalog stats`
pub fn run(args: &CatalogArgs, out: &mut dyn Write) -> Result<()> {
    match &args.command {
        CatalogCommand::Stats(sa) => {
            let store = sa.open()?;
            let cfg = sa.config()?;
            let (f, t) = store.catalog_counts()?;
            writeln!(
                out,
                "Imported catalog: {f} films, {t} tracks (plus the embedded catalog)"
            )?;
            let films = store.films()?;
            let tracks = store.tracks()?;
            let ok_films = films
                .iter()
                .filter(|x| moodlens_recommend::engine::film_clears_floor(x, &cfg.floor))
                .count();
            let ok_tracks = tracks
                .iter()
                .filter(|x| moodlens_recommend::engine::track_clears_floor(x, &cfg.floor))
                .count();
            let unknown = tracks.iter().filter(|x| x.popularity.is_none()).count();
            writeln!(
                out,
                "Clearing the floor ([floor] in the config): {ok_films} films, {ok_tracks} tracks"
            )?;
            if unknown > 0 {
                writeln!(
                    out,
                    "{unknown} tracks have no popularity (imported by an older version): \
                     re-import them to use them"
                )?;
            }
        }
        CatalogCommand::Import(ia) => {
            let (from, what) = match &ia.source {
                ImportSource::Movielens(f) => (f, "MovieLens folder"),
                ImportSource::TmdbCsv(f) => (f, "TMDb CSV"),
                ImportSource::SpotifyCsv(f) => (f, "Spotify CSV"),
            };
            let mut store = from.store.open()?;
            let mut bar = Bar::default();
            let mut quiet = Quiet;
            let progress: &mut dyn Progress = if std::io::IsTerminal::is_terminal(&std::io::stderr())
            {
                &mut bar
            } else {
                &mut quiet
            };
            let importer: Box<dyn Importer> = match &ia.source {
                ImportSource::Movielens(f) => Box::new(MovieLens::new(&f.path)),
                ImportSource::TmdbCsv(f) => Box::new(TmdbCsv::new(&f.path)),
                ImportSource::SpotifyCsv(f) => Box::new(SpotifyCsv::new(&f.path)),
            };
            let report: ImportReport = importer
                .import(&mut store, progress)
                .with_context(|| format!("importing {what} {}", from.path.display()))?;
            if from.json {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", report.summary())?;
            }
        }
    }
    Ok(())
}
