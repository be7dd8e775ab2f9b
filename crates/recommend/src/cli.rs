//! Command-line layer for the `moodlens` binary: clap argument types and one function per
//! subcommand (`recommend`, `feedback`, `history`, `catalog import …`), plus [`about`].
//!
//! Every function takes its input and output streams, so tests drive them without a binary and the
//! binary passes `stdin().lock()`, `stdout()`, `stderr()`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use moodlens_common::Emotion;

use crate::config::Config;
use crate::engine::{Aggregation, Live, Recommendations};
use crate::import::{import_movielens, import_spotify_csv, import_tmdb_csv, ImportReport};
use crate::live::{DiskCache, Http, SpotifyAuth, SpotifyClient, TmdbAuth, TmdbClient};
use crate::mood::{Mood, Strategy};
use crate::store::{default_db_path, Store};

/// Options shared by the recommend-side subcommands.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct StoreArgs {
    /// SQLite database (history, feedback, imported catalogs). Default: $MOODLENS_DB, else the
    /// platform data folder (e.g. ~/.local/share/moodlens/moodlens.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Recommend configuration (TOML; genre map, live settings). Default:
    /// $MOODLENS_RECOMMEND_CONFIG, else the built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl StoreArgs {
    pub fn config(&self) -> anyhow::Result<Config> {
        let path = self
            .config
            .clone()
            .or_else(|| std::env::var_os("MOODLENS_RECOMMEND_CONFIG").map(PathBuf::from));
        match path {
            Some(p) => Config::load(&p).with_context(|| format!("loading config {}", p.display())),
            None => Ok(Config::default()),
        }
    }

    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        self.db
            .clone()
            .or_else(default_db_path)
            .context("no data folder found: pass --db <PATH>")
    }

    pub fn open(&self) -> anyhow::Result<Store> {
        let p = self.db_path()?;
        Store::open(&p).with_context(|| format!("opening database {}", p.display()))
    }
}

fn parse_emotion(s: &str) -> Result<Emotion, String> {
    s.parse::<Emotion>().map_err(|e| e.to_string())
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse::<Strategy>().map_err(|e| e.to_string())
}

fn parse_aggregation(s: &str) -> Result<Aggregation, String> {
    s.parse::<Aggregation>().map_err(|e| e.to_string())
}

/// One person's mood on the command line: an emotion name, or seven comma-separated
/// probabilities in the model's order.
pub fn parse_person(s: &str) -> Result<Mood, String> {
    if s.contains(',') {
        let v = s
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("'{s}': seven comma-separated probabilities expected"))?;
        Mood::from_probabilities(&v).map_err(|e| e.to_string())
    } else {
        parse_emotion(s).map(Mood::from_emotion)
    }
}

/// Recommendation knobs shared by `recommend` and the end-of-session summary of `live`/`detect`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct RecommendOptions {
    /// match (content congruent with the mood), uplift (start near the mood, move toward positive
    /// valence), calm (toward low arousal, positive valence) or comfort (emotional dramas, gentle
    /// films, soothing music). Default per mood: happy, angry, surprise, neutral → match;
    /// sad → comfort; fear, disgust → calm (`[default_strategy]` in the config).
    #[arg(long, value_parser = parse_strategy)]
    pub strategy: Option<Strategy>,
    /// Number of movies.
    #[arg(long, default_value_t = crate::service::DEFAULT_ITEMS)]
    pub movies: usize,
    /// Number of music tracks.
    #[arg(long, default_value_t = crate::service::DEFAULT_ITEMS)]
    pub music: usize,
    /// Seed for a reproducible list (two runs without it differ).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use only the embedded and imported catalogs, even when API keys are set.
    #[arg(long)]
    pub offline: bool,
    /// Do not record this session in the history.
    #[arg(long)]
    pub no_history: bool,
    /// New picks for the same mood and strategy (the list otherwise stays the same within a
    /// session).
    #[arg(long)]
    pub shuffle: bool,
    /// The session the request belongs to (the same mood and strategy give the same list within
    /// it). Default: an automatic session that ends after `session_minutes` (30) without requests.
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
    /// When several people are in the frame: one list for the group by least-misery (default:
    /// nothing that fits anyone's state badly) or average (the mean mood).
    #[arg(long, value_name = "average|least-misery", value_parser = parse_aggregation)]
    pub group: Option<Aggregation>,
    /// Also show adult films and explicit tracks.
    #[arg(long)]
    pub allow_explicit: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl RecommendOptions {
    /// The per-request part of these options.
    pub fn ask(&self) -> crate::service::Ask {
        crate::service::Ask {
            strategy: self.strategy,
            movies: self.movies,
            music: self.music,
            seed: self.seed,
            record: !self.no_history,
            shuffle: self.shuffle,
            session: self.session.clone(),
            group: self.group,
            allow_explicit: self.allow_explicit,
        }
    }

    /// The service these options describe (config, live clients from `env`, the database; a
    /// database that cannot be opened is a notice with every list, not a failure).
    pub fn recommender_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<crate::service::Recommender> {
        let cfg = self.store.config()?;
        let live = live_clients_with(&cfg, self.offline, env);
        let store = self.store.open().map_err(|e| format!("{e:#}"));
        Ok(crate::service::Recommender::new(cfg, live, store))
    }

    /// [`RecommendOptions::recommender_with`] the process environment.
    pub fn recommender(&self) -> anyhow::Result<crate::service::Recommender> {
        self.recommender_with(&|k| std::env::var(k).ok())
    }
}

impl Default for RecommendOptions {
    fn default() -> Self {
        let ask = crate::service::Ask::default();
        RecommendOptions {
            strategy: None,
            movies: ask.movies,
            music: ask.music,
            seed: None,
            offline: false,
            no_history: false,
            shuffle: false,
            session: None,
            group: None,
            allow_explicit: false,
            store: StoreArgs::default(),
        }
    }
}

