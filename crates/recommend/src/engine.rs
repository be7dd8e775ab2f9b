//! Ranking: from a mood (or several people's moods) and a strategy to movies, music and
//! playlists, drawing on the embedded, imported and (when keys are set) live catalogs, under the
//! configured rules (what must not appear), with feedback, stable lists within a session,
//! no-repeat across sessions and a short reason for every item.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use moodlens_common::Emotion;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::catalog::{
    embedded_films, embedded_tracks, fix_mojibake, has_explicit_word, normalize_title, url_encode,
    Film, Source, Track,
};
use crate::config::{tmdb_genre_id, tmdb_genre_name, CatalogFloor, Config, Rules};
use crate::error::{RecommendError, Result};
use crate::mood::{Mood, MusicMood, Strategy};
use crate::online::{SpotifyClient, TmdbClient};
use crate::store::{now_secs, Feedback, ListMeta, Store, StoredItem};

/// How one list serves several people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// The group's mood is the mean of everyone's probabilities; that one mood's rules apply.
    Average,
    /// Nothing that fits anyone's state badly: the union of everyone's exclusions, and each item
    /// scored by the person it fits least (the default).
    #[default]
    LeastMisery,
}

impl Aggregation {
    pub const ALL: [Aggregation; 2] = [Aggregation::Average, Aggregation::LeastMisery];

    pub fn label(self) -> &'static str {
        match self {
            Aggregation::Average => "average",
            Aggregation::LeastMisery => "least-misery",
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Aggregation {
    type Err = RecommendError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "average" | "avg" | "mean" => Ok(Aggregation::Average),
            "least-misery" | "leastmisery" | "min" => Ok(Aggregation::LeastMisery),
            other => Err(RecommendError::InvalidMood(format!(
                "unknown group aggregation '{other}': expected average or least-misery"
            ))),
        }
    }
}

/// What to recommend for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The mood (for a group: the group's mean mood, see [`Request::for_group`]).
    pub mood: Mood,
    pub strategy: Strategy,
    pub movies: usize,
    pub music: usize,
    /// Same seed, same catalog, same history → same list. `None`: derived from the session (the
    /// same mood and strategy give the same list within a session), or random without a database.
    pub seed: Option<u64>,
    /// Where the mood came from: camera | video | image | manual.
    pub source: String,
    /// Store the session in the history (when a store is given).
    pub record: bool,
    /// Each person's mood, when several people are in the frame (empty: one person).
    pub people: Vec<Mood>,
    /// How the list serves `people`.
    pub aggregation: Aggregation,
    /// The session this request belongs to (e.g. a browser tab). `None`: requests within
    /// `session_minutes` of the previous one share an automatic session.
    pub session: Option<String>,
    /// New picks for the same mood and strategy (what this session showed for them is avoided).
    pub shuffle: bool,
    /// Show adult films and explicit tracks (also `allow_explicit` in the config).
    pub allow_explicit: bool,
}

impl Request {
    /// One person, 5 movies and 5 tracks, recorded, manual source.
    pub fn new(mood: Mood, strategy: Strategy) -> Request {
        Request {
            mood,
            strategy,
            movies: 5,
            music: 5,
            seed: None,
            source: "manual".into(),
            record: true,
            people: Vec::new(),
            aggregation: Aggregation::LeastMisery,
            session: None,
            shuffle: false,
            allow_explicit: false,
        }
    }

    /// A group: `mood` becomes the mean of everyone's probabilities.
    pub fn for_group(
        people: Vec<Mood>,
        aggregation: Aggregation,
        strategy: Strategy,
    ) -> Result<Request> {
        let mood = group_mood(&people)?;
        let mut r = Request::new(mood, strategy);
        r.people = people;
        r.aggregation = aggregation;
        Ok(r)
    }
}

/// The group's mood: the mean of everyone's probability distributions (its most probable emotion
/// names it; a tie goes to the first in the model's order).
pub fn group_mood(people: &[Mood]) -> Result<Mood> {
    if people.is_empty() {
        return Err(RecommendError::InvalidMood(
            "a group needs at least one person".into(),
        ));
    }
    let mut p = [0.0; moodlens_common::NUM_EMOTIONS];
    for m in people {
        for (i, x) in m.probabilities.iter().enumerate() {
            p[i] += x / people.len() as f64;
        }
    }
    Ok(Mood::from_probabilities(&p)?)
}

/// Live clients; both optional (no keys → offline).
#[derive(Default)]
pub struct Live {
    pub tmdb: Option<TmdbClient>,
    pub spotify: Option<SpotifyClient>,
}

