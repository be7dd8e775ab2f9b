//! moodlens-recommend: from a mood (an emotion label, or the seven probabilities of a session) to
//! movies and music.
//!
//! - [`mood`]: valence/arousal on Russell's circumplex, strategies (match, uplift, calm), and music
//!   placement from real audio features.
//! - [`catalog`]: the embedded, hand-curated catalog of real films and tracks.
//! - [`import`]: MovieLens, TMDb CSV and Spotify CSV importers into the local database.
//! - [`live`]: TMDb and Spotify clients (retries, 429, 401, on-disk cache) with offline fallback.
//! - [`store`]: SQLite history, feedback and imported catalogs.
//! - [`engine`]: ranking with feedback, no-repeat and seeded variety.
//! - [`cli`]: clap argument types and the functions behind `recommend`, `feedback`, `history`,
//!   `catalog import`, and the attribution text.
//!
//! Must not depend on the NN stack (moodlens-model) nor on vision/OpenCV: only moodlens-common.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod import;
pub mod live;
pub mod mood;
pub mod store;

pub use catalog::{Film, Track};
pub use config::Config;

pub use engine::{recommend, Live, Recommendations, Request};
pub use error::{RecommendError, Result};
pub use mood::{Mood, Strategy, Va};
pub use store::Store;