/// `moodlens recommend`
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct RecommendArgs {
    /// The mood (angry, disgust, fear, happy, sad, surprise, neutral). Without it (and without
    /// --probabilities) a numbered list is shown to choose from.
    #[arg(long, value_parser = parse_emotion)]
    pub mood: Option<Emotion>,
    /// Seven probabilities in the model's order (angry,disgust,fear,happy,sad,surprise,neutral).
    #[arg(long, value_delimiter = ',', num_args = 1.., conflicts_with = "mood")]
    pub probabilities: Option<Vec<f64>>,
    /// One person of a group (repeat for each): an emotion or seven comma-separated
    /// probabilities. With two or more, one list serves the group (see --group).
    #[arg(long = "person", value_name = "MOOD|P1,…,P7", value_parser = parse_person,
          conflicts_with_all = ["mood", "probabilities"])]
    pub people: Vec<Mood>,
    /// Print JSON (stable shape, documented in docs/RECOMMEND.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub opts: RecommendOptions,
}

/// Flags for the end-of-session summary of `moodlens live` / `detect` (flatten into their Args).
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct SummaryArgs {
    /// Do not end the session with recommendations.
    #[arg(long)]
    pub no_recommend: bool,
    #[command(flatten)]
    pub opts: RecommendOptions,
}

/// `moodlens feedback <item> --like|--dislike`
#[derive(Args, Debug, Clone, PartialEq)]
pub struct FeedbackArgs {
    /// The item: its key (from `recommend --json`) or its title.
    pub item: String,
    /// Show more like it (raises the weight of its genres / artist).
    #[arg(long, conflicts_with = "dislike", required_unless_present = "dislike")]
    pub like: bool,
    /// Never show it again.
    #[arg(long)]
    pub dislike: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `moodlens history [--json] [--plot out.png]`
#[derive(Args, Debug, Clone, PartialEq)]
pub struct HistoryArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG of mood over time: valence (blue) and arousal (red) per session, and a strip
    /// coloured by the dominant mood.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Only the last N sessions.
    #[arg(long)]
    pub last: Option<usize>,
    /// Delete one entry (its ID from the list or `--json`) with what it recommended.
    #[arg(long, value_name = "ID", conflicts_with_all = ["clear", "export", "plot"])]
    pub delete: Option<i64>,
    /// Delete the whole mood history (likes and dislikes stay: `moodlens feedback`).
    #[arg(long, conflicts_with_all = ["export", "plot"])]
    pub clear: bool,
    /// Write the history to FILE.json or FILE.csv (by the extension).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

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

/// Attribution for every data source, as their terms require (for `--about` and the README).
pub fn about() -> &'static str {
    concat!(
        "moodlens ", env!("CARGO_PKG_VERSION"), " — recommendations from facial emotion\n",
        "\n",
        "Data sources and attribution:\n",
        "- This product uses the TMDB API but is not endorsed or certified by TMDB. Film ids, titles,\n",
        "  genres and ratings in the embedded catalog come from TMDb (The Movie Database).\n",
        "- MovieLens: F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History\n",
        "  and Context. ACM TiiS 5, 4, Article 19. Data by GroupLens Research (grouplens.org), used\n",
        "  for research and non-commercial purposes under its terms.\n",
        "- Music data (track ids, names, audio features) from Spotify's Web API via public track\n",
        "  tables (Spotify high/low popularity playlists, year-end playlists 2000-2022, and the\n",
        "  data_moods mood-labelled set); Spotify is a trademark of Spotify AB. Live search uses the\n",
        "  Spotify Web API.\n",
        "- Mood model: J. A. Russell (1980), A circumplex model of affect, JPSP 39(6).\n",
    )
}

const PROMPT_LIST: &str = "How do you feel? Choose a mood:";

/// The manual mood selection: a numbered list of the seven moods; the user types a number (or a
/// name). Invalid input asks again; end of input returns `None` (exit cleanly).
pub fn choose_mood(
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<Option<Emotion>> {
    writeln!(out, "{PROMPT_LIST}")?;
    for (i, e) in Emotion::ALL.iter().enumerate() {
        writeln!(out, "  {}. {}", i + 1, e)?;
    }
    loop {
        write!(out, "Enter a number (1-{}): ", Emotion::ALL.len())?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok(None);
        }
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Ok(n) = t.parse::<usize>() {
            if (1..=Emotion::ALL.len()).contains(&n) {
                return Ok(Some(Emotion::ALL[n - 1]));
            }
        } else if let Ok(e) = t.parse::<Emotion>() {
            return Ok(Some(e));
        }
        writeln!(
            out,
            "'{t}' is not one of the choices; type a number from 1 to 7."
        )?;
    }
}

/// Build the live clients from the environment (keys) and config (base URLs); none when offline.
pub fn live_clients(cfg: &Config, offline: bool) -> Live {
    live_clients_with(cfg, offline, &|k| std::env::var(k).ok())
}

