//! moodlens-recommend: from a mood (an emotion label, or the seven probabilities of a session) to
//! movies and music.
//!
//! - [`mood`]: valence/arousal on Russell's circumplex, strategies (match, uplift, calm, comfort),
//!   and music placement and music moods from real audio features.
//! - [`config`]: genres, music mixes and rules (what must not appear) per strategy and emotion, the
//!   default strategy per emotion, the catalog floor.
//! - [`catalog`]: the embedded, hand-curated catalog of real films and tracks.
//! - [`import`]: MovieLens, TMDb CSV and Spotify CSV importers into the local database.
//! - [`live`]: TMDb and Spotify clients (retries, 429, 401, on-disk cache) with offline fallback.
//! - [`store`]: SQLite history, feedback and imported catalogs.
//! - [`engine`]: lists that keep the rules, for one person or a group (average or least misery),
//!   with reasons, feedback, stable lists within a session, shuffle and no-repeat across sessions.
//! - [`service`]: the [`Recommender`], built once (config, live clients, store) and shared by the
//!   CLI and the web app; an [`Ask`] per request.
//! - [`cli`]: clap argument types and the functions behind `recommend`, `feedback`, `history`,
//!   `catalog import`, and the attribution text.
//!
//! Must not depend on the NN stack (moodlens-model) nor on vision/OpenCV: only moodlens-common and
//! moodlens-session (the mood the recommender takes whole, [`mood::SessionMood`]).

pub mod catalog;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod import;
pub mod live;
pub mod mood;
pub mod service;
pub mod store;

pub use catalog::{Film, Track};
pub use config::Config;

pub use engine::{group_mood, recommend, Aggregation, Live, RecItem, Recommendations, Request};
pub use error::{RecommendError, Result};
pub use mood::{Mood, Strategy, Va};
pub use service::{Ask, Recommender};
pub use store::Store;

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