/// What a recommended item is (JSON: "movie", "track", "playlist").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Movie,
    Track,
    Playlist,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Movie => "movie",
            ItemKind::Track => "track",
            ItemKind::Playlist => "playlist",
        }
    }
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recommended item (stable JSON shape, see docs/RECOMMEND.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecItem {
    pub kind: ItemKind,
    /// Key for `moodlens feedback`.
    pub key: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// The item itself when its id is verified, otherwise a search.
    pub link: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// Music placement on the circumplex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arousal: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music_mood: Option<String>,
    /// embedded | movielens | tmdb-csv | spotify-csv | tmdb-live | spotify-live | search
    pub source: Source,
    /// Why it is on the list, e.g. "comedy, adventure — fits happy".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// One person of a group, as detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonMood {
    /// 1, 2, … in the order given (left to right in the frame, as the caller orders faces).
    pub person: usize,
    pub mood: String,
    pub probabilities: BTreeMap<String, f64>,
    pub valence: f64,
    pub arousal: f64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    pub mood: String,
    pub probabilities: BTreeMap<String, f64>,
    pub valence: f64,
    pub arousal: f64,
    pub strategy: String,
    /// The TMDb genres the mood and strategy point to, best first.
    pub genres: Vec<String>,
    /// Genres no film on the list may have (the rules for this mood and strategy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_genres: Vec<String>,
    /// The share of each music mood the music list aims at (after the rules).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub music_mix: BTreeMap<String, f64>,
    pub seed: u64,
    pub movies: Vec<RecItem>,
    pub music: Vec<RecItem>,
    pub playlists: Vec<RecItem>,
    /// Visible notices (e.g. a live service failed and the offline catalog was used).
    pub notices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
    /// The session the list belongs to: pass it back (`--session`) for the same list again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// How many times this mood and strategy were shuffled in the session.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle: u32,
    /// Each person's mood, for a group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonMood>,
    /// How the group list was made (average | least-misery), for a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
}

fn is_zero(x: &u32) -> bool {
    *x == 0
}

fn probabilities_map(m: &Mood) -> BTreeMap<String, f64> {
    Emotion::ALL
        .iter()
        .map(|e| (e.label().to_string(), m.probabilities[e.index()]))
        .collect()
}

fn film_item(f: &Film) -> RecItem {
    RecItem {
        kind: ItemKind::Movie,
        key: f.key(),
        title: fix_mojibake(&f.title),
        year: f.year,
        artist: None,
        link: f.link(),
        genres: f.genre_names().into_iter().map(str::to_string).collect(),
        rating: f.rating.map(|r| (r * 10.0).round() / 10.0),
        valence: None,
        arousal: None,
        music_mood: None,
        source: f.source,
        reason: String::new(),
    }
}

fn track_item(t: &Track) -> RecItem {
    let va = t.features.map(|f| f.va());
    RecItem {
        kind: ItemKind::Track,
        key: t.key(),
        title: fix_mojibake(&t.title),
        year: None,
        artist: Some(fix_mojibake(&t.artist)),
        link: t.link(),
        genres: t.genre.iter().cloned().collect(),
        rating: None,
        valence: va.map(|v| (v.valence * 100.0).round() / 100.0),
        arousal: va.map(|v| (v.arousal * 100.0).round() / 100.0),
        music_mood: t.features.map(|f| f.music_mood().label().to_string()),
        source: t.source,
        reason: String::new(),
    }
}

/// Tags a like/dislike applies to: genres for films, artist and genre for tracks.
pub fn film_tags(f: &Film) -> Vec<String> {
    f.genres.iter().map(|g| format!("genre:{g}")).collect()
}

pub fn track_tags(t: &Track) -> Vec<String> {
    let mut v = vec![format!("artist:{}", normalize_title(&t.artist))];
    if let Some(g) = &t.genre {
        v.push(format!("tag:{}", normalize_title(g)));
    }
    v
}

/// Gumbel noise: adding it to scores and taking the top k samples without replacement in
/// proportion to exp(score / temperature).
fn gumbel(rng: &mut impl Rng) -> f64 {
    let u: f64 = rng.gen_range(1e-12..1.0);
    -(-u.ln()).ln()
}

/// All offline films: embedded plus imported (imported wins on the same key).
pub fn offline_films(store: Option<&Store>) -> Result<Vec<Film>> {
    let imported = match store {
        Some(s) => s.films()?,
        None => Vec::new(),
    };
    Ok(merge_by_key(embedded_films(), imported, Film::key))
}

/// All offline tracks with audio features: embedded plus imported.
pub fn offline_tracks(store: Option<&Store>) -> Result<Vec<Track>> {
    let imported = match store {
        Some(s) => s.tracks()?,
        None => Vec::new(),
    };
    let imported = imported.into_iter().filter(|t| t.features.is_some());
    Ok(merge_by_key(embedded_tracks(), imported, Track::key))
}

/// `base` then `over`, one item per key (a later item replaces an earlier one), sorted by key.
fn merge_by_key<T>(
    base: impl IntoIterator<Item = T>,
    over: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    let mut by_key: HashMap<String, T> = HashMap::new();
    for item in base.into_iter().chain(over) {
        by_key.insert(key(&item), item);
    }
    let mut v: Vec<T> = by_key.into_values().collect();
    v.sort_by_key(|a| key(a));
    v
}

/// Whether a film clears the catalog floor: embedded films always (they set it); TMDb (CSV and
/// live) by vote count, MovieLens by its number of ratings; all by rating.
pub fn film_clears_floor(f: &Film, floor: &CatalogFloor) -> bool {
    let (min_votes, need_votes) = match f.source {
        Source::Embedded => return true,
        Source::Movielens => (floor.movielens_min_ratings, true),
        _ => (floor.tmdb_min_votes, true),
    };
    let votes_ok = match f.votes {
        Some(v) => v >= min_votes,
        None => !need_votes,
    };
    votes_ok && f.rating.is_some_and(|r| r >= floor.min_rating)
}

/// Whether a track clears the floor: embedded always; imported tables by Spotify popularity
/// (unknown popularity does not clear it: re-import to record it); live search hits when their
/// popularity is unknown or high enough.
pub fn track_clears_floor(t: &Track, floor: &CatalogFloor) -> bool {
    match (t.source, t.popularity) {
        (Source::Embedded, _) => true,
        (Source::SpotifyLive, None) => true,
        (_, Some(p)) => p >= floor.spotify_min_popularity,
        (_, None) => false,
    }
}

/// Adult film: TMDb's flag, or a title word from `explicit_words`.
pub fn film_is_explicit(f: &Film, floor: &CatalogFloor) -> bool {
    f.adult == Some(true) || has_explicit_word(&f.title, &floor.explicit_words)
}

/// Explicit track: Spotify's flag, or a title/artist word from `explicit_words`.
pub fn track_is_explicit(t: &Track, floor: &CatalogFloor) -> bool {
    t.explicit == Some(true)
        || has_explicit_word(&t.title, &floor.explicit_words)
        || has_explicit_word(&t.artist, &floor.explicit_words)
}

/// The films a list may draw on: floor, adult filter and one entry per film (title and year;
/// the embedded entry, else the one with a TMDb id and the most votes).
fn candidate_films(films: Vec<Film>, floor: &CatalogFloor, allow_explicit: bool) -> Vec<Film> {
    // an imported row for an embedded film (same key) keeps the embedded film's standing
    let curated: HashSet<String> = embedded_films().iter().map(Film::key).collect();
    let mut v: Vec<Film> = films
        .into_iter()
        .filter(|f| curated.contains(&f.key()) || film_clears_floor(f, floor))
        .filter(|f| allow_explicit || !film_is_explicit(f, floor))
        .collect();
    v.sort_by(|a, b| {
        a.source
            .rank()
            .cmp(&b.source.rank())
            .then(b.tmdb_id.is_some().cmp(&a.tmdb_id.is_some()))
            .then(b.votes.unwrap_or(0).cmp(&a.votes.unwrap_or(0)))
            .then(a.key().cmp(&b.key()))
    });
    let mut seen = HashSet::new();
    v.retain(|f| seen.insert(f.title_key()));
    v.sort_by_key(Film::key);
    v
}

/// The tracks a list may draw on: with audio features, floor, explicit filter, one per song.
fn candidate_tracks(tracks: Vec<Track>, floor: &CatalogFloor, allow_explicit: bool) -> Vec<Track> {
    let curated: HashSet<String> = embedded_tracks().iter().map(Track::key).collect();
    let mut v: Vec<Track> = tracks
        .into_iter()
        .filter(|t| t.features.is_some())
        .filter(|t| curated.contains(&t.key()) || track_clears_floor(t, floor))
        .filter(|t| allow_explicit || !track_is_explicit(t, floor))
        .collect();
    v.sort_by(|a, b| {
        a.source
            .rank()
            .cmp(&b.source.rank())
            .then(b.popularity.unwrap_or(0).cmp(&a.popularity.unwrap_or(0)))
            .then(a.key().cmp(&b.key()))
    });
    let mut seen = HashSet::new();
    v.retain(|t| seen.insert(t.song_key()));
    v.sort_by_key(Track::key);
    v
}

struct Prefs {
    disliked: HashSet<String>,
    liked_tags: HashMap<String, f64>,
    recent: HashSet<String>,
}

impl Prefs {
    fn load(store: Option<&Store>, recent: HashSet<String>) -> Result<Prefs> {
        let mut p = Prefs {
            disliked: HashSet::new(),
            liked_tags: HashMap::new(),
            recent,
        };
        if let Some(s) = store {
            for f in s.feedback()? {
                if f.liked {
                    for t in f.tags {
                        *p.liked_tags.entry(t).or_insert(0.0) += 1.0;
                    }
                } else {
                    p.disliked.insert(f.item_key);
                }
            }
        }
        Ok(p)
    }

    /// Like boost for a set of tags, saturating.
    fn boost(&self, tags: &[String]) -> f64 {
        let n: f64 = tags.iter().filter_map(|t| self.liked_tags.get(t)).sum();
        1.0 - (-0.5 * n).exp()
    }
}

/// Pick `n` of `scored` (key, score): best first, never a disliked item, items shown recently only
/// when there are not enough others.
fn pick_top(mut scored: Vec<(usize, String, f64)>, n: usize, prefs: &Prefs) -> Vec<usize> {
    scored.retain(|(_, k, _)| !prefs.disliked.contains(k));
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(&b.1)));
    let fresh: Vec<usize> = scored
        .iter()
        .filter(|(_, k, _)| !prefs.recent.contains(k))
        .map(|(i, _, _)| *i)
        .take(n)
        .collect();
    if fresh.len() >= n {
        return fresh;
    }
    let mut out = fresh;
    for (i, _, _) in &scored {
        if out.len() >= n {
            break;
        }
        if !out.contains(i) {
            out.push(*i);
        }
    }
    out
}

/// Prior for ratings with few votes: a film's rating is shrunk toward 6.0/10 as if it had 25 more
/// votes at that value (IMDb-style Bayesian average); unknown ratings count as 6.0.
pub fn bayesian_rating(rating: Option<f64>, votes: Option<u64>) -> f64 {
    const PRIOR: f64 = 6.0;
    const M: f64 = 25.0;
    match (rating, votes) {
        (Some(r), Some(v)) => (r * v as f64 + PRIOR * M) / (v as f64 + M),
        (Some(r), None) => r,
        (None, _) => PRIOR,
    }
}

/// One person's side of a plan.
struct Person {
    mood: Mood,
    weights: BTreeMap<u32, f64>,
    mix: BTreeMap<MusicMood, f64>,
}

/// Everything a list follows, from one Mood value (or a group's): genre weights, the rules, the
/// music mix and the order of the music.
struct Plan {
    strategy: Strategy,
    /// The mood that names the list (for a group: the mean mood).
    mood: Mood,
    people: Vec<Person>,
    least_misery: bool,
    rules: Rules,
    /// Genre weights that pick live genres and name the list's genres.
    weights: BTreeMap<u32, f64>,
    /// Target shares of the music moods, after the rules.
    mix: BTreeMap<MusicMood, f64>,
    /// "fits happy", "toward calm", "fits everyone (least misery)".
    phrase: String,
}

fn person(cfg: &Config, s: Strategy, mood: &Mood) -> Person {
    Person {
        mood: mood.clone(),
        weights: cfg.genre_weights(s, &mood.probabilities),
        mix: cfg.music_mix_weighted(s, &mood.probabilities),
    }
}

/// Normalise a weight map to a maximum of 1.
fn normalized(w: &BTreeMap<u32, f64>) -> BTreeMap<u32, f64> {
    let maxw = w.values().cloned().fold(0.0, f64::max).max(1e-9);
    w.iter().map(|(k, v)| (*k, v / maxw)).collect()
}

/// Zero the excluded music moods and renormalise; with nothing left, the allowed moods evenly.
fn apply_music_rules(mix: &BTreeMap<MusicMood, f64>, rules: &Rules) -> BTreeMap<MusicMood, f64> {
    let mut m: BTreeMap<MusicMood, f64> = mix
        .iter()
        .filter(|(k, v)| !rules.exclude_music.contains(k) && **v > 0.0)
        .map(|(k, v)| (*k, *v))
        .collect();
    if m.is_empty() {
        for k in MusicMood::ALL {
            if !rules.exclude_music.contains(&k) && (k != MusicMood::Sad || rules.max_sad > 0.0) {
                m.insert(k, 1.0);
            }
        }
    }
    let sum: f64 = m.values().sum();
    if sum > 0.0 {
        for v in m.values_mut() {
            *v /= sum;
        }
    }
    m
}

