//! Configuration: emotion → TMDb genre map per strategy, playlist queries, live-client settings.
//! Defaults live in `data/default_config.toml` (built in); a user TOML overrides any key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use moodlens_common::Emotion;
use serde::{Deserialize, Serialize};

use crate::error::{RecommendError, Result};
use crate::mood::{MusicMood, Strategy};

/// The built-in defaults, as TOML (also the documentation of every key).
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../data/default_config.toml");

/// Live-client settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveConfig {
    pub tmdb_base_url: String,
    pub spotify_api_url: String,
    pub spotify_accounts_url: String,
    pub timeout_secs: u64,
    pub retries: u32,
    pub backoff_ms: u64,
    pub max_retry_after_secs: u64,
    pub cache_ttl_secs: u64,
}

impl LiveConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Apply the base-URL overrides from the environment: `MOODLENS_TMDB_BASE_URL`,
    /// `MOODLENS_SPOTIFY_API_URL`, `MOODLENS_SPOTIFY_ACCOUNTS_URL`.
    pub fn with_env_overrides(self) -> Self {
        self.with_overrides(&|k| std::env::var(k).ok())
    }

    /// The same, reading variables through `env` (tests pass a map).
    pub fn with_overrides(mut self, env: &dyn Fn(&str) -> Option<String>) -> Self {
        if let Some(v) = env("MOODLENS_TMDB_BASE_URL") {
            self.tmdb_base_url = v;
        }
        if let Some(v) = env("MOODLENS_SPOTIFY_API_URL") {
            self.spotify_api_url = v;
        }
        if let Some(v) = env("MOODLENS_SPOTIFY_ACCOUNTS_URL") {
            self.spotify_accounts_url = v;
        }
        self
    }
}

/// A genre in the TOML: a TMDb id (`18`) or a TMDb genre name (`"Drama"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum GenreRef {
    Id(u32),
    Name(String),
}

impl GenreRef {
    fn resolve(&self, at: &str) -> Result<u32> {
        match self {
            GenreRef::Id(id) if tmdb_genre_name(*id).is_some() => Ok(*id),
            GenreRef::Id(id) => Err(RecommendError::Config(format!(
                "{at}: {id} is not a TMDb movie genre id"
            ))),
            GenreRef::Name(n) => tmdb_genre_id(n).ok_or_else(|| {
                RecommendError::Config(format!("{at}: '{n}' is not a TMDb movie genre"))
            }),
        }
    }
}

fn resolve_genres(v: &[GenreRef], at: &str) -> Result<Vec<u32>> {
    v.iter().map(|g| g.resolve(at)).collect()
}

/// `default_strategy = "match"` (every emotion) or a table per emotion.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum StrategySetting {
    All(String),
    PerEmotion(BTreeMap<String, String>),
}

#[derive(Debug, Clone, Default, Deserialize)]
struct PartialConfig {
    default_strategy: Option<StrategySetting>,
    no_repeat_sessions: Option<usize>,
    session_minutes: Option<u64>,
    tmdb_min_votes: Option<u32>,
    allow_explicit: Option<bool>,
    live: Option<toml::Table>,
    floor: Option<toml::Table>,
    #[serde(default)]
    genres: BTreeMap<String, BTreeMap<String, Vec<GenreRef>>>,
    #[serde(default)]
    music: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
    rules: Option<toml::Table>,
    #[serde(default)]
    playlists: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    mood_playlists: BTreeMap<String, Vec<String>>,
}

/// The floor imported and live items must clear (the embedded catalog's own level): well-known,
/// well-rated, not adult/explicit unless the user opts in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogFloor {
    /// TMDb vote count at least this (tmdb-csv and live films).
    pub tmdb_min_votes: u64,
    /// MovieLens: at least this many ratings in the imported ratings.csv.
    pub movielens_min_ratings: u64,
    /// Rating (0–10) at least this, for imported and live films.
    pub min_rating: f64,
    /// Spotify popularity (0–100) at least this, for imported tracks (unknown: below).
    pub spotify_min_popularity: u32,
    /// Whole words (a trailing `*` matches any ending) that mark a title or artist as explicit
    /// when the table has no explicit flag.
    pub explicit_words: Vec<String>,
}

