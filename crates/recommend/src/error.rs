//! Typed errors of the recommend crate.

use std::path::PathBuf;

/// Everything that can go wrong in moodlens-recommend.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    #[error("invalid mood: {0}")]
    InvalidMood(String),
    #[error("invalid strategy: {0}")]
    InvalidStrategy(String),
    #[error(
        "no mood chosen (end of input at the prompt): pass --mood <emotion> or choose a number"
    )]
    NoMoodChosen,
    #[error("nothing to plot: the history has no sessions yet (run `moodlens recommend` or `moodlens live` first)")]
    EmptyHistory,
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{path}: {msg}")]
    Import { path: PathBuf, msg: String },
    #[error("{service}: unauthorized (HTTP 401) — check your key ({hint})")]
    Unauthorized {
        service: &'static str,
        hint: &'static str,
    },
    #[error("{service}: {msg}")]
    Http { service: &'static str, msg: String },
    #[error("{service}: unexpected response: {msg}")]
    Parse { service: &'static str, msg: String },
    #[error("{0}")]
    NotFound(String),
    #[error("export: {0}")]
    Export(String),
}

impl RecommendError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RecommendError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = RecommendError> = std::result::Result<T, E>;

impl From<moodlens_session::mood::MoodError> for RecommendError {
    fn from(e: moodlens_session::mood::MoodError) -> Self {
        RecommendError::InvalidMood(e.0)
    }
}
