//! FER-2013 Kaggle CSV loader (`emotion,pixels,Usage`, gzip or plain). Malformed rows are reported
//! with their line number, counted and skipped; the load fails when more than `max_bad_fraction`
//! of the rows are bad.

use crate::{Emotion, INPUT_SIZE};
use flate2::read::GzDecoder;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Official FER-2013 split of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Training,
    PublicTest,
    PrivateTest,
}

impl Split {
    fn parse(s: &str) -> Option<Split> {
        match s.trim() {
            "Training" => Some(Split::Training),
            "PublicTest" => Some(Split::PublicTest),
            "PrivateTest" => Some(Split::PrivateTest),
            _ => None,
        }
    }
}

/// Where a sample came from, so that row- or file-aligned tables (FER+ votes) can be joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// 0-based data row of the Kaggle CSV (header not counted).
    CsvRow(usize),
    /// Path relative to the folder layout's root, `/`-separated (`train/happy/Training_1206.jpg`).
    File(String),
    /// Anything else (generated data, tests).
    Other,
}

/// One 48x48 grayscale face with its label and split.
#[derive(Debug, Clone)]
pub struct Sample {
    pub pixels: Vec<u8>,
    /// The original FER-2013 label.
    pub label: Emotion,
    pub split: Split,
    pub origin: Origin,
    /// FER+ crowd votes, when attached (see [`crate::ferplus`]).
    pub crowd: Option<crate::ferplus::Crowd>,
}

/// A bad row: 1-based line number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
}

/// Errors of the CSV loader.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: missing header 'emotion,pixels,Usage'")]
    Header { path: String },
    #[error(
        "{path}: {bad} of {total} rows are malformed (first: line {first_line}: {first_reason})"
    )]
    TooManyBad {
        path: String,
        bad: usize,
        total: usize,
        first_line: usize,
        first_reason: String,
    },
}

/// Result of a load: good samples plus the rows that were skipped.
#[derive(Debug, Default)]
pub struct Loaded {
    pub samples: Vec<Sample>,
    pub bad: Vec<BadRow>,
}

fn parse_row(line: &str, row: usize) -> Result<Sample, String> {
    let mut parts = line.split(',');
    let (e, p, u) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(e), Some(p), Some(u), None) => (e, p, u),
        _ => return Err("expected 3 comma-separated fields".into()),
    };
    let label = e
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(Emotion::from_index)
        .ok_or_else(|| format!("emotion '{}' is not 0..6", e.trim()))?;
    let split = Split::parse(u).ok_or_else(|| format!("unknown Usage '{}'", u.trim()))?;
    let mut pixels = Vec::with_capacity(INPUT_SIZE * INPUT_SIZE);
    for tok in p.split_ascii_whitespace() {
        pixels.push(
            tok.parse::<u8>()
                .map_err(|_| format!("pixel '{tok}' is not 0..255"))?,
        );
    }
    if pixels.len() != INPUT_SIZE * INPUT_SIZE {
        return Err(format!(
            "{} pixels, expected {}",
            pixels.len(),
            INPUT_SIZE * INPUT_SIZE
        ));
    }
    Ok(Sample {
        pixels,
        label,
        split,
        origin: Origin::CsvRow(row),
        crowd: None,
    })
}

/// Parse CSV text from a reader. `name` is used in messages.
pub fn read_csv<R: Read>(reader: R, name: &str, max_bad_fraction: f64) -> Result<Loaded, CsvError> {
    let io = |source| CsvError::Io {
        path: name.to_string(),
        source,
    };
    // Lines are read as bytes: a row that is not UTF-8 is one bad row, not an unreadable file.
    let mut lines = BufReader::new(reader).split(b'\n');
    let header = lines.next().transpose().map_err(io)?.unwrap_or_default();
    let header = String::from_utf8_lossy(&header);
    if header.trim().trim_start_matches('\u{feff}') != "emotion,pixels,Usage" {
        return Err(CsvError::Header {
            path: name.to_string(),
        });
    }
    let mut out = Loaded::default();
    for (i, line) in lines.enumerate() {
        let mut line = line.map_err(io)?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let parsed = match std::str::from_utf8(&line) {
            Ok(l) if l.trim().is_empty() => continue,
            Ok(l) => parse_row(l, i),
            Err(_) => Err("not UTF-8 text".to_string()),
        };
        match parsed {
            Ok(s) => out.samples.push(s),
            Err(reason) => out.bad.push(BadRow {
                line: i + 2,
                reason,
            }),
        }
    }
    let total = out.samples.len() + out.bad.len();
    if let Some(first) = out.bad.first() {
        if total == 0 || out.bad.len() as f64 > max_bad_fraction * total as f64 {
            return Err(CsvError::TooManyBad {
                path: name.to_string(),
                bad: out.bad.len(),
                total,
                first_line: first.line,
                first_reason: first.reason.clone(),
            });
        }
    }
    Ok(out)
}

/// Load a Kaggle CSV file, gzip-compressed (`.gz`) or plain.
pub fn load_csv(path: &Path, max_bad_fraction: f64) -> Result<Loaded, CsvError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| CsvError::Io {
        path: name.clone(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        read_csv(GzDecoder::new(file), &name, max_bad_fraction)
    } else {
        read_csv(file, &name, max_bad_fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, n: usize, usage: &str) -> String {
        let px = vec!["7"; n].join(" ");
        format!("{label},{px},{usage}\n")
    }

    #[test]
    fn bad_rows_are_reported_and_skipped() {
        let mut text = String::from("emotion,pixels,Usage\n");
        for _ in 0..20 {
            text += &row("3", 2304, "Training");
        }
        text += &row("9", 2304, "Training"); // line 22: bad label
        text += &row("1", 100, "PublicTest"); // line 23: too few pixels
        let got = read_csv(text.as_bytes(), "t", 0.2).unwrap();
        assert_eq!(got.samples.len(), 20);
        assert_eq!(got.samples[0].pixels.len(), 2304);
        assert_eq!(got.samples[0].label, Emotion::Happy);
        let lines: Vec<_> = got.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [22, 23]);
        let err = read_csv(text.as_bytes(), "t", 0.05).unwrap_err();
        assert!(err.to_string().contains("2 of 22"), "{err}");
    }

    #[test]
    fn missing_header_is_an_error() {
        assert!(matches!(
            read_csv("1,2,3\n".as_bytes(), "t", 0.1),
            Err(CsvError::Header { .. })
        ));
    }

    /// Reads the shared FER-2013 copy; must fail (not skip) when it is missing.
    #[test]
    fn loads_the_real_kaggle_csv() {
        let path = std::env::var("MOODLENS_FER_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fer2013")
            })
            .join("fer2013.csv.gz");
        let got = load_csv(&path, 0.01).expect("FER-2013 CSV from ../shared/data must be present");
        assert_eq!(got.samples.len(), 35_887);
        assert!(got.bad.is_empty());
        let count = |s| got.samples.iter().filter(|x| x.split == s).count();
        assert_eq!(count(Split::Training), 28_709);
        assert_eq!(count(Split::PublicTest), 3_589);
        assert_eq!(count(Split::PrivateTest), 3_589);
        let disgust_train = got
            .samples
            .iter()
            .filter(|x| x.split == Split::Training && x.label == Emotion::Disgust)
            .count();
        assert_eq!(disgust_train, 436);
    }
}