/// The same, reading variables through `env` (tests pass a map instead of the process
/// environment).
pub fn live_clients_with(
    cfg: &Config,
    offline: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Live {
    if offline {
        return Live::default();
    }
    let lc = cfg.live.clone().with_overrides(env);
    let cache = DiskCache::dir_from(env).map(|d| DiskCache::new(d, lc.cache_ttl_secs));
    let http = Http::new(lc, cache);
    Live {
        tmdb: TmdbAuth::from_lookup(env).map(|a| TmdbClient::new(http.clone(), a)),
        spotify: SpotifyAuth::from_lookup(env).map(|a| SpotifyClient::new(http.clone(), a)),
    }
}

/// Recommend for a mood with the given options (opens the database, loads config, builds live
/// clients from the environment); a database that cannot be opened is a notice, not a failure.
pub fn recommend_with(
    mood: Mood,
    source: &str,
    opts: &RecommendOptions,
) -> anyhow::Result<Recommendations> {
    recommend_with_env(mood, source, opts, &|k| std::env::var(k).ok())
}

/// [`recommend_with`], reading API keys, base URLs and the cache folder through `env`.
pub fn recommend_with_env(
    mood: Mood,
    source: &str,
    opts: &RecommendOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Recommendations> {
    recommend_for(mood, Vec::new(), source, opts, env)
}

/// One list for several people (each person's mood, in frame order), by `opts.group`
/// (least-misery when not given). One person: as [`recommend_with`].
pub fn recommend_group_with(
    people: Vec<Mood>,
    source: &str,
    opts: &RecommendOptions,
) -> anyhow::Result<Recommendations> {
    recommend_group_with_env(people, source, opts, &|k| std::env::var(k).ok())
}

/// [`recommend_group_with`], reading the environment through `env`.
pub fn recommend_group_with_env(
    people: Vec<Mood>,
    source: &str,
    opts: &RecommendOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Recommendations> {
    match people.len() {
        0 => anyhow::bail!("no person to recommend for"),
        1 => {
            let mood = people.into_iter().next().expect("one person");
            recommend_for(mood, Vec::new(), source, opts, env)
        }
        _ => {
            let mood = crate::engine::group_mood(&people)?;
            recommend_for(mood, people, source, opts, env)
        }
    }
}

fn recommend_for(
    mood: Mood,
    people: Vec<Mood>,
    source: &str,
    opts: &RecommendOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Recommendations> {
    let service = opts.recommender_with(env)?;
    let ask = opts.ask();
    Ok(if people.is_empty() {
        service.for_mood(mood, source, &ask)?
    } else {
        service.for_people(people, source, &ask)?
    })
}

/// Human-readable recommendations: the mood (each person's, for a group), then every item with
/// its reason and link.
pub fn print_recommendations(rec: &Recommendations, out: &mut dyn Write) -> std::io::Result<()> {
    for n in &rec.notices {
        writeln!(out, "notice: {n}")?;
    }
    if !rec.people.is_empty() {
        writeln!(out, "People ({}):", rec.people.len())?;
        for p in &rec.people {
            let conf = p.probabilities.get(&p.mood).copied().unwrap_or(0.0);
            writeln!(
                out,
                "  person {}: {} ({:.0}%, valence {:+.2}, arousal {:+.2})",
                p.person,
                p.mood,
                conf * 100.0,
                p.valence,
                p.arousal
            )?;
        }
        writeln!(
            out,
            "Group mood: {} · one list for everyone by {} · strategy: {}",
            rec.mood,
            rec.aggregation.as_deref().unwrap_or("least-misery"),
            rec.strategy
        )?;
    } else {
        writeln!(
            out,
            "Mood: {} (valence {:+.2}, arousal {:+.2}) · strategy: {}",
            rec.mood, rec.valence, rec.arousal, rec.strategy
        )?;
    }
    if !rec.excluded_genres.is_empty() {
        writeln!(out, "Left out: {}", rec.excluded_genres.join(", "))?;
    }
    writeln!(out, "\nMovies ({}):", rec.genres.join(", "))?;
    for (i, m) in rec.movies.iter().enumerate() {
        let year = m.year.map(|y| format!(" ({y})")).unwrap_or_default();
        let rating = m
            .rating
            .map(|r| format!(" · {r:.1}/10"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:>2}. {}{} — {}{}",
            i + 1,
            m.title,
            year,
            m.genres.join(", "),
            rating
        )?;
        if !m.reason.is_empty() {
            writeln!(out, "      why: {}", m.reason)?;
        }
        writeln!(out, "      {}", m.link)?;
    }
    writeln!(out, "\nMusic:")?;
    for (i, t) in rec.music.iter().enumerate() {
        let mood = t
            .music_mood
            .as_deref()
            .map(|m| format!(" [{m}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:>2}. {} — {}{}",
            i + 1,
            t.artist.as_deref().unwrap_or("?"),
            t.title,
            mood
        )?;
        if !t.reason.is_empty() {
            writeln!(out, "      why: {}", t.reason)?;
        }
        writeln!(out, "      {}", t.link)?;
    }
    if !rec.playlists.is_empty() {
        writeln!(out, "\nPlaylists:")?;
        for p in &rec.playlists {
            writeln!(out, "  - {}: {}", p.title, p.link)?;
        }
    }
    writeln!(
        out,
        "\nLike or dislike an item: moodlens feedback \"<title>\" --like|--dislike"
    )?;
    let named = rec
        .session
        .as_deref()
        .is_some_and(|s| !s.starts_with("auto:"));
    if rec.session_id.is_some() || named {
        writeln!(
            out,
            "Same list again in this session; new picks: add --shuffle"
        )?;
    }
    Ok(())
}

/// `moodlens recommend`: with `--mood`/`--probabilities`, or the manual mood selection on `input`.
/// Prompts go to `out` (to `err` with `--json`, so stdout stays JSON). EOF at the prompt exits
/// cleanly (Ok, nothing recommended).
pub fn run_recommend(
    args: &RecommendArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    if !args.people.is_empty() {
        let rec = recommend_group_with(args.people.clone(), "manual", &args.opts)?;
        return write_recommendations(&rec, args.json, out);
    }
    let (mood, source) = match (&args.probabilities, args.mood) {
        (Some(p), _) => (Mood::from_probabilities(p)?, "manual"),
        (None, Some(e)) => (Mood::from_emotion(e), "manual"),
        (None, None) => {
            let prompt: &mut dyn Write = if args.json { err } else { out };
            match choose_mood(input, prompt)? {
                Some(e) => (Mood::from_emotion(e), "manual"),
                None => return Err(crate::error::RecommendError::NoMoodChosen.into()),
            }
        }
    };
    let rec = recommend_with(mood, source, &args.opts)?;
    write_recommendations(&rec, args.json, out)
}

fn write_recommendations(
    rec: &Recommendations,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, rec)?;
        writeln!(out)?;
    } else {
        print_recommendations(rec, out)?;
    }
    Ok(())
}

/// End-of-session recommendations for the session's mood ([`moodlens_session::SessionMood`], the
/// one rule both front ends use): for several people, each person's mood and one list for the group
/// (`--group`, least misery by default). Printed as text, or as JSON with `json`; `None` with
/// `--no-recommend`.
pub fn session_summary(
    mood: &moodlens_session::SessionMood,
    source: &str,
    args: &SummaryArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Option<Recommendations>> {
    if args.no_recommend {
        return Ok(None);
    }
    let rec = if mood.is_group() {
        recommend_group_with(mood.people.clone(), source, &args.opts)?
    } else {
        recommend_with(mood.mood.clone(), source, &args.opts)?
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &rec)?;
        writeln!(out)?;
    } else {
        if rec.people.is_empty() {
            writeln!(out, "Detected mood: {}", rec.mood)?;
        } else {
            writeln!(out, "Detected {} people", rec.people.len())?;
        }
        print_recommendations(&rec, out)?;
    }
    Ok(Some(rec))
}

/// `moodlens feedback <item> --like|--dislike`
pub fn run_feedback(args: &FeedbackArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut store = args.store.open()?;
    let liked = args.like && !args.dislike;
    let fb = crate::engine::feedback(&mut store, &args.item, liked)?;
    if liked {
        writeln!(
            out,
            "Liked: {} ({}). More like it will come.",
            fb.title, fb.item_key
        )?;
    } else {
        writeln!(
            out,
            "Disliked: {} ({}). It will not be shown again.",
            fb.title, fb.item_key
        )?;
    }
    Ok(())
}

/// "2026-11-24 18:30" (UTC) for unix seconds.
pub fn format_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// `moodlens history [--json] [--plot out.png] [--delete ID | --clear | --export FILE]`. One
/// entry per mood reading ([`crate::store::Store::history`]).
pub fn run_history(args: &HistoryArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut store = args.store.open()?;
    let place = store
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if let Some(id) = args.delete {
        if !store.delete_history_entry(id)? {
            anyhow::bail!("no history entry with id {id} (see `moodlens history`)");
        }
        writeln!(out, "Deleted history entry {id} from {place}.")?;
        return Ok(());
    }
    if args.clear {
        let n = store.clear_history()?;
        writeln!(
            out,
            "Deleted {n} history entr{} from {place} (likes and dislikes stay).",
            if n == 1 { "y" } else { "ies" }
        )?;
        return Ok(());
    }
    let sessions = store.history(args.last)?;
    if let Some(p) = &args.export {
        export_history(&sessions, p)?;
        writeln!(
            out,
            "Wrote {} history entr{} to {}",
            sessions.len(),
            if sessions.len() == 1 { "y" } else { "ies" },
            p.display()
        )?;
        return Ok(());
    }
    if let Some(p) = &args.plot {
        if sessions.is_empty() {
            return Err(crate::error::RecommendError::EmptyHistory.into());
        }
        plot_history(&sessions, p)?;
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &sessions)?;
        writeln!(out)?;
    } else {
        if sessions.is_empty() {
            writeln!(
                out,
                "No sessions yet: run `moodlens recommend` or `moodlens live`."
            )?;
        }
        for s in &sessions {
            writeln!(
                out,
                "{:>5}  {} UTC  {:<7} {:<8} valence {:+.2} arousal {:+.2}  {:<6} {} items",
                s.id,
                format_time(s.time),
                s.source,
                s.mood.label(),
                s.valence,
                s.arousal,
                s.strategy,
                s.items.len()
            )?;
        }
        if let Some(p) = &args.plot {
            writeln!(out, "Plot written to {} — {PLOT_LEGEND}", p.display())?;
        }
    }
    Ok(())
}

/// Which export format a file name asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

impl ExportFormat {
    /// From a file's extension (.json or .csv).
    pub fn of_path(path: &Path) -> anyhow::Result<ExportFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Ok(ExportFormat::Json),
            Some("csv") => Ok(ExportFormat::Csv),
            _ => anyhow::bail!("export to a .json or .csv file (got {})", path.display()),
        }
    }
}