/// One level of the rules (`[rules]`, `[rules.<strategy>]`, `[rules.<strategy>.<emotion>]`): what
/// must not appear. Unset keys inherit from the level above.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSpec {
    /// TMDb genre ids no film may have.
    pub exclude_genres: Option<Vec<u32>>,
    /// Music moods no track may have.
    pub exclude_music: Option<Vec<MusicMood>>,
    /// At most this share of the tracks may be labelled Sad.
    pub max_sad: Option<f64>,
    /// Why (documentation; shown in the rules table of docs/RECOMMEND.md).
    pub why: Option<String>,
}

/// The effective rules for a strategy and emotion: the union of the three levels' exclusions,
/// and the most specific `max_sad`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rules {
    pub exclude_genres: BTreeSet<u32>,
    pub exclude_music: BTreeSet<MusicMood>,
    pub max_sad: f64,
    /// The reasons of the levels that apply, general first.
    pub why: Vec<String>,
}

impl Rules {
    /// Least misery over several people: every exclusion of any of them, the smallest Sad share.
    pub fn union<'a>(all: impl IntoIterator<Item = &'a Rules>) -> Rules {
        let mut out = Rules {
            max_sad: 1.0,
            ..Rules::default()
        };
        for r in all {
            out.exclude_genres.extend(r.exclude_genres.iter().copied());
            out.exclude_music.extend(r.exclude_music.iter().copied());
            out.max_sad = out.max_sad.min(r.max_sad);
            for w in &r.why {
                if !out.why.contains(w) {
                    out.why.push(w.clone());
                }
            }
        }
        out
    }

    /// Whether a film with these genres may be shown.
    pub fn allows_film(&self, genres: &[u32]) -> bool {
        !genres.iter().any(|g| self.exclude_genres.contains(g))
    }
}

/// Scope of a rule level: (strategy, emotion); `None` = every.
pub type RuleScope = (Option<Strategy>, Option<Emotion>);

/// The whole recommend configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Strategy per emotion when none is asked for (`default_strategy`).
    pub default_strategy: BTreeMap<Emotion, Strategy>,
    pub no_repeat_sessions: usize,
    /// Requests without an explicit session within this many minutes of the previous one belong
    /// to the same session (same list for the same mood and strategy).
    pub session_minutes: u64,
    pub tmdb_min_votes: u32,
    /// Show adult films and explicit tracks.
    pub allow_explicit: bool,
    pub live: LiveConfig,
    pub floor: CatalogFloor,
    /// (strategy, emotion) → TMDb genre ids, most fitting first.
    pub genres: BTreeMap<(Strategy, Emotion), Vec<u32>>,
    /// (strategy, emotion) → the share of each music mood in the list.
    pub music: BTreeMap<(Strategy, Emotion), BTreeMap<MusicMood, f64>>,
    /// Rule levels (what must not appear).
    pub rules: BTreeMap<RuleScope, RuleSpec>,
    /// Search queries per music mood.
    pub playlists: BTreeMap<MusicMood, Vec<String>>,
    /// Extra playlist queries per emotion (used with `match`).
    pub mood_playlists: BTreeMap<Emotion, Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        // The built-in TOML is tested to parse and be complete.
        Config::from_toml_over(None, DEFAULT_CONFIG_TOML).expect("built-in config is valid")
    }
}

fn merge_table<T: Serialize + serde::de::DeserializeOwned>(
    base: Option<&T>,
    over: Option<toml::Table>,
    name: &str,
) -> Result<T> {
    let mut table = match base {
        Some(b) => toml::Table::try_from(b).map_err(|e| RecommendError::Config(e.to_string()))?,
        None => toml::Table::new(),
    };
    if let Some(t) = over {
        for (k, v) in t {
            table.insert(k, v);
        }
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| RecommendError::Config(format!("[{name}]: {e}")))
}

fn parse_strategy_at(s: &str, at: &str) -> Result<Strategy> {
    s.parse()
        .map_err(|_| RecommendError::Config(format!("{at}: unknown strategy '{s}'")))
}

fn parse_emotion_at(s: &str, at: &str) -> Result<Emotion> {
    s.parse()
        .map_err(|e| RecommendError::Config(format!("{at}: {e}")))
}

