//! The acceptance rules of issue 16, checked independently of the configuration (so a config
//! change that breaks them fails), plus the configured rules through `rule_violations`.

use moodlens_common::Emotion;
use moodlens_recommend::engine::{recommend, rule_violations, Live, RecItem, Recommendations};
use moodlens_recommend::{Config, Mood, Request, Store, Strategy};

/// The distribution of the issue: labelled happy, 60 % spread over the other six emotions.
pub const MIXED: [f64; 7] = [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1];

fn has_genre(m: &RecItem, names: &[&str]) -> bool {
    m.genres.iter().any(|g| names.contains(&g.as_str()))
}

fn share(r: &Recommendations, mood: &str) -> f64 {
    let n = r
        .music
        .iter()
        .filter(|t| t.music_mood.as_deref() == Some(mood))
        .count();
    n as f64 / r.music.len().max(1) as f64
}

/// Characters that follow "Ã"/"Â" when UTF-8 was decoded as Latin-1/cp1252: U+0080–U+00BF and
/// cp1252's extra characters.
pub fn shows_mojibake(s: &str) -> bool {
    let cp1252 = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";
    let chars: Vec<char> = s.chars().collect();
    chars.windows(2).any(|w| {
        matches!(w[0], 'Ã' | 'Â' | 'â')
            && (('\u{80}'..='\u{BF}').contains(&w[1]) || cp1252.contains(w[1]))
    })
}

/// A list for a mood (10 films, 10 tracks, offline), not recorded.
pub fn list(
    mood: Mood,
    s: Strategy,
    seed: u64,
    cfg: &Config,
    store: Option<&mut Store>,
) -> Recommendations {
    let mut r = Request::new(mood, s);
    r.movies = 10;
    r.music = 10;
    r.seed = Some(seed);
    r.record = false;
    recommend(&r, cfg, store, &Live::default()).unwrap()
}

/// Every acceptance rule for one list; the broken ones, described.
pub fn acceptance_problems(label: &str, s: Strategy, r: &Recommendations) -> Vec<String> {
    let mut bad = Vec::new();
    let grim = ["Horror", "Thriller", "War"];
    if r.movies.len() != 10 || r.music.len() != 10 {
        bad.push(format!(
            "{label}/{s}: {} films, {} tracks",
            r.movies.len(),
            r.music.len()
        ));
    }
    if s == Strategy::Calm {
        for m in r.movies.iter().filter(|m| has_genre(m, &grim)) {
            bad.push(format!("{label}/calm: film {} {:?}", m.title, m.genres));
        }
        for t in &r.music {
            if t.music_mood.as_deref() == Some("Energetic") {
                bad.push(format!("{label}/calm: Energetic track {}", t.title));
            }
        }
        if share(r, "Sad") > 0.3 + 1e-9 {
            bad.push(format!("{label}/calm: {:.0}% Sad", share(r, "Sad") * 100.0));
        }
    }
    if label == "happy" && matches!(s, Strategy::Match | Strategy::Uplift) {
        for m in r.movies.iter().filter(|m| has_genre(m, &grim)) {
            bad.push(format!("happy/{s}: film {} {:?}", m.title, m.genres));
        }
    }
    if (label == "neutral" || label == "mixed") && share(r, "Sad") > 0.4 + 1e-9 {
        bad.push(format!("{label}/{s}: {:.0}% Sad", share(r, "Sad") * 100.0));
    }
    for it in r.movies.iter().chain(&r.music).chain(&r.playlists) {
        if it.reason.is_empty() {
            bad.push(format!("{label}/{s}: {} has no reason", it.title));
        }
        for text in [Some(&it.title), it.artist.as_ref()].into_iter().flatten() {
            if shows_mojibake(text) {
                bad.push(format!("{label}/{s}: mojibake in {text:?}"));
            }
        }
    }
    bad
}

/// 3 runs of every mood × strategy and of the mixed distribution: the acceptance rules and the
/// configured rules. Returns every problem found.
pub fn check_all(cfg: &Config, mut store: Option<&mut Store>) -> Vec<String> {
    let mut bad = Vec::new();
    let mut cases: Vec<(String, Mood)> = Emotion::ALL
        .iter()
        .map(|e| (e.label().to_string(), Mood::from_emotion(*e)))
        .collect();
    let mixed = Mood::from_probabilities(&MIXED).unwrap();
    assert_eq!(
        mixed.emotion,
        Emotion::Happy,
        "the mixed distribution is labelled happy"
    );
    cases.push(("mixed".to_string(), mixed));
    for (label, mood) in cases {
        let strategies: Vec<Strategy> = if label == "mixed" {
            vec![Strategy::Match, Strategy::Uplift]
        } else {
            Strategy::ALL.to_vec()
        };
        for s in strategies {
            for seed in 0..3 {
                let r = list(mood.clone(), s, seed, cfg, store.as_deref_mut());
                assert_eq!(r.mood, mood.emotion.label(), "name and lists from one Mood");
                bad.extend(acceptance_problems(&label, s, &r));
                for v in rule_violations(&r, &cfg.rules_for(s, mood.emotion)) {
                    bad.push(format!("{label}/{s} seed {seed}: {v}"));
                }
            }
        }
    }
    bad
}
