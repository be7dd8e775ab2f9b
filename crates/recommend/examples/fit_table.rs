//! The measured "fit" tables of docs/RECOMMEND.md: for every mood × strategy, over N seeded runs
//! (10 films, 10 tracks, offline), how many items break the documented rules and the mix of music
//! moods; and the rules table itself, from the built-in configuration.
//!
//! ```sh
//! cargo run --release -p moodlens-recommend --example fit_table             # embedded catalog
//! cargo run --release -p moodlens-recommend --example fit_table -- --db x.db # + imported tables
//! cargo run --release -p moodlens-recommend --example fit_table -- --show sad comfort
//! ```

use std::collections::BTreeMap;

use moodlens_common::Emotion;
use moodlens_recommend::catalog::{embedded_films, embedded_tracks};
use moodlens_recommend::config::{tmdb_genre_id, tmdb_genre_name};
use moodlens_recommend::engine::{recommend, rule_violations, Live, RecItem, Request};
use moodlens_recommend::mood::MusicMood;
use moodlens_recommend::{Config, Mood, Store, Strategy};

fn label(t: &RecItem) -> Option<MusicMood> {
    t.music_mood.as_deref().and_then(|m| m.parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 20u64;
    let mut db = None;
    let mut show = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--runs" => {
                runs = args[i + 1].parse()?;
                i += 1;
            }
            "--db" => {
                db = Some(std::path::PathBuf::from(&args[i + 1]));
                i += 1;
            }
            "--show" => {
                show = Some((
                    args[i + 1].parse::<Emotion>()?,
                    args[i + 2].parse::<Strategy>()?,
                ));
                i += 2;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
        i += 1;
    }
    let cfg = Config::default();
    let mut store = match &db {
        Some(p) => Some(Store::open(p)?),
        None => None,
    };
    let run = |mood: Mood, s: Strategy, seed: u64, store: Option<&mut Store>| {
        let mut r = Request::new(mood, s);
        r.movies = 10;
        r.music = 10;
        r.seed = Some(seed);
        r.record = false;
        recommend(&r, &cfg, store, &Live::default())
    };
    if let Some((e, s)) = show {
        for seed in 0..runs.min(3) {
            let out = run(Mood::from_emotion(e), s, seed, store.as_mut())?;
            println!("--- {e}/{s} seed {seed}  mix {:?}", out.music_mix);
            for m in &out.movies {
                println!(
                    "  film  {} ({}) [{}] {} — {}",
                    m.title,
                    m.year.unwrap_or(0),
                    m.genres.join(","),
                    m.source,
                    m.reason
                );
            }
            for t in &out.music {
                println!(
                    "  track {} — {} [{}] {} — {}",
                    t.artist.as_deref().unwrap_or(""),
                    t.title,
                    t.music_mood.as_deref().unwrap_or("?"),
                    t.source,
                    t.reason
                );
            }
        }
        return Ok(());
    }

    println!("### Rules (built-in configuration)\n");
    println!("| strategy | mood | excluded genres | excluded music | max Sad | why |");
    println!("|---|---|---|---|---|---|");
    for s in Strategy::ALL {
        for e in Emotion::ALL {
            let r = cfg.rules_for(s, e);
            let default = if cfg.strategy_for(e) == s {
                " (default)"
            } else {
                ""
            };
            let genres: Vec<&str> = r
                .exclude_genres
                .iter()
                .filter_map(|g| tmdb_genre_name(*g))
                .collect();
            let music: Vec<&str> = r.exclude_music.iter().map(|m| m.label()).collect();
            println!(
                "| {s} | {e}{default} | {} | {} | {:.0}% | {} |",
                genres.join(", "),
                if music.is_empty() {
                    "—".to_string()
                } else {
                    music.join(", ")
                },
                r.max_sad * 100.0,
                r.why.join("; ")
            );
        }
    }

    println!(
        "\n### Fit: {runs} seeded runs per row (10 films, 10 tracks, offline, {})\n",
        if db.is_some() {
            "embedded + imported tables"
        } else {
            "embedded catalog"
        }
    );
    println!(
        "| mood | strategy | films | films breaking a rule | tracks | tracks breaking a rule | \
         Happy | Sad | Calm | Energetic |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut total_broken = 0;
    let mut reported = 0;
    let (mut all_films, mut all_tracks, mut imp_films, mut imp_tracks) = (0, 0, 0, 0);
    let curated: std::collections::HashSet<String> = embedded_films()
        .iter()
        .map(|f| f.key())
        .chain(embedded_tracks().iter().map(|t| t.key()))
        .collect();
    let mut rows: Vec<(String, Mood, Strategy, bool)> = Vec::new();
    for e in Emotion::ALL {
        for s in Strategy::ALL {
            rows.push((e.label().to_string(), Mood::from_emotion(e), s, true));
        }
    }
    let mixed = Mood::from_probabilities(&[0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1])?;
    rows.push(("mixed 0.4 happy".into(), mixed, Strategy::Match, false));
    for (name, mood, s, mark) in rows {
        let rules = cfg.rules_for(s, mood.emotion);
        let (mut films, mut tracks, mut bad_films, mut bad_tracks) = (0, 0, 0, 0);
        let mut mix: BTreeMap<MusicMood, usize> = BTreeMap::new();
        for seed in 0..runs {
            let out = run(mood.clone(), s, seed, store.as_mut())?;
            films += out.movies.len();
            tracks += out.music.len();
            // every film with an excluded genre; every track of an excluded music mood, and each
            // Sad track over the cap
            bad_films += out
                .movies
                .iter()
                .filter(|m| {
                    m.genres.iter().any(|g| {
                        tmdb_genre_id(g).is_some_and(|id| rules.exclude_genres.contains(&id))
                    })
                })
                .count();
            bad_tracks += out
                .music
                .iter()
                .filter(|t| label(t).is_some_and(|m| rules.exclude_music.contains(&m)))
                .count();
            let sad = out
                .music
                .iter()
                .filter(|t| label(t) == Some(MusicMood::Sad))
                .count();
            let cap = (rules.max_sad * out.music.len() as f64 + 1e-9).floor() as usize;
            bad_tracks += sad.saturating_sub(cap);
            reported += rule_violations(&out, &rules).len();
            all_films += out.movies.len();
            all_tracks += out.music.len();
            imp_films += out
                .movies
                .iter()
                .filter(|m| !curated.contains(&m.key))
                .count();
            imp_tracks += out
                .music
                .iter()
                .filter(|m| !curated.contains(&m.key))
                .count();
            for t in &out.music {
                if let Some(m) = label(t) {
                    *mix.entry(m).or_insert(0) += 1;
                }
            }
        }
        total_broken += bad_films + bad_tracks;
        let pct = |m: MusicMood| {
            format!(
                "{:.0}%",
                100.0 * *mix.get(&m).unwrap_or(&0) as f64 / tracks.max(1) as f64
            )
        };
        let default = if mark && cfg.strategy_for(mood.emotion) == s {
            " (default)"
        } else {
            ""
        };
        println!(
            "| {name} | {s}{default} | {films} | {bad_films} | {tracks} | {bad_tracks} | {} | {} | {} | {} |",
            pct(MusicMood::Happy),
            pct(MusicMood::Sad),
            pct(MusicMood::Calm),
            pct(MusicMood::Energetic)
        );
    }
    println!(
        "\nItems breaking a rule, all rows: {total_broken} (rule_violations reports {reported})"
    );
    println!(
        "Not in the embedded catalog: {:.0}% of the films, {:.0}% of the tracks",
        100.0 * imp_films as f64 / all_films.max(1) as f64,
        100.0 * imp_tracks as f64 / all_tracks.max(1) as f64
    );
    Ok(())
}