/// Parse one rule level's own keys (sub-tables are left to the caller).
fn parse_rule_spec(t: &toml::Table, at: &str) -> Result<RuleSpec> {
    let mut spec = RuleSpec::default();
    for (k, v) in t {
        match k.as_str() {
            "exclude_genres" => {
                let refs: Vec<GenreRef> = v
                    .clone()
                    .try_into()
                    .map_err(|e| RecommendError::Config(format!("{at}.exclude_genres: {e}")))?;
                spec.exclude_genres = Some(resolve_genres(&refs, &format!("{at}.exclude_genres"))?);
            }
            "exclude_music" => {
                let names: Vec<String> = v
                    .clone()
                    .try_into()
                    .map_err(|e| RecommendError::Config(format!("{at}.exclude_music: {e}")))?;
                spec.exclude_music = Some(
                    names
                        .iter()
                        .map(|n| n.parse::<MusicMood>())
                        .collect::<Result<Vec<_>>>()
                        .map_err(|e| RecommendError::Config(format!("{at}.exclude_music: {e}")))?,
                );
            }
            "max_sad" => {
                let x = v
                    .as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        RecommendError::Config(format!("{at}.max_sad: a share in 0..1"))
                    })?;
                spec.max_sad = Some(x);
            }
            "why" => {
                spec.why = Some(
                    v.as_str()
                        .ok_or_else(|| RecommendError::Config(format!("{at}.why: a string")))?
                        .to_string(),
                );
            }
            _ if v.is_table() => {}
            other => {
                return Err(RecommendError::Config(format!(
                    "{at}: unknown key '{other}' (exclude_genres, exclude_music, max_sad, why)"
                )))
            }
        }
    }
    Ok(spec)
}

/// `[rules]` with its strategy and emotion sub-tables → levels.
fn parse_rules(t: &toml::Table) -> Result<Vec<(RuleScope, RuleSpec)>> {
    let mut out = vec![((None, None), parse_rule_spec(t, "[rules]")?)];
    for (sk, sv) in t {
        let Some(st) = sv.as_table() else { continue };
        let at = format!("[rules.{sk}]");
        let s = parse_strategy_at(sk, &at)?;
        out.push(((Some(s), None), parse_rule_spec(st, &at)?));
        for (ek, ev) in st {
            let Some(et) = ev.as_table() else { continue };
            let at = format!("[rules.{sk}.{ek}]");
            let e = parse_emotion_at(ek, &at)?;
            for (k, v) in et {
                if v.is_table() {
                    return Err(RecommendError::Config(format!(
                        "{at}: unexpected table '{k}'"
                    )));
                }
            }
            out.push(((Some(s), Some(e)), parse_rule_spec(et, &at)?));
        }
    }
    Ok(out)
}

fn merge_spec(base: &mut RuleSpec, over: RuleSpec) {
    if over.exclude_genres.is_some() {
        base.exclude_genres = over.exclude_genres;
    }
    if over.exclude_music.is_some() {
        base.exclude_music = over.exclude_music;
    }
    if over.max_sad.is_some() {
        base.max_sad = over.max_sad;
    }
    if over.why.is_some() {
        base.why = over.why;
    }
}

impl Config {
    /// Parse a user TOML on top of the defaults.
    pub fn from_toml(text: &str) -> Result<Config> {
        let base = Config::default();
        Config::from_toml_over(Some(base), text)
    }