/// The history as bytes in `format`: JSON (the entries of `history --json`) or CSV (one row per
/// entry: id, unix time, UTC time, source, mood, strategy, valence, arousal, the seven
/// probabilities, then what was recommended, titles joined by " | ").
pub fn history_bytes(
    sessions: &[crate::store::SessionRecord],
    format: ExportFormat,
) -> anyhow::Result<Vec<u8>> {
    match format {
        ExportFormat::Json => {
            let mut v = serde_json::to_vec_pretty(sessions)?;
            v.push(b'\n');
            Ok(v)
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header: Vec<String> = [
                "id", "time", "time_utc", "source", "mood", "strategy", "valence", "arousal",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            header.extend(Emotion::ALL.iter().map(|e| format!("p_{}", e.label())));
            header.push("recommended".into());
            w.write_record(&header)?;
            for s in sessions {
                let mut row = vec![
                    s.id.to_string(),
                    s.time.to_string(),
                    s.time_utc.clone(),
                    s.source.clone(),
                    s.mood.label().to_string(),
                    s.strategy.clone(),
                    format!("{:.4}", s.valence),
                    format!("{:.4}", s.arousal),
                ];
                row.extend(
                    (0..Emotion::ALL.len())
                        .map(|i| format!("{:.4}", s.probabilities.get(i).copied().unwrap_or(0.0))),
                );
                row.push(
                    s.items
                        .iter()
                        .map(|i| i.title.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                );
                w.write_record(&row)?;
            }
            Ok(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
        }
    }
}

/// Writes the history to `path` (.json or .csv, see [`history_bytes`]).
pub fn export_history(sessions: &[crate::store::SessionRecord], path: &Path) -> anyhow::Result<()> {
    let bytes = history_bytes(sessions, ExportFormat::of_path(path)?)?;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Colour of each emotion in the history plot's mood strip.
pub fn emotion_color(e: Emotion) -> (u8, u8, u8) {
    match e {
        Emotion::Angry => (230, 120, 0),
        Emotion::Disgust => (120, 140, 0),
        Emotion::Fear => (130, 60, 180),
        Emotion::Happy => (240, 200, 0),
        Emotion::Sad => (0, 130, 150),
        Emotion::Surprise => (230, 90, 180),
        Emotion::Neutral => (140, 140, 140),
    }
}

/// Legend of the history plot (the PNG carries no text).
pub const PLOT_LEGEND: &str =
    "blue line: valence, red line: arousal (both -1..+1, grey line = 0); \
bottom strip: dominant mood (orange angry, olive disgust, purple fear, yellow happy, teal sad, \
pink surprise, grey neutral)";

/// Registers the embedded DejaVu Sans (moodlens-common) as plotters' "sans-serif" (once): plots
/// have text on any machine, and no system font folder is read.
fn plot_font_available() -> bool {
    static FONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FONT.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            moodlens_common::FONT_SANS_TTF,
        )
        .is_ok()
    })
}

/// Mood over time as a PNG: valence (blue) and arousal (red) per session, zero line in grey, and a
/// strip coloured by the dominant mood. Axis labels, title and legend when a font is available.
pub fn plot_history(sessions: &[crate::store::SessionRecord], path: &Path) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let perr = |e: &dyn std::fmt::Display| crate::error::RecommendError::Plot(e.to_string());
    let text = plot_font_available();
    let root = BitMapBackend::new(path, (1000, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| perr(&e))?;
    let (chart_area, legend_area) = if text {
        let (l, r) = root.split_horizontally(870);
        (l, Some(r))
    } else {
        (root.clone(), None)
    };
    let n = sessions.len().max(2) as f64;
    let mut builder = ChartBuilder::on(&chart_area);
    builder.margin(16);
    if text {
        builder
            .caption("moodlens — mood over time", ("sans-serif", 22))
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = builder
        .build_cartesian_2d(-0.5f64..(n - 0.5), -1.08f64..1.05f64)
        .map_err(|e| perr(&e))?;
    if text {
        let labels: Vec<String> = sessions.iter().map(|s| format_time(s.time)).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("session")
            .y_desc("valence / arousal")
            .x_labels(sessions.len().clamp(2, 8))
            .y_label_formatter(&|y| {
                if y.abs() < 1e-9 {
                    "0".to_string()
                } else {
                    format!("{y:+.1}")
                }
            })
            .x_label_formatter(&|x| {
                let i = x.round();
                if (i - x).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                labels
                    .get(i as usize)
                    .map(|t| t.get(5..).unwrap_or(t).to_string())
                    .unwrap_or_default()
            })
            .draw()
            .map_err(|e| perr(&e))?;
    }
    chart
        .draw_series(LineSeries::new(
            vec![(-0.5, 0.0), (n - 0.5, 0.0)],
            &RGBColor(170, 170, 170),
        ))
        .map_err(|e| perr(&e))?;
    let val: Vec<(f64, f64)> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (i as f64, s.valence))
        .collect();
    let aro: Vec<(f64, f64)> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (i as f64, s.arousal))
        .collect();
    chart
        .draw_series(LineSeries::new(val.clone(), BLUE.stroke_width(2)))
        .map_err(|e| perr(&e))?;
    chart
        .draw_series(val.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))
        .map_err(|e| perr(&e))?;
    chart
        .draw_series(LineSeries::new(aro.clone(), RED.stroke_width(2)))
        .map_err(|e| perr(&e))?;
    chart
        .draw_series(aro.iter().map(|p| Circle::new(*p, 4, RED.filled())))
        .map_err(|e| perr(&e))?;
    // dominant mood per session: a coloured strip along the bottom
    chart
        .draw_series(sessions.iter().enumerate().map(|(i, s)| {
            let (r, g, b) = emotion_color(s.mood);
            Rectangle::new(
                [(i as f64 - 0.4, -1.075), (i as f64 + 0.4, -1.005)],
                RGBColor(r, g, b).filled(),
            )
        }))
        .map_err(|e| perr(&e))?;
    if let Some(legend) = &legend_area {
        let mut y = 30;
        let entries: Vec<(String, RGBColor, bool)> = [
            ("valence".to_string(), BLUE, true),
            ("arousal".to_string(), RED, true),
        ]
        .into_iter()
        .chain(Emotion::ALL.iter().map(|e| {
            let (r, g, b) = emotion_color(*e);
            (e.label().to_string(), RGBColor(r, g, b), false)
        }))
        .collect();
        for (label, color, line) in entries {
            if line {
                legend
                    .draw(&PathElement::new(
                        vec![(8, y), (32, y)],
                        color.stroke_width(3),
                    ))
                    .map_err(|e| perr(&e))?;
            } else {
                legend
                    .draw(&Rectangle::new([(8, y - 6), (32, y + 6)], color.filled()))
                    .map_err(|e| perr(&e))?;
            }
            legend
                .draw(&Text::new(label, (40, y - 8), ("sans-serif", 15)))
                .map_err(|e| perr(&e))?;
            y += 24;
        }
    }
    root.present().map_err(|e| perr(&e))?;
    Ok(())
}

