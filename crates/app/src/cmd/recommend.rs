//! `moodlens recommend`: films and music for a mood given on the command line or chosen from a
//! list; also the recommendation text that ends `detect` and `live`.

use super::args::{parse_person, RecommendOptions, SummaryArgs};
use anyhow::Result;
use clap::Args;
use moodlens_recommend::mood::Mood;
use moodlens_recommend::{RecommendError, Recommendations};
use moodlens_session::Emotion;
use std::io::{BufRead, Write};

fn parse_emotion(s: &str) -> std::result::Result<Emotion, String> {
    s.parse::<Emotion>().map_err(|e| e.to_string())
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

const PROMPT_LIST: &str = "How do you feel? Choose a mood:";

/// The manual mood selection: a numbered list of the seven moods; the user types a number (or a
/// name). Invalid input asks again; end of input returns `None` (exit cleanly).
pub fn choose_mood(input: &mut dyn BufRead, out: &mut dyn Write) -> Result<Option<Emotion>> {
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
pub fn run(
    args: &RecommendArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    if !args.people.is_empty() {
        let rec =
            args.opts
                .recommender()?
                .for_people(args.people.clone(), "manual", &args.opts.ask())?;
        return write_recommendations(&rec, args.json, out);
    }
    let (mood, source) = match (&args.probabilities, args.mood) {
        (Some(p), _) => (Mood::from_probabilities(p)?, "manual"),
        (None, Some(e)) => (Mood::from_emotion(e), "manual"),
        (None, None) => {
            let prompt: &mut dyn Write = if args.json { err } else { out };
            match choose_mood(input, prompt)? {
                Some(e) => (Mood::from_emotion(e), "manual"),
                None => return Err(RecommendError::NoMoodChosen.into()),
            }
        }
    };
    let rec = args
        .opts
        .recommender()?
        .for_mood(mood, source, &args.opts.ask())?;
    write_recommendations(&rec, args.json, out)
}

fn write_recommendations(rec: &Recommendations, json: bool, out: &mut dyn Write) -> Result<()> {
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
pub fn recommend_for_session(
    mood: &moodlens_session::SessionMood,
    source: &str,
    args: &SummaryArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Option<Recommendations>> {
    if args.no_recommend {
        return Ok(None);
    }
    let rec = args
        .opts
        .recommender()?
        .for_session(mood, source, &args.opts.ask())?;
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

/// Recommendations at the end of `detect`/`live` for the session's mood by the one rule
/// ([`moodlens_session::SessionMood`], as the web app): one person → that person's mood; several →
/// each person's mood and one list for the group (`--group`, least misery by default). Printed as
/// text to `out` when given; computed (and recorded in the history) either way. A failure is a
/// note on stderr, not the command's failure: the faces were found and printed.
pub fn end_of_session(
    summaries: &[&moodlens_session::SessionSummary],
    source: &str,
    args: &SummaryArgs,
    out: Option<&mut dyn Write>,
) -> Option<Recommendations> {
    let mood = moodlens_session::SessionMood::of(summaries)?;
    let mut sink = std::io::sink();
    let out: &mut dyn Write = match out {
        Some(o) => o,
        None => &mut sink,
    };
    match recommend_for_session(&mood, source, args, false, out) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("note: no recommendations: {e:#}");
            None
        }
    }
}