    /// Read a user TOML file on top of the defaults.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| RecommendError::io(path, e))?;
        Config::from_toml(&text)
            .map_err(|e| RecommendError::Config(format!("{}: {e}", path.display())))
    }

    fn from_toml_over(base: Option<Config>, text: &str) -> Result<Config> {
        let p: PartialConfig =
            toml::from_str(text).map_err(|e| RecommendError::Config(e.to_string()))?;
        let complete = base.is_none();
        let live: LiveConfig = merge_table(base.as_ref().map(|b| &b.live), p.live, "live")?;
        let floor: CatalogFloor = merge_table(base.as_ref().map(|b| &b.floor), p.floor, "floor")?;
        let mut default_strategy = base
            .as_ref()
            .map(|b| b.default_strategy.clone())
            .unwrap_or_default();
        match p.default_strategy {
            None => {}
            Some(StrategySetting::All(s)) => {
                let s = parse_strategy_at(&s, "default_strategy")?;
                for e in Emotion::ALL {
                    default_strategy.insert(e, s);
                }
            }
            Some(StrategySetting::PerEmotion(m)) => {
                for (e, s) in m {
                    let at = format!("[default_strategy] {e}");
                    default_strategy
                        .insert(parse_emotion_at(&e, &at)?, parse_strategy_at(&s, &at)?);
                }
            }
        }
        let mut genres = base.as_ref().map(|b| b.genres.clone()).unwrap_or_default();
        for (strategy, map) in p.genres {
            let s = parse_strategy_at(&strategy, &format!("[genres.{strategy}]"))?;
            for (emotion, ids) in map {
                let at = format!("[genres.{strategy}] {emotion}");
                let e = parse_emotion_at(&emotion, &at)?;
                if ids.is_empty() {
                    return Err(RecommendError::Config(format!(
                        "{at}: needs at least one genre id"
                    )));
                }
                genres.insert((s, e), resolve_genres(&ids, &at)?);
            }
        }
        let mut music = base.as_ref().map(|b| b.music.clone()).unwrap_or_default();
        for (strategy, map) in p.music {
            let s = parse_strategy_at(&strategy, &format!("[music.{strategy}]"))?;
            for (emotion, mix) in map {
                let at = format!("[music.{strategy}] {emotion}");
                let e = parse_emotion_at(&emotion, &at)?;
                let mut m = BTreeMap::new();
                for (k, share) in mix {
                    let mm: MusicMood = k
                        .parse()
                        .map_err(|err| RecommendError::Config(format!("{at}: {err}")))?;
                    if !share.is_finite() || share < 0.0 {
                        return Err(RecommendError::Config(format!(
                            "{at}: {k} must be a non-negative share"
                        )));
                    }
                    m.insert(mm, share);
                }
                if m.values().sum::<f64>() <= 0.0 {
                    return Err(RecommendError::Config(format!(
                        "{at}: needs a positive share for some music mood"
                    )));
                }
                music.insert((s, e), m);
            }
        }
        let mut rules = base.as_ref().map(|b| b.rules.clone()).unwrap_or_default();
        if let Some(t) = &p.rules {
            for (scope, spec) in parse_rules(t)? {
                merge_spec(rules.entry(scope).or_default(), spec);
            }
        }
        let mut playlists = base
            .as_ref()
            .map(|b| b.playlists.clone())
            .unwrap_or_default();
        for (m, qs) in p.playlists {
            let mm: MusicMood = m.parse()?;
            playlists.insert(mm, qs);
        }
        let mut mood_playlists = base
            .as_ref()
            .map(|b| b.mood_playlists.clone())
            .unwrap_or_default();
        for (e, qs) in p.mood_playlists {
            mood_playlists.insert(parse_emotion_at(&e, "[mood_playlists]")?, qs);
        }
        if complete {
            for s in Strategy::ALL {
                for e in Emotion::ALL {
                    if !genres.contains_key(&(s, e)) {
                        return Err(RecommendError::Config(format!("[genres.{s}] lacks {e}")));
                    }
                    if !music.contains_key(&(s, e)) {
                        return Err(RecommendError::Config(format!("[music.{s}] lacks {e}")));
                    }
                }
            }
            for e in Emotion::ALL {
                default_strategy.entry(e).or_insert(Strategy::Match);
            }
        }
        Ok(Config {
            default_strategy,
            no_repeat_sessions: p
                .no_repeat_sessions
                .or(base.as_ref().map(|b| b.no_repeat_sessions))
                .unwrap_or(5),
            session_minutes: p
                .session_minutes
                .or(base.as_ref().map(|b| b.session_minutes))
                .unwrap_or(30),
            tmdb_min_votes: p
                .tmdb_min_votes
                .or(base.as_ref().map(|b| b.tmdb_min_votes))
                .unwrap_or(200),
            allow_explicit: p
                .allow_explicit
                .or(base.as_ref().map(|b| b.allow_explicit))
                .unwrap_or(false),
            live,
            floor,
            genres,
            music,
            rules,
            playlists,
            mood_playlists,
        })
    }

    /// The strategy used for an emotion when none is asked for.
    pub fn strategy_for(&self, e: Emotion) -> Strategy {
        self.default_strategy
            .get(&e)
            .copied()
            .unwrap_or(Strategy::Match)
    }

    /// Genre ids for a strategy and emotion, most fitting first.
    pub fn genres_for(&self, s: Strategy, e: Emotion) -> &[u32] {
        self.genres.get(&(s, e)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The music-mood mix for a strategy and emotion, normalised to sum to 1.
    pub fn music_mix(&self, s: Strategy, e: Emotion) -> BTreeMap<MusicMood, f64> {
        let m = self.music.get(&(s, e)).cloned().unwrap_or_default();
        let sum: f64 = m.values().sum();
        if sum <= 0.0 {
            return BTreeMap::from([(MusicMood::Happy, 1.0)]);
        }
        m.into_iter().map(|(k, v)| (k, v / sum)).collect()
    }

    /// Probability-weighted music mix: Σ p(e) · mix(s, e).
    pub fn music_mix_weighted(
        &self,
        s: Strategy,
        probabilities: &[f64],
    ) -> BTreeMap<MusicMood, f64> {
        let mut out: BTreeMap<MusicMood, f64> = BTreeMap::new();
        for (i, e) in Emotion::ALL.iter().enumerate() {
            let p = probabilities.get(i).copied().unwrap_or(0.0);
            if p <= 0.0 {
                continue;
            }
            for (m, share) in self.music_mix(s, *e) {
                *out.entry(m).or_insert(0.0) += p * share;
            }
        }
        out
    }

    /// The effective rules for a strategy and emotion.
    pub fn rules_for(&self, s: Strategy, e: Emotion) -> Rules {
        let mut out = Rules {
            max_sad: 1.0,
            ..Rules::default()
        };
        for scope in [(None, None), (Some(s), None), (Some(s), Some(e))] {
            if let Some(spec) = self.rules.get(&scope) {
                if let Some(g) = &spec.exclude_genres {
                    out.exclude_genres.extend(g.iter().copied());
                }
                if let Some(m) = &spec.exclude_music {
                    out.exclude_music.extend(m.iter().copied());
                }
                if let Some(x) = spec.max_sad {
                    out.max_sad = x;
                }
                if let Some(w) = &spec.why {
                    out.why.push(w.clone());
                }
            }
        }
        out
    }

    /// Probability-weighted genre affinities: each emotion's list contributes p(e) · w(rank), with
    /// w = 1, 0.8, 0.65, 0.55, 0.5, ….
    pub fn genre_weights(&self, s: Strategy, probabilities: &[f64]) -> BTreeMap<u32, f64> {
        let mut w = BTreeMap::new();
        for (i, e) in Emotion::ALL.iter().enumerate() {
            let p = probabilities.get(i).copied().unwrap_or(0.0);
            if p <= 0.0 {
                continue;
            }
            for (rank, g) in self.genres_for(s, *e).iter().enumerate() {
                let rw = 1.0 / (1.0 + 0.25 * rank as f64);
                *w.entry(*g).or_insert(0.0) += p * rw;
            }
        }
        w
    }
}

/// TMDb genre names by id (the movie genre list).
pub fn tmdb_genre_name(id: u32) -> Option<&'static str> {
    Some(match id {
        28 => "Action",
        12 => "Adventure",
        16 => "Animation",
        35 => "Comedy",
        80 => "Crime",
        99 => "Documentary",
        18 => "Drama",
        10751 => "Family",
        14 => "Fantasy",
        36 => "History",
        27 => "Horror",
        10402 => "Music",
        9648 => "Mystery",
        10749 => "Romance",
        878 => "Science Fiction",
        10770 => "TV Movie",
        53 => "Thriller",
        10752 => "War",
        37 => "Western",
        _ => return None,
    })
}

