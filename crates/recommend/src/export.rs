//! The mood history as a file: JSON (the entries of `history --json`) or CSV, for `history
//! --export` and the web app's export button.

use crate::error::{RecommendError, Result};
use moodlens_common::Emotion;
use std::path::Path;

/// Which export format a file name asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

impl ExportFormat {
    /// From a file's extension (.json or .csv).
    pub fn of_path(path: &Path) -> Result<ExportFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Ok(ExportFormat::Json),
            Some("csv") => Ok(ExportFormat::Csv),
            _ => Err(RecommendError::Export(format!(
                "export to a .json or .csv file (got {})",
                path.display()
            ))),
        }
    }
}

/// The history as bytes in `format`: JSON (the entries of `history --json`) or CSV (one row per
/// entry: id, unix time, UTC time, source, mood, strategy, valence, arousal, the seven
/// probabilities, then what was recommended, titles joined by " | ").
pub fn history_bytes(
    entries: &[crate::store::RequestRecord],
    format: ExportFormat,
) -> Result<Vec<u8>> {
    match format {
        ExportFormat::Json => {
            let mut v = serde_json::to_vec_pretty(entries)
                .map_err(|e| RecommendError::Export(e.to_string()))?;
            v.push(b'\n');
            Ok(v)
        }
        ExportFormat::Csv => {
            let csv_err = |e: csv::Error| RecommendError::Export(e.to_string());
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header: Vec<String> = [
                "id", "time", "time_utc", "source", "mood", "strategy", "valence", "arousal",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            header.extend(Emotion::ALL.iter().map(|e| format!("p_{}", e.label())));
            header.push("recommended".into());
            w.write_record(&header).map_err(csv_err)?;
            for s in entries {
                let mut row = vec![
                    s.id.to_string(),
                    s.time.to_string(),
                    s.time_utc.clone(),
                    s.source.clone(),
                    s.mood.label().to_string(),
                    s.strategy.clone(),
                    format!("{:.4}", s.valence),
                    format!("{:.4}", s.arousal),
                ];
                row.extend(
                    (0..Emotion::ALL.len())
                        .map(|i| format!("{:.4}", s.probabilities.get(i).copied().unwrap_or(0.0))),
                );
                row.push(
                    s.items
                        .iter()
                        .map(|i| i.title.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                );
                w.write_record(&row).map_err(csv_err)?;
            }
            w.into_inner()
                .map_err(|e| RecommendError::Export(e.to_string()))
        }
    }
}

/// Writes the history to `path` (.json or .csv, see [`history_bytes`]).
pub fn export_history(entries: &[crate::store::RequestRecord], path: &Path) -> Result<()> {
    let bytes = history_bytes(entries, ExportFormat::of_path(path)?)?;
    std::fs::write(path, bytes).map_err(|e| RecommendError::io(path, e))
}
