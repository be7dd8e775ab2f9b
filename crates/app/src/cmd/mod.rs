//! Every `moodlens` command, one file each, with its options (clap) and its output (text, JSON,
//! CSV, plots); the libraries do the work. [`args`] holds the option groups several commands
//! share.

pub mod args;
pub mod bench;
pub mod catalog;
pub mod detect;
pub mod eval;
pub mod export;
pub mod feedback;
pub mod history;
pub mod live;
pub mod recommend;
pub mod serve;
pub mod train;
pub mod tune_crop;

/// A serialisable value with `"recommendations"` added (`null` when none were made).
pub fn with_recommendations(
    value: impl serde::Serialize,
    rec: Option<&moodlens_recommend::Recommendations>,
) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(value)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("recommendations".into(), serde_json::to_value(rec)?);
    }
    Ok(v)
}
#[cfg(test)]
mod recommend_tests;