/// TMDb genre id for a TMDb genre name (case-insensitive; "Sci-Fi" accepted).
pub fn tmdb_genre_id(name: &str) -> Option<u32> {
    let n = name.trim().to_ascii_lowercase();
    let id = match n.as_str() {
        "action" => 28,
        "adventure" => 12,
        "animation" => 16,
        "comedy" => 35,
        "crime" => 80,
        "documentary" => 99,
        "drama" => 18,
        "family" => 10751,
        "fantasy" => 14,
        "history" => 36,
        "horror" => 27,
        "music" => 10402,
        "mystery" => 9648,
        "romance" => 10749,
        "science fiction" | "sci-fi" => 878,
        "tv movie" => 10770,
        "thriller" => 53,
        "war" => 10752,
        "western" => 37,
        _ => return None,
    };
    Some(id)
}

/// MovieLens genre name → TMDb genre id (per the catalogs README; IMAX and "(no genres listed)": none).
pub fn movielens_genre_id(name: &str) -> Option<u32> {
    Some(match name.trim() {
        "Action" => 28,
        "Adventure" => 12,
        "Animation" => 16,
        "Children" => 10751,
        "Comedy" => 35,
        "Crime" => 80,
        "Documentary" => 99,
        "Drama" => 18,
        "Fantasy" => 14,
        "Film-Noir" => 80,
        "Horror" => 27,
        "Musical" => 10402,
        "Mystery" => 9648,
        "Romance" => 10749,
        "Sci-Fi" => 878,
        "Thriller" => 53,
        "War" => 10752,
        "Western" => 37,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_GENRES: [u32; 19] = [
        28, 12, 16, 35, 80, 99, 18, 10751, 14, 36, 27, 10402, 9648, 10749, 878, 10770, 53, 10752,
        37,
    ];

    #[test]
    fn defaults_cover_every_strategy_and_emotion_with_known_genres() {
        let c = Config::default();
        for s in Strategy::ALL {
            for e in Emotion::ALL {
                let g = c.genres_for(s, e);
                assert!(!g.is_empty(), "{s} {e}");
                let rules = c.rules_for(s, e);
                for id in g {
                    assert!(tmdb_genre_name(*id).is_some(), "{s} {e} {id}");
                    assert!(
                        !rules.exclude_genres.contains(id),
                        "{s} {e}: genre {id} both wanted and excluded"
                    );
                }
                let mix = c.music_mix(s, e);
                assert!((mix.values().sum::<f64>() - 1.0).abs() < 1e-9);
                for m in mix.keys() {
                    assert!(!rules.exclude_music.contains(m), "{s} {e}: {m:?} excluded");
                }
                assert!(!rules.why.is_empty(), "{s} {e}: rules without a reason");
            }
        }
        // the original design's pairs
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Happy)[0], 35);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Sad)[0], 18);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Angry)[0], 28);
        // default strategies follow the brief
        assert_eq!(c.strategy_for(Emotion::Happy), Strategy::Match);
        assert_eq!(c.strategy_for(Emotion::Sad), Strategy::Comfort);
        assert_eq!(c.strategy_for(Emotion::Angry), Strategy::Match);
        assert_eq!(c.strategy_for(Emotion::Fear), Strategy::Calm);
        assert_eq!(c.strategy_for(Emotion::Disgust), Strategy::Calm);
        assert_eq!(c.strategy_for(Emotion::Surprise), Strategy::Match);
        assert_eq!(c.strategy_for(Emotion::Neutral), Strategy::Match);
        for m in MusicMood::ALL {
            assert!(!c.playlists[&m].is_empty());
        }
        // every genre of the TMDb movie list is either recommended for some mood or excluded by a
        // documented rule
        let wanted: BTreeSet<u32> = c.genres.values().flatten().copied().collect();
        let excluded: BTreeSet<u32> = c
            .rules
            .values()
            .filter_map(|r| r.exclude_genres.clone())
            .flatten()
            .collect();
        for id in ALL_GENRES {
            assert!(
                wanted.contains(&id) || excluded.contains(&id),
                "genre {id} neither wanted nor excluded"
            );
        }
        // the rules
        for s in [Strategy::Calm, Strategy::Comfort] {
            for e in Emotion::ALL {
                let r = c.rules_for(s, e);
                assert!([27, 53, 10752].iter().all(|g| r.exclude_genres.contains(g)));
                assert!(r.exclude_music.contains(&MusicMood::Energetic));
                assert!(r.max_sad <= 0.3);
            }
        }
        for s in [Strategy::Match, Strategy::Uplift] {
            let r = c.rules_for(s, Emotion::Happy);
            assert!([27, 53, 10752].iter().all(|g| r.exclude_genres.contains(g)));
        }
        for s in Strategy::ALL {
            assert!(c.rules_for(s, Emotion::Neutral).max_sad <= 0.4);
            assert!(c.rules_for(s, Emotion::Fear).exclude_genres.contains(&27));
        }
    }

    #[test]
    fn user_toml_overrides_only_what_it_names() {
        let c = Config::from_toml(
            "default_strategy = \"calm\"\n[live]\ntimeout_secs = 2\n[genres.match]\nsad = [35]\n\
             [floor]\nmin_rating = 7.5\n[rules.match.fear]\nexclude_genres = []\n\
             [music.match]\nneutral = { Calm = 1 }\n",
        )
        .unwrap();
        for e in Emotion::ALL {
            assert_eq!(c.strategy_for(e), Strategy::Calm);
        }
        assert_eq!(c.live.timeout_secs, 2);
        assert_eq!(c.live.retries, Config::default().live.retries);
        assert_eq!(c.floor.min_rating, 7.5);
        assert_eq!(
            c.floor.tmdb_min_votes,
            Config::default().floor.tmdb_min_votes
        );
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Sad), &[35]);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Happy)[0], 35);
        // the emotion level is emptied, the global level (TV Movie) still applies
        let fear = c.rules_for(Strategy::Match, Emotion::Fear);
        assert!(!fear.exclude_genres.contains(&27));
        assert!(fear.exclude_genres.contains(&10770));
        assert_eq!(
            c.music_mix(Strategy::Match, Emotion::Neutral),
            BTreeMap::from([(MusicMood::Calm, 1.0)])
        );
        let c = Config::from_toml("[default_strategy]\nsad = \"match\"\n").unwrap();
        assert_eq!(c.strategy_for(Emotion::Sad), Strategy::Match);
        assert_eq!(c.strategy_for(Emotion::Fear), Strategy::Calm);
        let c = Config::from_toml("[genres.calm]\nfear = [\"Family\", 16]\n").unwrap();
        assert_eq!(c.genres_for(Strategy::Calm, Emotion::Fear), &[10751, 16]);
        for bad in [
            "[genres.match]\nbored = [35]\n",
            "[genres.loud]\nsad = [35]\n",
            "[genres.match]\nsad = []\n",
            "[genres.match]\nsad = [\"Cartoons\"]\n",
            "[genres.match]\nsad = [12345]\n",
            "no_repeat_sessions = \"x\"",
            "default_strategy = \"loud\"",
            "[rules.match.fear]\nexclude_genres = [\"Gore\"]\n",
            "[rules.match.fear]\nmax_sad = 2\n",
            "[rules.match.fear]\nexclude_music = [\"Loud\"]\n",
            "[rules.match.fear]\nbanned = 1\n",
            "[rules.loud]\nmax_sad = 0.1\n",
            "[rules.match.bored]\nmax_sad = 0.1\n",
            "[music.match]\nsad = { Sad = -1 }\n",
            "[music.match]\nsad = { Loud = 1 }\n",
            "[music.match]\nsad = { Sad = 0 }\n",
        ] {
            assert!(Config::from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn genre_weights_and_music_mix_follow_probabilities() {
        let c = Config::default();
        let mut p = [0.0; 7];
        p[Emotion::Sad.index()] = 0.7;
        p[Emotion::Happy.index()] = 0.3;
        let w = c.genre_weights(Strategy::Match, &p);
        assert!(w[&18] > w[&35]);
        assert!(w[&35] > 0.0);
        let m = c.music_mix_weighted(Strategy::Match, &p);
        assert!((m[&MusicMood::Sad] - 0.56).abs() < 1e-9);
        assert!((m[&MusicMood::Happy] - 0.21).abs() < 1e-9);
        let all = Rules::union([
            &c.rules_for(Strategy::Match, Emotion::Happy),
            &c.rules_for(Strategy::Match, Emotion::Angry),
        ]);
        assert!(all.exclude_genres.contains(&80) && all.exclude_genres.contains(&27));
        assert_eq!(all.max_sad, 0.2);
        assert!(!all.allows_film(&[35, 80]) && all.allows_film(&[35, 12]));
    }
}
