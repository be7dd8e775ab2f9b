//! moodlens-recommend: from a mood (an emotion label, or the seven probabilities of a session) to
//! movies and music.
//!
//! - [`mood`]: valence/arousal on Russell's circumplex, strategies (match, uplift, calm, comfort),
//!   and music placement and music moods from real audio features.
//! - [`config`]: genres, music mixes and rules (what must not appear) per strategy and emotion, the
//!   default strategy per emotion, the catalog floor.
//! - [`catalog`]: the embedded, hand-curated catalog of real films and tracks.
//! - [`import`]: MovieLens, TMDb CSV and Spotify CSV importers into the local database.
//! - [`online`]: TMDb and Spotify clients (retries, 429, 401, on-disk cache) with offline fallback.
//! - [`store`]: SQLite history, feedback and imported catalogs.
//! - [`engine`]: lists that keep the rules, for one person or a group (average or least misery),
//!   with reasons, feedback, stable lists within a session, shuffle and no-repeat across sessions.
//! - [`service`]: the [`Recommender`], built once from a [`ServiceConfig`] (config, online clients,
//!   store) and shared by the CLI and the web app; an [`Ask`] per request.
//! - [`export`]: the history as a JSON or CSV file.
//! - [`ATTRIBUTION`]: the data sources' credits.
//!
//! It parses no flags and prints nothing: the `moodlens` binary owns the commands and their output.
//!
//! Must not depend on the NN stack (moodlens-model) nor on vision/OpenCV: only moodlens-common and
//! moodlens-session (the mood the recommender takes whole, [`mood::SessionMood`]).

pub mod catalog;
pub mod config;
pub mod engine;
pub mod error;
pub mod export;
pub mod import;
pub mod mood;
pub mod online;
pub mod service;
pub mod store;

pub use catalog::{Film, Source, Track};
pub use config::Config;

pub use engine::{
    group_mood, recommend, Aggregation, ItemKind, Live, RecItem, Recommendations, Request,
};
pub use error::{RecommendError, Result};
pub use mood::{Mood, Strategy, Va};
pub use service::{Ask, Recommender, ServiceConfig};
pub use store::Store;

/// Attribution for every data source, as their terms require (`moodlens --about`, the README).
pub const ATTRIBUTION: &str = concat!(
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
);

#[cfg(test)]
mod boundary {
    /// The recommender must not depend on the NN stack or on vision/OpenCV.
    #[test]
    fn no_nn_or_vision_dependency() {
        let manifest = include_str!("../Cargo.toml");
        let lock = include_str!("../../../Cargo.lock");
        for banned in [
            "moodlens-model",
            "moodlens-vision",
            "burn",
            "opencv",
            "candle",
            "tch",
        ] {
            for line in manifest.lines() {
                let name = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
                assert_ne!(name, banned, "crates/recommend depends on {banned}");
            }
        }
        // and through moodlens-common: its entry in Cargo.lock lists only serde
        let common = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"moodlens-common\""))
            .expect("moodlens-common in Cargo.lock");
        assert!(!common.contains("moodlens-model") && !common.contains("burn"));
    }
}