impl Plan {
    fn new(req: &Request, cfg: &Config) -> Result<Plan> {
        let s = req.strategy;
        if req.people.is_empty() {
            let p = person(cfg, s, &req.mood);
            let rules = cfg.rules_for(s, req.mood.emotion);
            return Ok(Plan {
                strategy: s,
                mood: req.mood.clone(),
                weights: p.weights.clone(),
                mix: apply_music_rules(&p.mix, &rules),
                people: vec![p],
                least_misery: false,
                rules,
                phrase: s.phrase(req.mood.emotion.label()),
            });
        }
        let mood = group_mood(&req.people)?;
        let people: Vec<Person> = req.people.iter().map(|m| person(cfg, s, m)).collect();
        let moods: Vec<&str> = {
            let mut v: Vec<&str> = Vec::new();
            for p in &people {
                let l = p.mood.emotion.label();
                if !v.contains(&l) {
                    v.push(l);
                }
            }
            v
        };
        match req.aggregation {
            Aggregation::Average => {
                let g = person(cfg, s, &mood);
                let rules = cfg.rules_for(s, mood.emotion);
                Ok(Plan {
                    strategy: s,
                    phrase: format!(
                        "{} (group average of {})",
                        s.phrase(mood.emotion.label()),
                        moods.join(", ")
                    ),
                    mood,
                    weights: g.weights,
                    mix: apply_music_rules(&g.mix, &rules),
                    people,
                    least_misery: false,
                    rules,
                })
            }
            Aggregation::LeastMisery => {
                let all_rules: Vec<Rules> = people
                    .iter()
                    .map(|p| cfg.rules_for(s, p.mood.emotion))
                    .collect();
                let rules = Rules::union(all_rules.iter());
                // genres: the weight of the person a genre suits least
                let norm: Vec<BTreeMap<u32, f64>> =
                    people.iter().map(|p| normalized(&p.weights)).collect();
                let mut weights = BTreeMap::new();
                for g in norm.iter().flat_map(|w| w.keys()) {
                    let min = norm
                        .iter()
                        .map(|w| w.get(g).copied().unwrap_or(0.0))
                        .fold(f64::INFINITY, f64::min);
                    if min > 0.0 {
                        weights.insert(*g, min);
                    }
                }
                if weights.is_empty() {
                    // nobody's genres overlap: everyone's, averaged
                    for w in &norm {
                        for (g, v) in w {
                            *weights.entry(*g).or_insert(0.0) += v / norm.len() as f64;
                        }
                    }
                }
                // music: each mood scored by the person it suits least (ties: by the mean)
                let prefs: Vec<BTreeMap<MusicMood, f64>> = people
                    .iter()
                    .map(|p| {
                        let max = p.mix.values().cloned().fold(0.0, f64::max).max(1e-9);
                        MusicMood::ALL
                            .iter()
                            .map(|m| (*m, 0.15 + 0.85 * p.mix.get(m).copied().unwrap_or(0.0) / max))
                            .collect()
                    })
                    .collect();
                let mut mix = BTreeMap::new();
                for m in MusicMood::ALL {
                    let vals: Vec<f64> = prefs.iter().map(|p| p[&m]).collect();
                    let min = vals.iter().cloned().fold(f64::INFINITY, f64::min);
                    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
                    let score = (min - 0.15).max(0.0) + 0.1 * mean;
                    mix.insert(m, score);
                }
                // keep the moods anyone wants most; drop the ones only the floor keeps alive
                let best = mix.values().cloned().fold(0.0, f64::max);
                mix.retain(|_, v| *v >= 0.5 * best);
                Ok(Plan {
                    strategy: s,
                    phrase: if s == Strategy::Match {
                        format!("fits everyone ({}; least misery)", moods.join(", "))
                    } else {
                        format!(
                            "{}, for everyone ({}; least misery)",
                            s.phrase("the group"),
                            moods.join(", ")
                        )
                    },
                    mood,
                    weights,
                    mix: apply_music_rules(&mix, &rules),
                    people,
                    least_misery: true,
                    rules,
                })
            }
        }
    }

    /// How well a film's genres fit one person's weights (0 = not at all), with likes.
    fn affinity(weights: &BTreeMap<u32, f64>, f: &Film, prefs: &Prefs) -> f64 {
        let maxw = weights.values().cloned().fold(0.0, f64::max).max(1e-9);
        let ws: Vec<f64> = f
            .genres
            .iter()
            .map(|g| {
                let liked = prefs
                    .liked_tags
                    .get(&format!("genre:{g}"))
                    .copied()
                    .unwrap_or(0.0);
                weights.get(g).copied().unwrap_or(0.0) / maxw + (0.35 * liked).min(1.0)
            })
            .collect();
        let best = ws.iter().cloned().fold(0.0, f64::max);
        let rest: f64 = ws.iter().sum::<f64>() - best;
        best + 0.2 * rest.min(1.0)
    }

    /// The film's affinity for the list: the person it suits least (least misery) or the list's
    /// own weights.
    fn film_affinity(&self, f: &Film, prefs: &Prefs) -> f64 {
        if self.least_misery {
            self.people
                .iter()
                .map(|p| Plan::affinity(&p.weights, f, prefs))
                .fold(f64::INFINITY, f64::min)
        } else {
            Plan::affinity(&self.weights, f, prefs)
        }
    }

    /// How many tracks of each music mood for `n` slots (largest remainder), Sad capped at
    /// `max_sad`, the excess given to the others.
    fn music_counts(&self, n: usize) -> BTreeMap<MusicMood, usize> {
        let cap_sad = (self.rules.max_sad * n as f64 + 1e-9).floor() as usize;
        let alloc = |mix: &BTreeMap<MusicMood, f64>, n: usize| -> BTreeMap<MusicMood, usize> {
            let sum: f64 = mix.values().sum();
            let mut out: BTreeMap<MusicMood, usize> = BTreeMap::new();
            if sum <= 0.0 || n == 0 {
                return out;
            }
            let mut rem: Vec<(MusicMood, f64)> = Vec::new();
            let mut given = 0;
            for (m, v) in mix {
                let exact = v / sum * n as f64;
                let k = exact.floor() as usize;
                out.insert(*m, k);
                given += k;
                rem.push((*m, exact - k as f64));
            }
            rem.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for (m, _) in rem.into_iter().take(n - given) {
                *out.entry(m).or_insert(0) += 1;
            }
            out
        };
        let mut counts = alloc(&self.mix, n);
        let sad = counts.get(&MusicMood::Sad).copied().unwrap_or(0);
        if sad > cap_sad {
            counts.insert(MusicMood::Sad, cap_sad);
            let mut others: BTreeMap<MusicMood, f64> = self
                .mix
                .iter()
                .filter(|(m, _)| **m != MusicMood::Sad)
                .map(|(m, v)| (*m, *v))
                .collect();
            if others.is_empty() {
                for m in [MusicMood::Calm, MusicMood::Happy, MusicMood::Energetic] {
                    if !self.rules.exclude_music.contains(&m) {
                        others.insert(m, 1.0);
                        break;
                    }
                }
            }
            for (m, k) in alloc(&others, sad - cap_sad) {
                *counts.entry(m).or_insert(0) += k;
            }
        }
        counts.retain(|_, k| *k > 0);
        counts
    }

    /// The music mood of each slot, in list order: match spreads the moods through the list,
    /// uplift rises (sad → calm → energetic → happy), calm and comfort settle (… → calm).
    fn music_slots(&self, n: usize) -> Vec<MusicMood> {
        let counts = self.music_counts(n);
        let total: usize = counts.values().sum();
        match self.strategy {
            Strategy::Match => {
                let mut placed: BTreeMap<MusicMood, usize> = BTreeMap::new();
                let mut out = Vec::with_capacity(total);
                for i in 0..total {
                    let next = counts
                        .iter()
                        .filter(|(m, k)| placed.get(*m).copied().unwrap_or(0) < **k)
                        .max_by(|a, b| {
                            let deficit = |(m, k): (&MusicMood, &usize)| {
                                *k as f64 * (i + 1) as f64 / total as f64
                                    - placed.get(m).copied().unwrap_or(0) as f64
                            };
                            deficit(*a).total_cmp(&deficit(*b)).then(b.0.cmp(a.0))
                        })
                        .map(|(m, _)| *m);
                    if let Some(m) = next {
                        *placed.entry(m).or_insert(0) += 1;
                        out.push(m);
                    }
                }
                out
            }
            s => {
                let mut v: Vec<MusicMood> = counts
                    .iter()
                    .flat_map(|(m, k)| std::iter::repeat_n(*m, *k))
                    .collect();
                if s == Strategy::Uplift {
                    v.sort_by_key(|m| m.uplift_rank());
                } else {
                    v.sort_by_key(|m| m.calm_rank());
                }
                v
            }
        }
    }

    /// Where in the raw music plane a slot of music mood `m` looks: the label's centre, a third
    /// of the way toward the centre of the whole mix (mellow happy and livelier calm for neutral).
    fn music_target(&self, m: MusicMood) -> (f64, f64) {
        let (mut cv, mut ca) = (0.0, 0.0);
        for (k, w) in &self.mix {
            let (v, a) = k.prototype();
            cv += w * v;
            ca += w * a;
        }
        let (pv, pa) = m.prototype();
        (pv + (cv - pv) * 0.35, pa + (ca - pa) * 0.35)
    }
}