/// `moodlens catalog import …` / `moodlens catalog stats`
pub fn run_catalog(args: &CatalogArgs, out: &mut dyn Write) -> anyhow::Result<()> {
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
                .filter(|x| crate::engine::film_clears_floor(x, &cfg.floor))
                .count();
            let ok_tracks = tracks
                .iter()
                .filter(|x| crate::engine::track_clears_floor(x, &cfg.floor))
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
            let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report: ImportReport = match &ia.source {
                ImportSource::Movielens(f) => import_movielens(&f.path, &mut store, show),
                ImportSource::TmdbCsv(f) => import_tmdb_csv(&f.path, &mut store, show),
                ImportSource::SpotifyCsv(f) => import_spotify_csv(&f.path, &mut store, show),
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(subcommand)]
        cmd: TestCmd,
    }

    #[derive(clap::Subcommand, Debug)]
    enum TestCmd {
        Recommend(RecommendArgs),
        Feedback(FeedbackArgs),
        History(HistoryArgs),
        Catalog(CatalogArgs),
        Summary(SummaryArgs),
    }

    #[test]
    fn argument_definitions_are_consistent() {
        use clap::CommandFactory;
        TestCli::command().debug_assert();
        let TestCmd::Summary(s) = parse(&["summary", "--group", "average", "--shuffle"]) else {
            panic!()
        };
        assert_eq!(s.opts.group, Some(Aggregation::Average));
        assert!(s.opts.shuffle);
    }

    fn parse(args: &[&str]) -> TestCmd {
        TestCli::try_parse_from(std::iter::once("moodlens").chain(args.iter().copied()))
            .unwrap()
            .cmd
    }

    fn recommend_args(args: &[&str]) -> RecommendArgs {
        let TestCmd::Recommend(a) = parse(args) else {
            panic!("not a recommend command: {args:?}")
        };
        a
    }

    /// What a command printed to `out` (it must succeed).
    fn printed(run: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>) -> String {
        let mut out = Vec::new();
        run(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What `run_recommend` printed, with `input` on stdin.
    fn recommend_text(a: &RecommendArgs, input: &[u8]) -> String {
        printed(|out| run_recommend(a, &mut &input[..], out, &mut Vec::new()))
    }

    fn recommend_json(a: &RecommendArgs) -> serde_json::Value {
        serde_json::from_str(&recommend_text(a, b"")).unwrap()
    }

    #[test]
    fn manual_mood_selection_asks_again_and_handles_eof() {
        let mut input: &[u8] = b"9\nfoo\n\n4\n";
        let mut out = Vec::new();
        let e = choose_mood(&mut input, &mut out).unwrap();
        assert_eq!(e, Some(Emotion::Happy));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("1. angry") && text.contains("7. neutral"));
        assert_eq!(text.matches("not one of the choices").count(), 2);
        let mut input: &[u8] = b"sad\n";
        assert_eq!(
            choose_mood(&mut input, &mut Vec::new()).unwrap(),
            Some(Emotion::Sad)
        );
        let mut input: &[u8] = b"0\n";
        assert_eq!(
            choose_mood(&mut input, &mut Vec::new()).unwrap(),
            None,
            "EOF after invalid"
        );
        let mut input: &[u8] = b"";
        assert_eq!(choose_mood(&mut input, &mut Vec::new()).unwrap(), None);
    }

    fn tmp_db(dir: &tempfile::TempDir) -> String {
        dir.path().join("m.db").display().to_string()
    }

    #[test]
    fn recommend_json_offline_then_feedback_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let db = tmp_db(&dir);
        let a = recommend_args(&[
            "recommend",
            "--mood",
            "sad",
            "--json",
            "--offline",
            "--db",
            &db,
        ]);
        let v = recommend_json(&a);
        assert_eq!(v["mood"], "sad");
        assert_eq!(v["strategy"], "comfort", "sad's default strategy");
        assert!(v["session"].as_str().unwrap().starts_with("auto:"));
        for it in v["movies"].as_array().unwrap() {
            assert!(
                it["reason"].as_str().unwrap().ends_with("comfort for sad"),
                "{it}"
            );
        }
        assert!(v["movies"].as_array().unwrap().len() >= 5);
        assert!(v["music"].as_array().unwrap().len() >= 5);
        for it in v["movies"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["music"].as_array().unwrap())
        {
            assert!(it["link"].as_str().unwrap().starts_with("https://"));
        }
        let title = v["movies"][0]["title"].as_str().unwrap().to_string();

        // piped manual selection, text output
        let a = recommend_args(&[
            "recommend",
            "--offline",
            "--db",
            &db,
            "--strategy",
            "uplift",
            "--seed",
            "3",
        ]);
        let text = recommend_text(&a, b"x\n5\n");
        assert!(
            text.contains("Mood: sad") && text.contains("strategy: uplift"),
            "{text}"
        );
        assert!(text.contains("Movies (") && text.contains("Music:"));
        // EOF at the prompt: an error (non-zero exit), nothing recorded
        let mut prompt = Vec::new();
        let e = run_recommend(&a, &mut &b""[..], &mut Vec::new(), &mut prompt).unwrap_err();
        assert!(e.to_string().contains("no mood chosen"), "{e}");

        let TestCmd::Feedback(f) = parse(&["feedback", &title, "--dislike", "--db", &db]) else {
            panic!()
        };
        assert!(printed(|out| run_feedback(&f, out)).contains("will not be shown again"));
        assert!(
            TestCli::try_parse_from(["moodlens", "feedback", "x"]).is_err(),
            "needs --like or --dislike"
        );
        assert!(
            TestCli::try_parse_from(["moodlens", "feedback", "x", "--like", "--dislike"]).is_err()
        );

        let png = dir.path().join("h.png");
        let TestCmd::History(h) = parse(&[
            "history",
            "--json",
            "--db",
            &db,
            "--plot",
            png.to_str().unwrap(),
        ]) else {
            panic!()
        };
        let v: serde_json::Value =
            serde_json::from_str(&printed(|out| run_history(&h, out))).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["mood"], "sad");
        assert_eq!(v[0]["source"], "manual");
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let TestCmd::History(h) = parse(&["history", "--db", &db]) else {
            panic!()
        };
        assert_eq!(printed(|out| run_history(&h, out)).lines().count(), 2);
    }

    #[test]
    fn probabilities_and_bad_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let db = tmp_db(&dir);
        let a = recommend_args(&[
            "recommend",
            "--probabilities",
            "0.1,0,0.6,0.1,0.1,0.1,0",
            "--json",
            "--offline",
            "--no-history",
            "--db",
            &db,
        ]);
        let v = recommend_json(&a);
        assert_eq!(v["mood"], "fear");
        assert!(
            v.get("session_id").is_none(),
            "--no-history records nothing"
        );
        let a = recommend_args(&[
            "recommend",
            "--probabilities",
            "1,2",
            "--offline",
            "--db",
            &db,
        ]);
        assert!(run_recommend(&a, &mut &b""[..], &mut Vec::new(), &mut Vec::new()).is_err());
        assert!(TestCli::try_parse_from(["moodlens", "recommend", "--mood", "bored"]).is_err());
        assert!(TestCli::try_parse_from(["moodlens", "recommend", "--strategy", "loud"]).is_err());
    }

    #[test]
    fn session_summary_records_the_source_and_can_be_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = SummaryArgs::default();
        args.opts.offline = true;
        args.opts.store.db = Some(dir.path().join("s.db"));
        let p = [0.05, 0.0, 0.05, 0.7, 0.1, 0.05, 0.05];
        let p = moodlens_session::SessionMood {
            mood: Mood::from_probabilities(&p).unwrap(),
            people: Vec::new(),
        };
        let mut out = Vec::new();
        let rec = session_summary(&p, "camera", &args, false, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(rec.mood, "happy");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Detected mood: happy"), "{text}");
        let s = Store::open(&dir.path().join("s.db")).unwrap();
        let h = s.sessions(None).unwrap();
        assert_eq!(h[0].source, "camera");
        assert!((h[0].probabilities[3] - 0.7).abs() < 1e-9);
        args.no_recommend = true;
        let mut out = Vec::new();
        assert!(session_summary(&p, "video", &args, false, &mut out)
            .unwrap()
            .is_none());
        assert!(out.is_empty());
    }

    /// Keys and base URLs from the environment drive the live clients end to end (through a map,
    /// not the process environment, which tests running in parallel share).
    #[test]
    fn env_keys_and_base_urls_drive_live_clients() {
        use crate::live::fake::serve;
        let srv = serve(crate::live::tests::both_services_answer);
        let dir = tempfile::tempdir().unwrap();
        let vars: std::collections::HashMap<&str, String> = [
            ("TMDB_API_KEY", "env-key-123".to_string()),
            ("SPOTIFY_CLIENT_ID", "cid".into()),
            ("SPOTIFY_CLIENT_SECRET", "csecret".into()),
            ("MOODLENS_TMDB_BASE_URL", srv.url.clone()),
            ("MOODLENS_SPOTIFY_API_URL", format!("{}/v1", srv.url)),
            ("MOODLENS_SPOTIFY_ACCOUNTS_URL", srv.url.clone()),
            (
                "MOODLENS_CACHE_DIR",
                dir.path().join("cache").display().to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let env = |k: &str| vars.get(k).cloned();
        let opts = RecommendOptions {
            seed: Some(1),
            store: StoreArgs {
                db: Some(dir.path().join("m.db")),
                config: None,
            },
            ..Default::default()
        };
        let rec =
            recommend_with_env(Mood::from_emotion(Emotion::Sad), "manual", &opts, &env).unwrap();
        assert!(rec.notices.is_empty(), "{:?}", rec.notices);
        assert!(rec.playlists.iter().any(|m| m.source == "spotify-live"));
        // live films join the candidates (seeded noise decides whether one makes a list)
        let live_films: usize = (1..=4)
            .map(|seed| {
                let o = RecommendOptions {
                    seed: Some(seed),
                    strategy: Some(Strategy::Match),
                    ..opts.clone()
                };
                let r = recommend_with_env(Mood::from_emotion(Emotion::Sad), "manual", &o, &env)
                    .unwrap();
                r.movies.iter().filter(|m| m.source == "tmdb-live").count()
            })
            .sum();
        assert!(live_films > 0);
        let seen = srv.seen.lock().unwrap().clone();
        assert!(seen
            .iter()
            .any(|r| r.target.contains("api_key=env-key-123")));
        assert!(seen.iter().any(|r| r.target.starts_with("/v1/search")));
        // responses were cached under the given folder, without the key
        let files: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .unwrap()
            .collect();
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            assert!(!text.contains("env-key-123") && !text.contains("csecret"));
        }
        // no keys in the environment: offline, no requests
        let none = |_: &str| None;
        let before = srv.seen.lock().unwrap().len();
        let rec =
            recommend_with_env(Mood::from_emotion(Emotion::Sad), "manual", &opts, &none).unwrap();
        assert!(rec.movies.iter().all(|m| m.source != "tmdb-live"));
        assert_eq!(srv.seen.lock().unwrap().len(), before);
    }

    #[test]
    fn group_shuffle_session_and_reasons_from_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let db = tmp_db(&dir);
        // three people: each person's mood, one least-misery list (the default)
        let a = recommend_args(&[
            "recommend",
            "--person",
            "happy",
            "--person",
            "sad",
            "--person",
            "0.05,0.05,0.6,0.1,0.1,0.05,0.05",
            "--movies",
            "8",
            "--json",
            "--offline",
            "--db",
            &db,
        ]);
        assert_eq!(a.people.len(), 3);
        let v = recommend_json(&a);
        assert_eq!(v["aggregation"], "least-misery");
        let moods: Vec<&str> = v["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mood"].as_str().unwrap())
            .collect();
        assert_eq!(moods, ["happy", "sad", "fear"]);
        for m in v["movies"].as_array().unwrap() {
            assert!(!m["genres"].to_string().contains("Horror"), "{m}");
            assert!(m["reason"].as_str().unwrap().contains("least misery"));
        }
        let a = recommend_args(&[
            "recommend",
            "--person",
            "happy",
            "--person",
            "sad",
            "--group",
            "average",
            "--offline",
            "--db",
            &db,
        ]);
        assert_eq!(a.opts.group, Some(Aggregation::Average));
        let text = recommend_text(&a, b"");
        assert!(
            text.contains("person 1: happy") && text.contains("person 2: sad"),
            "{text}"
        );
        assert!(text.contains("by average"), "{text}");
        assert!(TestCli::try_parse_from(["moodlens", "recommend", "--group", "median"]).is_err());
        assert!(TestCli::try_parse_from(["moodlens", "recommend", "--person", "bored"]).is_err());
        assert!(TestCli::try_parse_from([
            "moodlens",
            "recommend",
            "--mood",
            "sad",
            "--person",
            "happy"
        ])
        .is_err());

        // the same list within a session, new picks with --shuffle
        let args = |extra: &[&str]| {
            let mut v = vec![
                "recommend",
                "--mood",
                "happy",
                "--json",
                "--offline",
                "--db",
                &db,
            ];
            v.extend_from_slice(extra);
            recommend_args(&v)
        };
        let keys = |v: &serde_json::Value| {
            v["movies"]
                .as_array()
                .unwrap()
                .iter()
                .chain(v["music"].as_array().unwrap())
                .map(|i| i["key"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let first = recommend_json(&args(&["--session", "tab-1"]));
        let calm = recommend_json(&args(&["--session", "tab-1", "--strategy", "calm"]));
        assert_eq!(calm["strategy"], "calm");
        let again = recommend_json(&args(&["--session", "tab-1"]));
        assert_eq!(keys(&first), keys(&again));
        let shuffled = recommend_json(&args(&["--session", "tab-1", "--shuffle"]));
        assert_eq!(shuffled["shuffle"], 1);
        assert!(keys(&shuffled).iter().all(|k| !keys(&first).contains(k)));
        // text: reasons under every item
        let text = recommend_text(
            &recommend_args(&["recommend", "--mood", "fear", "--offline", "--db", &db]),
            b"",
        );
        assert!(text.contains("strategy: calm"), "{text}");
        assert_eq!(text.matches("why: ").count(), 10, "{text}");
        assert!(text.contains("toward calm"));
        assert!(text.contains("Left out: "));
        assert!(
            recommend_args(&["recommend", "--allow-explicit"])
                .opts
                .allow_explicit
        );
    }

    #[test]
    fn group_session_summary_reports_each_person() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = SummaryArgs::default();
        args.opts.offline = true;
        args.opts.store.db = Some(dir.path().join("g.db"));
        let people: Vec<Mood> = [
            [0.0, 0.0, 0.0, 0.9, 0.05, 0.05, 0.0],
            [0.0, 0.0, 0.8, 0.0, 0.1, 0.1, 0.0],
        ]
        .iter()
        .map(|p| Mood::from_probabilities(p).unwrap())
        .collect();
        let group = |people: &[Mood]| moodlens_session::SessionMood {
            mood: people[0].clone(),
            people: people.to_vec(),
        };
        let mut out = Vec::new();
        let rec = session_summary(&group(&people), "camera", &args, false, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(rec.people.len(), 2);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Detected 2 people"), "{text}");
        assert!(text.contains("person 2: fear"));
        let s = Store::open(&dir.path().join("g.db")).unwrap();
        let h = s.sessions(None).unwrap();
        assert_eq!(h[0].people.len(), 2);
        assert_eq!(h[0].source, "camera");
        // one person: the single-person summary
        let mut out = Vec::new();
        let rec = session_summary(&group(&people[..1]), "camera", &args, true, &mut out)
            .unwrap()
            .unwrap();
        assert!(rec.people.is_empty());
        assert_eq!(rec.mood, "happy");
    }

    #[test]
    fn catalog_import_reports_counts() {
        let dir = tempfile::tempdir().unwrap();
        let db = tmp_db(&dir);
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "id,title,genre,vote_average,vote_count,release_date\n550,Fight Club,Drama,8.4,25000,1999-10-15\nbad,row\n").unwrap();
        let TestCmd::Catalog(c) = parse(&[
            "catalog",
            "import",
            "tmdb-csv",
            csv.to_str().unwrap(),
            "--db",
            &db,
        ]) else {
            panic!()
        };
        let text = printed(|out| run_catalog(&c, out));
        assert!(text.contains("1 imported, 1 rejected"), "{text}");
        let TestCmd::Catalog(c) = parse(&["catalog", "stats", "--db", &db]) else {
            panic!()
        };
        let text = printed(|out| run_catalog(&c, out));
        assert!(text.contains("1 films"), "{text}");
        assert!(text.contains("Clearing the floor"), "{text}");
    }

    #[test]
    fn about_credits_every_source_and_time_formats() {
        let a = about();
        for s in [
            "This product uses the TMDB API but is not endorsed or certified by TMDB",
            "Harper",
            "Konstan",
            "GroupLens",
            "Spotify",
            "Russell",
        ] {
            assert!(a.contains(s), "{s}");
        }
        assert_eq!(format_time(0), "1970-01-01 00:00");
        assert_eq!(format_time(1_795_000_000), "2026-11-18 11:06");
    }
}
