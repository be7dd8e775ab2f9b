//! Configuration: emotion → TMDb genre map per strategy, playlist queries, live-client settings.
//! Defaults live in `data/default_config.toml` (built in); a user TOML overrides any key.

use std::collections::BTreeMap;
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

#[derive(Debug, Clone, Default, Deserialize)]
struct PartialConfig {
    default_strategy: Option<String>,
    no_repeat_sessions: Option<usize>,
    tmdb_min_votes: Option<u32>,
    live: Option<toml::Table>,
    #[serde(default)]
    genres: BTreeMap<String, BTreeMap<String, Vec<u32>>>,
    #[serde(default)]
    playlists: BTreeMap<String, Vec<String>>,
}

/// The whole recommend configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub default_strategy: Strategy,
    pub no_repeat_sessions: usize,
    pub tmdb_min_votes: u32,
    pub live: LiveConfig,
    /// (strategy, emotion) → TMDb genre ids, most fitting first.
    pub genres: BTreeMap<(Strategy, Emotion), Vec<u32>>,
    /// Search queries per music mood.
    pub playlists: BTreeMap<MusicMood, Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        // The built-in TOML is tested to parse and be complete.
        Config::from_toml_over(None, DEFAULT_CONFIG_TOML).expect("built-in config is valid")
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
        let mut live_table = match &base {
            Some(b) => {
                toml::Table::try_from(&b.live).map_err(|e| RecommendError::Config(e.to_string()))?
            }
            None => toml::Table::new(),
        };
        if let Some(t) = p.live {
            for (k, v) in t {
                live_table.insert(k, v);
            }
        }
        let live: LiveConfig = toml::Value::Table(live_table)
            .try_into()
            .map_err(|e: toml::de::Error| RecommendError::Config(format!("[live]: {e}")))?;
        let default_strategy = match (p.default_strategy, &base) {
            (Some(s), _) => s.parse()?,
            (None, Some(b)) => b.default_strategy,
            (None, None) => Strategy::Match,
        };
        let mut genres = base.as_ref().map(|b| b.genres.clone()).unwrap_or_default();
        for (strategy, map) in p.genres {
            let s: Strategy = strategy.parse().map_err(|_| {
                RecommendError::Config(format!("[genres.{strategy}]: unknown strategy"))
            })?;
            for (emotion, ids) in map {
                let e: Emotion = emotion.parse().map_err(|e| {
                    RecommendError::Config(format!("[genres.{strategy}] {emotion}: {e}"))
                })?;
                if ids.is_empty() {
                    return Err(RecommendError::Config(format!(
                        "[genres.{strategy}] {emotion}: needs at least one genre id"
                    )));
                }
                genres.insert((s, e), ids);
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
        if complete {
            for s in Strategy::ALL {
                for e in Emotion::ALL {
                    if !genres.contains_key(&(s, e)) {
                        return Err(RecommendError::Config(format!("[genres.{s}] lacks {e}")));
                    }
                }
            }
        }
        Ok(Config {
            default_strategy,
            no_repeat_sessions: p
                .no_repeat_sessions
                .or(base.as_ref().map(|b| b.no_repeat_sessions))
                .unwrap_or(5),
            tmdb_min_votes: p
                .tmdb_min_votes
                .or(base.as_ref().map(|b| b.tmdb_min_votes))
                .unwrap_or(200),
            live,
            genres,
            playlists,
        })
    }

    /// Genre ids for a strategy and emotion, most fitting first.
    pub fn genres_for(&self, s: Strategy, e: Emotion) -> &[u32] {
        self.genres.get(&(s, e)).map(Vec::as_slice).unwrap_or(&[])
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

    #[test]
    fn defaults_cover_every_strategy_and_emotion_with_known_genres() {
        let c = Config::default();
        for s in Strategy::ALL {
            for e in Emotion::ALL {
                let g = c.genres_for(s, e);
                assert!(!g.is_empty(), "{s} {e}");
                for id in g {
                    assert!(tmdb_genre_name(*id).is_some(), "{s} {e} {id}");
                }
            }
        }
        // the original design's pairs
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Happy)[0], 35);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Sad)[0], 18);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Angry)[0], 28);
        assert_eq!(c.default_strategy, Strategy::Match);
        for m in MusicMood::ALL {
            assert!(!c.playlists[&m].is_empty());
        }
        // every genre of the TMDb movie list is reachable from some mood
        let all: std::collections::BTreeSet<u32> = c.genres.values().flatten().copied().collect();
        for id in [
            28, 12, 16, 35, 80, 99, 18, 10751, 14, 36, 27, 10402, 9648, 10749, 878, 10770, 53,
            10752, 37,
        ] {
            assert!(all.contains(&id), "genre {id} unreachable");
        }
    }

    #[test]
    fn user_toml_overrides_only_what_it_names() {
        let c = Config::from_toml(
            "default_strategy = \"calm\"\n[live]\ntimeout_secs = 2\n[genres.match]\nsad = [35]\n",
        )
        .unwrap();
        assert_eq!(c.default_strategy, Strategy::Calm);
        assert_eq!(c.live.timeout_secs, 2);
        assert_eq!(c.live.retries, Config::default().live.retries);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Sad), &[35]);
        assert_eq!(c.genres_for(Strategy::Match, Emotion::Happy)[0], 35);
        assert!(Config::from_toml("[genres.match]\nbored = [35]\n").is_err());
        assert!(Config::from_toml("[genres.loud]\nsad = [35]\n").is_err());
        assert!(Config::from_toml("[genres.match]\nsad = []\n").is_err());
        assert!(Config::from_toml("no_repeat_sessions = \"x\"").is_err());
    }

    #[test]
    fn genre_weights_follow_probabilities() {
        let c = Config::default();
        let mut p = [0.0; 7];
        p[Emotion::Sad.index()] = 0.7;
        p[Emotion::Happy.index()] = 0.3;
        let w = c.genre_weights(Strategy::Match, &p);
        assert!(w[&18] > w[&35]);
        assert!(w[&35] > 0.0);
    }
}