/// Rank films for the plan.
fn rank_films(
    films: &[Film],
    plan: &Plan,
    n: usize,
    prefs: &Prefs,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let scored: Vec<(usize, String, f64)> = films
        .iter()
        .enumerate()
        .filter(|(_, f)| plan.rules.allows_film(&f.genres))
        .map(|(i, f)| {
            let affinity = plan.film_affinity(f, prefs);
            let quality = bayesian_rating(f.rating, f.votes) / 10.0;
            let unrelated = if affinity <= 0.0 { -2.0 } else { 0.0 };
            // live results are fresh picks from a random page: a small preference
            let live = if f.source == Source::TmdbLive {
                0.6
            } else {
                0.0
            };
            let s = 2.0 * affinity + 1.5 * quality + unrelated + live + 0.25 * gumbel(rng);
            (i, f.key(), s)
        })
        .collect();
    pick_top(scored, n, prefs)
}

/// Choose music for the plan's slots: each slot takes the unused track of its music mood nearest
/// to the slot's target (one per artist), with a little noise, the like boost and popularity;
/// when a mood runs out, the nearest track of another allowed mood (Sad only within its cap).
fn rank_tracks(
    tracks: &[Track],
    plan: &Plan,
    n: usize,
    prefs: &Prefs,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let slots = plan.music_slots(n);
    let cap_sad = (plan.rules.max_sad * n as f64 + 1e-9).floor() as usize;
    let labels: Vec<Option<MusicMood>> = tracks
        .iter()
        .map(|t| t.features.map(|f| f.music_mood()))
        .collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut artists: HashSet<String> = HashSet::new();
    let mut sad = 0usize;
    for slot in slots {
        let mut pick = None;
        let mut fallbacks: Vec<MusicMood> = vec![slot];
        let mut rest: Vec<(MusicMood, f64)> = plan
            .mix
            .iter()
            .filter(|(m, _)| **m != slot)
            .map(|(m, v)| (*m, *v))
            .collect();
        rest.sort_by(|a, b| b.1.total_cmp(&a.1));
        fallbacks.extend(rest.into_iter().map(|(m, _)| m));
        for m in fallbacks {
            if plan.rules.exclude_music.contains(&m) || (m == MusicMood::Sad && sad >= cap_sad) {
                continue;
            }
            let target = plan.music_target(m);
            let scored: Vec<(usize, String, f64)> = tracks
                .iter()
                .enumerate()
                .filter(|(i, _)| labels[*i] == Some(m) && !chosen.contains(i))
                .filter(|(_, t)| !artists.contains(&normalize_title(&t.artist)))
                .filter_map(|(i, t)| {
                    let (v, a) = t.features?.raw_placement();
                    let d2 = (v - target.0).powi(2) + (a - target.1).powi(2);
                    let pop = t.popularity.map(|p| p as f64 / 100.0).unwrap_or(0.7);
                    let s = -40.0 * d2
                        + 0.3 * prefs.boost(&track_tags(t))
                        + 0.2 * pop
                        + 0.1 * gumbel(rng);
                    Some((i, t.key(), s))
                })
                .collect();
            if let Some(i) = pick_top(scored, 1, prefs).first() {
                pick = Some(*i);
                break;
            }
        }
        if let Some(i) = pick {
            if labels[i] == Some(MusicMood::Sad) {
                sad += 1;
            }
            artists.insert(normalize_title(&tracks[i].artist));
            chosen.push(i);
        }
    }
    // the order the strategy asks for, also within a music mood
    let key = |i: &usize| {
        let (v, a) = tracks[*i]
            .features
            .map(|f| f.raw_placement())
            .unwrap_or((0.5, 0.5));
        let m = labels[*i].unwrap_or(MusicMood::Happy);
        match plan.strategy {
            Strategy::Match => (0u8, 0i64),
            Strategy::Uplift => (m.uplift_rank(), (v * 1e6) as i64),
            Strategy::Calm | Strategy::Comfort => (m.calm_rank(), -(a * 1e6) as i64),
        }
    };
    chosen.sort_by_key(key);
    chosen
}

/// A film's reason: its genres that fit the list (best first), the rating when it stands out,
/// and how it relates to the mood.
fn film_reason(f: &Film, plan: &Plan) -> String {
    let mut gs: Vec<(u32, f64)> = f
        .genres
        .iter()
        .filter_map(|g| plan.weights.get(g).map(|w| (*g, *w)))
        .collect();
    gs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut names: Vec<String> = gs
        .iter()
        .filter_map(|(g, _)| tmdb_genre_name(*g))
        .take(2)
        .map(str::to_lowercase)
        .collect();
    if names.is_empty() {
        names = f
            .genre_names()
            .into_iter()
            .take(2)
            .map(str::to_lowercase)
            .collect();
    }
    let mut head = names.join(", ");
    if let Some(r) = f.rating.filter(|r| *r >= 7.5) {
        head.push_str(&format!(", rated {r:.1}"));
    }
    format!("{head} — {}", plan.phrase)
}

/// A track's reason: its music mood and sound ("calm acoustic, low energy"), and how it relates
/// to the mood ("toward calm").
fn track_reason(t: &Track, plan: &Plan) -> String {
    let Some(f) = t.features else {
        return format!("from a Spotify search for the mood — {}", plan.phrase);
    };
    let mut words = f.describe();
    let mut head = f.music_mood().word().to_string();
    if let Some(first) = words.first() {
        if ["acoustic", "electric", "instrumental"].contains(first) {
            head = format!("{head} {first}");
            words.remove(0);
        }
    }
    if !words.is_empty() {
        head = format!("{head}, {}", words.join(", "));
    }
    format!("{head} — {}", plan.phrase)
}

fn search_playlist(query: &str, reason: String) -> RecItem {
    RecItem {
        kind: ItemKind::Playlist,
        key: format!("playlist:search:{}", normalize_title(query)),
        title: query.to_string(),
        year: None,
        artist: None,
        link: format!(
            "https://open.spotify.com/search/{}/playlists",
            url_encode(query)
        ),
        genres: vec![],
        rating: None,
        valence: None,
        arousal: None,
        music_mood: None,
        source: Source::Search,
        reason,
    }
}

/// A client thread's result; a panic in it becomes an error (and so an offline fallback).
fn joined<T>(service: &'static str, r: std::thread::Result<Result<T>>) -> Result<T> {
    r.unwrap_or_else(|_| {
        Err(RecommendError::Http {
            service,
            msg: "client thread failed".into(),
        })
    })
}

/// FNV-1a, for seeds derived from a session and a list key (stable across runs and platforms).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What a list is "for": the same key in the same session gives the same list.
fn list_key(req: &Request) -> String {
    let probs = |m: &Mood| {
        m.probabilities
            .iter()
            .map(|p| format!("{p:.2}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut k = format!(
        "{}|{}|{}x{}|{}",
        req.mood.emotion.label(),
        req.strategy.label(),
        req.movies,
        req.music,
        probs(&req.mood)
    );
    if !req.people.is_empty() {
        k.push_str(&format!("|{}", req.aggregation.label()));
        for p in &req.people {
            k.push_str(&format!("|{}", probs(p)));
        }
    }
    if req.allow_explicit {
        k.push_str("|explicit");
    }
    k
}

/// The session a request belongs to: the one it names, else the automatic session of the
/// previous request when that was recent, else a new one.
fn resolve_visit(req: &Request, cfg: &Config, store: Option<&Store>) -> Result<Option<String>> {
    if let Some(s) = req.session.as_ref().filter(|s| !s.trim().is_empty()) {
        return Ok(Some(s.trim().to_string()));
    }
    let Some(store) = store else { return Ok(None) };
    let now = now_secs();
    if let Some((Some(v), t)) = store.last_visit()? {
        if v.starts_with("auto:") && now - t <= cfg.session_minutes as i64 * 60 {
            return Ok(Some(v));
        }
    }
    let tag: u16 = rand::thread_rng().gen();
    Ok(Some(format!("auto:{now}-{tag:04x}")))
}

/// Rules that a list breaks: films with an excluded genre, tracks of an excluded music mood, more
/// Sad tracks than allowed. Empty when the list follows its rules (the fit test and table use it).
pub fn rule_violations(rec: &Recommendations, rules: &Rules) -> Vec<String> {
    let mut v = Vec::new();
    for m in &rec.movies {
        for g in &m.genres {
            if tmdb_genre_id(g).is_some_and(|id| rules.exclude_genres.contains(&id)) {
                v.push(format!(
                    "film {} ({:?}) has excluded genre {g}",
                    m.title, m.year
                ));
            }
        }
    }
    let mut sad = 0;
    for t in &rec.music {
        let Some(m) = t
            .music_mood
            .as_deref()
            .and_then(|m| m.parse::<MusicMood>().ok())
        else {
            continue;
        };
        if rules.exclude_music.contains(&m) {
            v.push(format!("track {} has excluded music mood {m:?}", t.title));
        }
        if m == MusicMood::Sad {
            sad += 1;
        }
    }
    if !rec.music.is_empty() && sad as f64 > rules.max_sad * rec.music.len() as f64 + 1e-9 {
        v.push(format!(
            "{sad} of {} tracks are Sad (at most {:.0}%)",
            rec.music.len(),
            rules.max_sad * 100.0
        ));
    }
    v
}

/// The rules a request's list follows (for a least-misery group: everyone's).
pub fn rules_for_request(req: &Request, cfg: &Config) -> Rules {
    match (req.people.is_empty(), req.aggregation) {
        (false, Aggregation::LeastMisery) => Rules::union(
            req.people
                .iter()
                .map(|p| cfg.rules_for(req.strategy, p.emotion))
                .collect::<Vec<_>>()
                .iter(),
        ),
        (false, Aggregation::Average) => match group_mood(&req.people) {
            Ok(m) => cfg.rules_for(req.strategy, m.emotion),
            Err(_) => cfg.rules_for(req.strategy, req.mood.emotion),
        },
        (true, _) => cfg.rules_for(req.strategy, req.mood.emotion),
    }
}

/// The list's place in its session: the latest shuffle for this list key (the next one with
/// `shuffle`), and the item keys to avoid (earlier sessions; earlier shuffles of this list).
fn list_position(
    req: &Request,
    cfg: &Config,
    store: Option<&Store>,
    visit: Option<&str>,
    key: &str,
) -> Result<(u32, HashSet<String>)> {
    Ok(match (visit, store) {
        (Some(v), Some(s)) => {
            let k = match s.latest_list(v, key)? {
                Some((k, _)) if req.shuffle => k + 1,
                Some((k, _)) => k,
                None => 0,
            };
            let mut recent = if cfg.no_repeat_sessions > 0 {
                s.recent_item_keys_before(v, cfg.no_repeat_sessions)?
            } else {
                HashSet::new()
            };
            recent.extend(s.shuffled_away(v, key, k)?);
            (k, recent)
        }
        (Some(_), None) => (u32::from(req.shuffle), HashSet::new()),
        _ => (0, HashSet::new()),
    })
}

/// The list's random seed: the caller's (changed by each shuffle), else one derived from the
/// session, the list key and the shuffle (the same list within a session), else a fresh one.
fn list_seed(seed: Option<u64>, visit: Option<&str>, key: &str, shuffle: u32) -> u64 {
    match (seed, visit) {
        (Some(s), _) if shuffle == 0 => s,
        (Some(s), _) => s ^ fnv1a(&["shuffle", &shuffle.to_string()]),
        (None, Some(v)) => fnv1a(&[v, key, &shuffle.to_string()]),
        (None, None) => rand::thread_rng().gen(),
    }
}

/// Playlist search queries (with why) for the music moods where the list starts and ends (calm and
/// comfort: the end), and the emotion's own query under its default strategy.
fn playlist_queries(
    req: &Request,
    cfg: &Config,
    plan: &Plan,
    music_items: &[RecItem],
    rng: &mut ChaCha8Rng,
) -> Vec<(String, String)> {
    let mut moods: Vec<MusicMood> = Vec::new();
    let label_of = |i: &RecItem| {
        i.music_mood
            .as_deref()
            .and_then(|m| m.parse::<MusicMood>().ok())
    };
    let ends: Vec<Option<MusicMood>> = match req.strategy {
        Strategy::Calm | Strategy::Comfort => vec![music_items.last().and_then(label_of)],
        _ => vec![
            music_items.first().and_then(label_of),
            music_items.last().and_then(label_of),
        ],
    };
    for m in ends.into_iter().flatten() {
        if !moods.contains(&m) {
            moods.push(m);
        }
    }
    if moods.is_empty() {
        if let Some((m, _)) = plan.mix.iter().max_by(|a, b| a.1.total_cmp(b.1)) {
            moods.push(*m);
        }
    }
    let mut queries: Vec<(String, String)> = Vec::new();
    if req.people.is_empty() && req.strategy == cfg.strategy_for(plan.mood.emotion) {
        if let Some(q) = cfg
            .mood_playlists
            .get(&plan.mood.emotion)
            .and_then(|qs| qs.first())
        {
            queries.push((q.clone(), format!("playlists for {}", plan.mood.emotion)));
        }
    }
    for m in &moods {
        if let Some(qs) = cfg.playlists.get(m) {
            if !qs.is_empty() {
                queries.push((
                    qs[rng.gen_range(0..qs.len())].clone(),
                    format!("{} music", m.word()),
                ));
            }
        }
    }
    queries
}

/// What the live services found.
type SpotifyFound = (Vec<crate::online::Playlist>, Vec<Track>);

/// TMDb discover (the plan's top genres, without its excluded ones) and Spotify search (the
/// playlist queries) at once; `None` for a service without a client.
fn ask_live_services(
    live: &Live,
    plan: &Plan,
    cfg: &Config,
    seed: u64,
    queries: &[(String, String)],
) -> (Option<Result<Vec<Film>>>, Option<Result<SpotifyFound>>) {
    let mut top: Vec<(u32, f64)> = plan.weights.iter().map(|(g, w)| (*g, *w)).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let genres: Vec<u32> = top.iter().take(3).map(|(g, _)| *g).collect();
    let without: Vec<u32> = plan.rules.exclude_genres.iter().copied().collect();
    let min_votes = (cfg.tmdb_min_votes as u64).max(cfg.floor.tmdb_min_votes);
    let min_votes = u32::try_from(min_votes).unwrap_or(u32::MAX);
    let mut tmdb_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
    let search_queries: Vec<String> = queries.iter().map(|(q, _)| q.clone()).collect();
    std::thread::scope(|sc| {
        let t = live.tmdb.as_ref().map(|c| {
            let (genres, without) = (&genres, &without);
            let rng = &mut tmdb_rng;
            sc.spawn(move || c.discover_random_without(genres, without, min_votes, rng))
        });
        let sp = live.spotify.as_ref().map(|c| {
            let queries = &search_queries;
            sc.spawn(move || -> Result<SpotifyFound> {
                let (mut pls, mut trs) = (Vec::new(), Vec::new());
                for q in queries {
                    match c.search(q, 10) {
                        Ok((p, t)) => {
                            pls.extend(p.into_iter().take(3));
                            trs.extend(t);
                        }
                        Err(e) if pls.is_empty() && trs.is_empty() => return Err(e),
                        Err(_) => break,
                    }
                }
                Ok((pls, trs))
            })
        });
        (
            t.map(|h| joined("TMDb", h.join())),
            sp.map(|h| joined("Spotify", h.join())),
        )
    })
}

/// Recommend movies, music and playlists; stores the session when a store is given.
pub fn recommend(
    req: &Request,
    cfg: &Config,
    store: Option<&mut Store>,
    live: &Live,
) -> Result<Recommendations> {
    let plan = Plan::new(req, cfg)?;
    let allow_explicit = req.allow_explicit || cfg.allow_explicit;
    let key = list_key(req);
    let visit = resolve_visit(req, cfg, store.as_deref())?;
    // the list's place in its session: the latest shuffle for this key (the next one with
    // `shuffle`), and what must be avoided (earlier sessions; earlier shuffles of this list)
    let (shuffle, recent) = list_position(req, cfg, store.as_deref(), visit.as_deref(), &key)?;
    let seed = list_seed(req.seed, visit.as_deref(), &key, shuffle);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let prefs = Prefs::load(store.as_deref(), recent)?;
    let mut notices = Vec::new();

    // ---- music (offline catalogs: placement needs audio features)
    let tracks = candidate_tracks(
        offline_tracks(store.as_deref())?,
        &cfg.floor,
        allow_explicit,
    );
    let mut music_items: Vec<RecItem> = rank_tracks(&tracks, &plan, req.music, &prefs, &mut rng)
        .into_iter()
        .map(|i| {
            let mut it = track_item(&tracks[i]);
            it.reason = track_reason(&tracks[i], &plan);
            it
        })
        .collect();

    // ---- playlists: search queries for the music moods where the list starts and ends
    let queries = playlist_queries(req, cfg, &plan, &music_items, &mut rng);

    // ---- live services, both at once (a slow one does not add to the other's wait)
    let (tmdb_res, spotify_res) = ask_live_services(live, &plan, cfg, seed, &queries);

    // ---- movies
    let mut films = offline_films(store.as_deref())?;
    match tmdb_res {
        None => {}
        Some(Ok(live_films)) if !live_films.is_empty() => {
            // live results first: they replace the offline ones with the same key
            let keys: HashSet<String> = live_films.iter().map(Film::key).collect();
            films.retain(|f| !keys.contains(&f.key()));
            let offline = std::mem::take(&mut films);
            films = live_films;
            films.extend(offline);
        }
        Some(Ok(_)) => notices.push("TMDb returned no movies: using the offline catalog".into()),
        Some(Err(e)) => notices.push(format!("TMDb unavailable ({e}): using the offline catalog")),
    }
    let films = candidate_films(films, &cfg.floor, allow_explicit);
    let movie_items: Vec<RecItem> = rank_films(&films, &plan, req.movies, &prefs, &mut rng)
        .into_iter()
        .map(|i| {
            let mut it = film_item(&films[i]);
            it.reason = film_reason(&films[i], &plan);
            it
        })
        .collect();

    // ---- live music: playlists, and for `match` congruent search hits (not placed on the path)
    let mut playlists: Vec<RecItem> = Vec::new();
    match spotify_res {
        None => {}
        Some(Ok((pls, trs))) => {
            for p in pls {
                let reason = format!("Spotify playlist for \"{}\" — {}", p.query, plan.phrase);
                playlists.push(RecItem {
                    kind: ItemKind::Playlist,
                    key: format!("playlist:{}", p.link),
                    title: p.name,
                    year: None,
                    artist: p.owner,
                    link: p.link,
                    genres: vec![],
                    rating: None,
                    valence: None,
                    arousal: None,
                    music_mood: None,
                    source: Source::SpotifyLive,
                    reason,
                });
            }
            if req.strategy == Strategy::Match {
                let mut seen: HashSet<String> = music_items.iter().map(|m| m.key.clone()).collect();
                let live_tracks: Vec<RecItem> = trs
                    .iter()
                    .filter(|t| track_clears_floor(t, &cfg.floor))
                    .filter(|t| allow_explicit || !track_is_explicit(t, &cfg.floor))
                    .map(|t| {
                        let mut it = track_item(t);
                        it.reason = track_reason(t, &plan);
                        it
                    })
                    .filter(|t| !prefs.disliked.contains(&t.key) && !prefs.recent.contains(&t.key))
                    .filter(|t| seen.insert(t.key.clone()))
                    .take(req.music / 2)
                    .collect();
                music_items.truncate(req.music.saturating_sub(live_tracks.len()));
                music_items.extend(live_tracks);
            }
        }
        Some(Err(e)) => notices.push(format!(
            "Spotify unavailable ({e}): using the offline catalog"
        )),
    }
    if playlists.is_empty() {
        playlists = queries
            .iter()
            .map(|(q, why)| search_playlist(q, format!("search: {why} — {}", plan.phrase)))
            .collect();
    }

    let mut rec = Recommendations {
        mood: plan.mood.emotion.label().to_string(),
        probabilities: probabilities_map(&plan.mood),
        valence: plan.mood.va.valence,
        arousal: plan.mood.va.arousal,
        strategy: req.strategy.label().to_string(),
        genres: top_genres(&plan.weights, 4)
            .into_iter()
            .map(str::to_string)
            .collect(),
        excluded_genres: plan
            .rules
            .exclude_genres
            .iter()
            .filter_map(|g| tmdb_genre_name(*g))
            .map(str::to_string)
            .collect(),
        music_mix: plan
            .mix
            .iter()
            .map(|(m, v)| (m.label().to_string(), (v * 100.0).round() / 100.0))
            .collect(),
        seed,
        movies: movie_items,
        music: music_items,
        playlists,
        notices,
        session_id: None,
        session: visit.clone(),
        shuffle,
        people: plan
            .people
            .iter()
            .enumerate()
            .filter(|_| !req.people.is_empty())
            .map(|(i, p)| PersonMood {
                person: i + 1,
                mood: p.mood.emotion.label().to_string(),
                probabilities: probabilities_map(&p.mood),
                valence: p.mood.va.valence,
                arousal: p.mood.va.arousal,
            })
            .collect(),
        aggregation: (!req.people.is_empty()).then(|| req.aggregation.label().to_string()),
    };
    if let Some(s) = store.filter(|_| req.record) {
        let items: Vec<StoredItem> = rec
            .movies
            .iter()
            .chain(rec.music.iter())
            .map(|i| StoredItem {
                kind: i.kind.to_string(),
                key: i.key.clone(),
                title: match &i.artist {
                    Some(a) if i.kind == ItemKind::Track => format!("{a} — {}", i.title),
                    _ => match i.year {
                        Some(y) => format!("{} ({y})", i.title),
                        None => i.title.clone(),
                    },
                },
                link: i.link.clone(),
            })
            .collect();
        let meta = ListMeta {
            visit: visit.unwrap_or_default(),
            list_key: key,
            shuffle,
            seed,
            people: req
                .people
                .iter()
                .map(|p| p.probabilities.to_vec())
                .collect(),
        };
        let id = s.record_list(
            now_secs(),
            &req.source,
            plan.mood.emotion,
            &plan.mood.probabilities,
            req.strategy.label(),
            plan.mood.va.valence,
            plan.mood.va.arousal,
            &items,
            Some(&meta),
        )?;
        rec.session_id = Some(id);
    }
    Ok(rec)
}

/// Record a like or dislike for an item named by its key or its title: items recommended before are
/// found first, then the offline catalogs.
pub fn feedback(store: &mut Store, item: &str, liked: bool) -> Result<Feedback> {
    let films = offline_films(Some(store))?;
    let tracks = offline_tracks(Some(store))?;
    let (key, kind, title) = if let Some(it) = store.find_recommended(item)? {
        (it.key, it.kind, it.title)
    } else {
        // the title as printed ("Forrest Gump (1994)", "Artist — Title") or a key
        let (name, year) = split_year(item);
        let q = normalize_title(name);
        let mut found: Vec<(String, String, String)> = films
            .iter()
            .filter(|f| {
                f.key() == item
                    || (normalize_title(&f.title) == q && (year.is_none() || f.year == year))
            })
            .map(|f| {
                let shown = match f.year {
                    Some(y) => format!("{} ({y})", f.title),
                    None => f.title.clone(),
                };
                (f.key(), "movie".to_string(), shown)
            })
            .collect();
        found.extend(
            tracks
                .iter()
                .filter(|t| {
                    t.key() == item
                        || normalize_title(&t.title) == q
                        || normalize_title(&format!("{} {}", t.artist, t.title)) == q
                })
                .map(|t| {
                    (
                        t.key(),
                        "track".to_string(),
                        format!("{} — {}", t.artist, t.title),
                    )
                }),
        );
        found.sort();
        found.dedup_by(|a, b| a.0 == b.0);
        match found.len() {
            0 => {
                return Err(RecommendError::NotFound(format!(
                    "no recommended or catalog item matches '{item}' (use the title as shown, e.g. \"Forrest Gump (1994)\", or the key shown by `recommend --json`)"
                )))
            }
            1 => found.remove(0),
            _ => {
                let list: Vec<String> = found
                    .iter()
                    .take(8)
                    .map(|(k, _, t)| format!("{t} [{k}]"))
                    .collect();
                return Err(RecommendError::NotFound(format!(
                    "'{item}' matches {} items: {}; give the year or the key",
                    found.len(),
                    list.join(", ")
                )));
            }
        }
    };
    let tags = if kind == "movie" {
        films
            .iter()
            .find(|f| f.key() == key)
            .map(film_tags)
            .unwrap_or_default()
    } else {
        tracks
            .iter()
            .find(|t| t.key() == key)
            .map(track_tags)
            .unwrap_or_default()
    };
    let fb = Feedback {
        item_key: key,
        kind,
        title,
        liked,
        tags,
    };
    store.set_feedback(&fb)?;
    Ok(fb)
}

/// "Title (1994)" → ("Title", Some(1994)); anything else unchanged.
fn split_year(s: &str) -> (&str, Option<i32>) {
    let t = s.trim();
    if let Some(open) = t.strip_suffix(')').and_then(|u| u.rfind(" (")) {
        let year = &t[open + 2..t.len() - 1];
        if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
            return (&t[..open], year.parse().ok());
        }
    }
    (t, None)
}

/// Genre names of a weight map, best first (for explanations).
pub fn top_genres(weights: &BTreeMap<u32, f64>, n: usize) -> Vec<&'static str> {
    let mut v: Vec<_> = weights.iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(a.1));
    v.into_iter()
        .filter_map(|(g, _)| tmdb_genre_name(*g))
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moodlens_common::Emotion;

    fn req(e: Emotion, strategy: Strategy, seed: Option<u64>) -> Request {
        let mut r = Request::new(Mood::from_emotion(e), strategy);
        r.movies = 6;
        r.music = 6;
        r.seed = seed;
        r
    }

    /// `recommend` with the embedded catalog and no live services.
    fn run(r: &Request, cfg: &Config, store: Option<&mut Store>) -> Recommendations {
        recommend(r, cfg, store, &Live::default()).unwrap()
    }

    /// [`run`] with the default configuration and no history.
    fn offline(e: Emotion, strategy: Strategy, seed: Option<u64>) -> Recommendations {
        run(&req(e, strategy, seed), &Config::default(), None)
    }

    #[test]
    fn offline_sad_gives_linked_movies_and_music_with_variety() {
        let a = offline(Emotion::Sad, Strategy::Match, None);
        assert_eq!(a.movies.len(), 6);
        assert_eq!(a.music.len(), 6);
        assert!(!a.playlists.is_empty());
        for it in a.movies.iter().chain(&a.music).chain(&a.playlists) {
            assert!(it.link.starts_with("https://"), "{it:?}");
        }
        // match: sad → drama first
        assert!(
            a.movies
                .iter()
                .filter(|m| m.genres.iter().any(|g| g == "Drama"))
                .count()
                >= 4
        );
        let b = offline(Emotion::Sad, Strategy::Match, None);
        let keys = |r: &Recommendations| {
            r.movies
                .iter()
                .chain(&r.music)
                .map(|i| i.key.clone())
                .collect::<Vec<_>>()
        };
        assert_ne!(keys(&a), keys(&b), "two unseeded runs differ");
        let s1 = offline(Emotion::Sad, Strategy::Match, Some(7));
        let s2 = offline(Emotion::Sad, Strategy::Match, Some(7));
        assert_eq!(s1, s2, "same seed, same answer");
    }

    #[test]
    fn strategies_shape_the_music() {
        let up = offline(Emotion::Sad, Strategy::Uplift, Some(1));
        let v: Vec<f64> = up.music.iter().map(|m| m.valence.unwrap()).collect();
        assert!(
            v.last().unwrap() > v.first().unwrap(),
            "uplift rises in valence: {v:?}"
        );
        let calm = offline(Emotion::Angry, Strategy::Calm, Some(1));
        let mean_a: f64 = calm.music.iter().map(|m| m.arousal.unwrap()).sum::<f64>() / 6.0;
        let angry = offline(Emotion::Angry, Strategy::Match, Some(1));
        let mean_b: f64 = angry.music.iter().map(|m| m.arousal.unwrap()).sum::<f64>() / 6.0;
        assert!(mean_a < mean_b, "calm lowers arousal: {mean_a} vs {mean_b}");
        let calm_sad = offline(Emotion::Sad, Strategy::Calm, Some(4));
        let last = calm_sad.music.last().unwrap();
        assert_eq!(
            last.music_mood.as_deref(),
            Some("Calm"),
            "calm ends on calm music: {last:?}"
        );
        let up_movies = offline(Emotion::Sad, Strategy::Uplift, Some(2));
        let comforting = ["Comedy", "Family", "Animation", "Romance", "Music"];
        assert!(up_movies
            .movies
            .iter()
            .all(|m| m.genres.iter().any(|g| comforting.contains(&g.as_str()))));
    }

    #[test]
    fn feedback_and_no_repeat_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.db")).unwrap();
        let cfg = Config::default();
        let mut happy = req(Emotion::Happy, Strategy::Match, Some(1));
        happy.session = Some("monday".into());
        let first = run(&happy, &cfg, Some(&mut store));
        assert!(first.session_id.is_some());
        assert_eq!(first.session.as_deref(), Some("monday"));
        // no repeat within the last N sessions while alternatives exist
        happy.session = Some("tuesday".into());
        let second = run(&happy, &cfg, Some(&mut store));
        for m in second.movies.iter().chain(&second.music) {
            assert!(
                !first
                    .movies
                    .iter()
                    .chain(&first.music)
                    .any(|x| x.key == m.key),
                "{} repeated",
                m.key
            );
        }
        // a disliked item never comes back, even with no-repeat off and the same seed
        let disliked = first.movies[0].clone();
        let fb = feedback(&mut store, &disliked.title, false).unwrap();
        assert_eq!(fb.item_key, disliked.key);
        let mut cfg0 = cfg.clone();
        cfg0.no_repeat_sessions = 0;
        for seed in 0..5 {
            let r = run(
                &req(Emotion::Happy, Strategy::Match, Some(seed)),
                &cfg0,
                Some(&mut store),
            );
            assert!(r.movies.iter().all(|m| m.key != disliked.key));
        }
        happy.session = None;
        let r = run(&happy, &cfg0, None);
        assert!(
            r.movies.iter().any(|m| m.key == disliked.key),
            "without the dislike it would be shown"
        );
        // likes raise the weight of the liked genre
        let mut s2 = Store::open_in_memory().unwrap();
        let comedies: Vec<Film> = offline_films(None)
            .unwrap()
            .into_iter()
            .filter(|f| {
                f.genres.contains(&35)
                    && !f.genres.iter().any(|g| [99, 18, 36, 37, 10770].contains(g))
            })
            .take(3)
            .collect();
        assert_eq!(comedies.len(), 3);
        let count_comedy = |s: Option<&mut Store>| {
            let r = run(&req(Emotion::Neutral, Strategy::Match, Some(3)), &cfg0, s);
            r.movies
                .iter()
                .filter(|m| m.genres.iter().any(|g| g == "Comedy"))
                .count()
        };
        let before = count_comedy(None);
        for c in &comedies {
            feedback(&mut s2, &c.key(), true).unwrap();
        }
        let fb = s2.feedback().unwrap();
        assert!(fb[0].tags.contains(&"genre:35".to_string()));
        let after = count_comedy(Some(&mut s2));
        assert!(after > before, "liked genre rises: {before} -> {after}");
        assert!(feedback(&mut s2, "no such film ever", true).is_err());
    }

    #[test]
    fn few_votes_do_not_beat_many() {
        assert!(bayesian_rating(Some(10.0), Some(1)) < bayesian_rating(Some(8.0), Some(2000)));
        assert!((bayesian_rating(Some(8.0), None) - 8.0).abs() < 1e-12);
        assert_eq!(bayesian_rating(None, Some(5)), 6.0);
    }

    #[test]
    fn probability_mixture_blends_genres_under_the_named_moods_rules() {
        let cfg = Config::default();
        let mut p = [0.0; 7];
        p[Emotion::Fear.index()] = 0.6;
        p[Emotion::Happy.index()] = 0.4;
        let mut r = req(Emotion::Fear, Strategy::Match, Some(5));
        r.mood = Mood::from_probabilities(&p).unwrap();
        r.movies = 10;
        let out = run(&r, &cfg, None);
        assert_eq!(out.mood, "fear");
        assert!((out.probabilities["happy"] - 0.4).abs() < 1e-9);
        // both moods' genres, and fear's rules: no horror, no thriller
        assert!(out.genres.iter().any(|g| g == "Fantasy" || g == "Mystery"));
        assert!(out.genres.iter().any(|g| g == "Comedy"), "{:?}", out.genres);
        for m in &out.movies {
            assert!(
                !m.genres.iter().any(|g| g == "Horror" || g == "Thriller"),
                "{m:?}"
            );
            assert!(m.reason.ends_with("fits fear"), "{}", m.reason);
        }
        assert!(rule_violations(&out, &cfg.rules_for(Strategy::Match, Emotion::Fear)).is_empty());
    }

    #[test]
    fn music_follows_the_mood_and_rules_cap_sad() {
        let cfg = Config::default();
        let count = |r: &Recommendations, m: &str| {
            r.music
                .iter()
                .filter(|t| t.music_mood.as_deref() == Some(m))
                .count()
        };
        for seed in 0..3 {
            let mut r = req(Emotion::Neutral, Strategy::Match, Some(seed));
            r.music = 10;
            let out = run(&r, &cfg, None);
            assert_eq!(out.music.len(), 10);
            assert!(count(&out, "Sad") <= 3, "{:?}", out.music_mix);
            assert!(count(&out, "Happy") + count(&out, "Calm") >= 7);
            for s in [Strategy::Calm, Strategy::Comfort] {
                let mut r = req(Emotion::Angry, s, Some(seed));
                r.music = 10;
                let out = run(&r, &cfg, None);
                assert_eq!(count(&out, "Energetic"), 0);
                assert!(count(&out, "Calm") >= 7, "{s}: {:?}", out.music);
                assert_eq!(
                    out.music.last().unwrap().music_mood.as_deref(),
                    Some("Calm")
                );
            }
        }
        // every item says why
        let out = offline(Emotion::Happy, Strategy::Match, Some(2));
        for it in out.movies.iter().chain(&out.music).chain(&out.playlists) {
            assert!(it.reason.contains(" — "), "{it:?}");
        }
        assert!(out.music.iter().all(|t| t.reason.ends_with("fits happy")));
    }

    #[test]
    fn lists_are_stable_within_a_session_and_shuffle_gives_new_picks() {
        let cfg = Config::default();
        let mut store = Store::open_in_memory().unwrap();
        let keys = |r: &Recommendations| {
            r.movies
                .iter()
                .chain(&r.music)
                .map(|i| i.key.clone())
                .collect::<Vec<_>>()
        };
        let happy = req(Emotion::Happy, Strategy::Match, None);
        let a = run(&happy, &cfg, Some(&mut store));
        let session = a.session.clone().expect("an automatic session");
        assert!(session.starts_with("auto:"));
        // another strategy, then back: the same list
        let calm = run(
            &req(Emotion::Happy, Strategy::Calm, None),
            &cfg,
            Some(&mut store),
        );
        assert_eq!(calm.session.as_deref(), Some(session.as_str()));
        let again = run(&happy, &cfg, Some(&mut store));
        assert_eq!(keys(&a), keys(&again), "same mood and strategy, same list");
        assert_eq!(a.seed, again.seed);
        // shuffle: new picks, none of the shown ones while others exist
        let mut sh = happy.clone();
        sh.shuffle = true;
        let b = run(&sh, &cfg, Some(&mut store));
        assert_eq!(b.shuffle, 1);
        for k in keys(&b) {
            assert!(!keys(&a).contains(&k), "{k} shown again after shuffle");
        }
        // and the shuffled list is the one that stays
        let c = run(&happy, &cfg, Some(&mut store));
        assert_eq!(keys(&b), keys(&c));
        // a named session elsewhere: nothing from the earlier session comes back
        let mut other = happy.clone();
        other.session = Some("next-day".into());
        let d = run(&other, &cfg, Some(&mut store));
        let shown: HashSet<String> = keys(&a).into_iter().chain(keys(&b)).collect();
        assert!(keys(&d).iter().all(|k| !shown.contains(k)));
        // without a database, a named session still gives a stable list
        let mut named = happy.clone();
        named.session = Some("tab-1".into());
        assert_eq!(
            keys(&run(&named, &cfg, None)),
            keys(&run(&named, &cfg, None))
        );
    }

    #[test]
    fn least_misery_group_avoids_what_fits_anyone_badly() {
        let cfg = Config::default();
        let people: Vec<Mood> = [Emotion::Happy, Emotion::Sad, Emotion::Fear]
            .map(Mood::from_emotion)
            .to_vec();
        for strategy in Strategy::ALL {
            for seed in 0..3 {
                let mut r =
                    Request::for_group(people.clone(), Aggregation::LeastMisery, strategy).unwrap();
                r.movies = 10;
                r.music = 10;
                r.seed = Some(seed);
                let out = run(&r, &cfg, None);
                assert_eq!(out.people.len(), 3);
                assert_eq!(out.aggregation.as_deref(), Some("least-misery"));
                let moods: Vec<&str> = out.people.iter().map(|p| p.mood.as_str()).collect();
                assert_eq!(moods, ["happy", "sad", "fear"]);
                assert_eq!(out.movies.len(), 10);
                for m in &out.movies {
                    assert!(!m.genres.iter().any(|g| g == "Horror"), "{strategy}: {m:?}");
                }
                let rules = rules_for_request(&r, &cfg);
                assert!(rules.exclude_genres.contains(&27));
                assert!(rule_violations(&out, &rules).is_empty(), "{strategy}");
            }
        }
        // average: the mean mood's rules only; one person: as alone
        let r = Request::for_group(people.clone(), Aggregation::Average, Strategy::Match).unwrap();
        assert_eq!(
            r.mood.emotion,
            Emotion::Fear,
            "tie: first in the model's order"
        );
        let alone = Request::for_group(
            vec![Mood::from_emotion(Emotion::Sad)],
            Aggregation::LeastMisery,
            Strategy::Comfort,
        )
        .unwrap();
        assert_eq!(alone.mood.emotion, Emotion::Sad);
        assert!(group_mood(&[]).is_err());
        assert_eq!(
            "least-misery".parse::<Aggregation>().unwrap(),
            Aggregation::LeastMisery
        );
        assert!("median".parse::<Aggregation>().is_err());
    }

    #[test]
    fn imported_items_are_held_to_the_floor_and_adult_ones_need_an_opt_in() {
        let cfg = Config::default();
        let film = |title: &str, votes: u64, rating: f64, adult: bool, id: u64| Film {
            title: title.into(),
            year: Some(2000),
            genres: vec![35],
            rating: Some(rating),
            votes: Some(votes),
            tmdb_id: Some(id),
            source: Source::TmdbCsv,
            adult: Some(adult),
        };
        let floor = &cfg.floor;
        assert!(film_clears_floor(
            &film("Known", 5000, 7.0, false, 1),
            floor
        ));
        assert!(!film_clears_floor(
            &film("Obscure", 40, 9.0, false, 2),
            floor
        ));
        assert!(!film_clears_floor(
            &film("Panned", 5000, 4.0, false, 3),
            floor
        ));
        let mut ml = film("Few ratings", 5, 9.0, false, 4);
        ml.source = Source::Movielens;
        assert!(!film_clears_floor(&ml, floor));
        ml.votes = Some(80);
        assert!(film_clears_floor(&ml, floor));
        assert!(film_is_explicit(&film("x", 5000, 7.0, true, 5), floor));
        assert!(film_is_explicit(&film("Porno", 5000, 7.0, false, 6), floor));
        // a comedy that clears everything but is adult: shown only with the opt-in
        let mut store = Store::open_in_memory().unwrap();
        store
            .upsert_films(&[film("Zzz Adult Comedy", 90000, 9.9, true, 999_001)])
            .unwrap();
        let track = |artist: &str, pop: Option<u32>, explicit: Option<bool>, id: &str| Track {
            artist: artist.into(),
            title: "Song".into(),
            spotify_id: Some(id.into()),
            genre: None,
            features: embedded_tracks()[0].features,
            source: Source::SpotifyCsv,
            popularity: pop,
            explicit,
        };
        assert!(track_clears_floor(&track("a", Some(80), None, "x"), floor));
        assert!(!track_clears_floor(&track("a", Some(3), None, "x"), floor));
        assert!(!track_clears_floor(&track("a", None, None, "x"), floor));
        assert!(track_is_explicit(
            &track("a", Some(80), Some(true), "x"),
            floor
        ));
        assert!(track_is_explicit(
            &track("Lil Shit", Some(80), None, "x"),
            floor
        ));
        let shown = |allow: bool, store: &mut Store| {
            (0..4).any(|seed| {
                let mut r = req(Emotion::Happy, Strategy::Match, Some(seed));
                r.movies = 10;
                r.record = false;
                r.allow_explicit = allow;
                run(&r, &cfg, Some(store))
                    .movies
                    .iter()
                    .any(|m| m.title == "Zzz Adult Comedy")
            })
        };
        assert!(!shown(false, &mut store));
        assert!(shown(true, &mut store), "opted in, a 9.9 comedy shows up");
    }

    mod live_fallback {
        use super::*;
        use crate::online::fake::serve;
        use crate::online::tests::{both_services_answer, cfg, discover_body};
        use crate::online::{Http, SpotifyAuth, SpotifyClient, TmdbAuth, TmdbClient};

        fn live_for(url: &str, retries: u32) -> Live {
            let mut c = cfg(url, url);
            c.retries = retries;
            let http = Http::new(c, None);
            Live {
                tmdb: Some(TmdbClient::new(http.clone(), TmdbAuth::ApiKey("k".into()))),
                spotify: Some(SpotifyClient::new(
                    http,
                    SpotifyAuth {
                        client_id: "i".into(),
                        client_secret: "s".into(),
                    },
                )),
            }
        }

        /// `recommend` (seed 1, default configuration, no history) against the services at `url`.
        fn live_run(e: Emotion, strategy: Strategy, url: &str, retries: u32) -> Recommendations {
            let r = req(e, strategy, Some(1));
            recommend(&r, &Config::default(), None, &live_for(url, retries)).unwrap()
        }

        /// Some notice starts with `prefix`.
        fn assert_notice(out: &Recommendations, prefix: &str) {
            assert!(
                out.notices.iter().any(|n| n.starts_with(prefix)),
                "no notice starts with {prefix:?}: {:?}",
                out.notices
            );
        }

        #[test]
        fn live_results_are_used_when_services_answer() {
            let srv = serve(both_services_answer);
            let out = live_run(Emotion::Sad, Strategy::Match, &srv.url, 0);
            assert!(out.notices.is_empty(), "{:?}", out.notices);
            // live films join the candidates with a small preference (seeded noise decides
            // whether one makes a given list of six)
            let live_films = (1..=4)
                .map(|seed| {
                    let mut r = req(Emotion::Sad, Strategy::Match, Some(seed));
                    r.record = false;
                    let out =
                        recommend(&r, &Config::default(), None, &live_for(&srv.url, 0)).unwrap();
                    out.movies
                        .iter()
                        .filter(|m| m.source == Source::TmdbLive)
                        .count()
                })
                .sum::<usize>();
            assert!(live_films > 0, "no live film in four lists");
            assert!(out
                .playlists
                .iter()
                .any(|p| p.source == Source::SpotifyLive && p.title == "Mood Booster"));
            assert!(out.music.iter().any(|m| m.source == Source::SpotifyLive));
            assert_eq!(out.movies.len(), 6);
            // discover asked for the mood's genres (sad/match → drama first)
            let seen = srv.seen.lock().unwrap().clone();
            let d = seen
                .iter()
                .find(|r| r.target.starts_with("/discover/movie"))
                .unwrap();
            assert!(d.target.contains("with_genres=18"), "{}", d.target);
        }

        #[test]
        fn failures_fall_back_to_offline_with_a_visible_notice() {
            // 500 on everything
            let srv = serve(|_| (500, vec![], "{}".into(), 0));
            let out = live_run(Emotion::Sad, Strategy::Match, &srv.url, 1);
            assert_eq!(out.movies.len(), 6);
            assert_eq!(out.music.len(), 6);
            assert!(out.movies.iter().all(|m| m.source == Source::Embedded));
            assert_notice(&out, "TMDb unavailable");
            assert_notice(&out, "Spotify unavailable");
            assert!(out.playlists.iter().all(|p| p.source == Source::Search));
            // 401: the notice says to check the key
            let srv = serve(|_| (401, vec![], "{}".into(), 0));
            let out = live_run(Emotion::Happy, Strategy::Match, &srv.url, 1);
            assert!(
                out.notices.iter().all(|n| n.contains("check your key")),
                "{:?}",
                out.notices
            );
            assert_eq!(out.movies.len(), 6);
            // timeout
            let srv = serve(|_| (200, vec![], discover_body(1), 2500));
            let out = live_run(Emotion::Fear, Strategy::Calm, &srv.url, 0);
            assert_eq!(out.movies.len(), 6);
            assert_notice(&out, "TMDb unavailable");
            // nothing listening at all
            let out = live_run(Emotion::Fear, Strategy::Calm, "http://127.0.0.1:9", 0);
            assert_eq!(out.music.len(), 6);
            assert_eq!(out.notices.len(), 2, "{:?}", out.notices);
        }
    }
}
