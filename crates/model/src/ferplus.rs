//! FER+ crowd labels (Barsoum et al. 2016: 10 annotators per FER-2013 image), read from the
//! `ferplus_votes.csv` table that is aligned row by row to the Kaggle CSV and file by file to the
//! per-class folders (see `shared/data/ferplus/README.md`), and attached to loaded samples.
//!
//! Two things come out per image:
//! - the vote **distribution** over the seven emotions (contempt, unknown and not-a-face votes
//!   dropped), the training target of the FER+ paper's best protocol; images without votes, or
//!   whose most-voted column is unknown or not-a-face, get none (they are left out of the FER+
//!   part of training);
//! - the **majority** label for evaluation: the unique most-voted of all ten columns, kept only when
//!   it is one of the seven emotions (ties, contempt, unknown and not-a-face majorities are left
//!   out, as published FER+ results do).

use crate::fer_csv::{Origin, Sample};
use crate::{Emotion, NUM_EMOTIONS};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// FER+ vote columns in the table's order.
pub const COLUMNS: [&str; 10] = [
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
];

/// Our emotion for each of the first seven FER+ columns (FER+ orders them differently).
const COLUMN_EMOTION: [Emotion; 7] = [
    Emotion::Neutral,
    Emotion::Happy,
    Emotion::Surprise,
    Emotion::Sad,
    Emotion::Angry,
    Emotion::Disgust,
    Emotion::Fear,
];

/// The crowd's view of one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crowd {
    /// Normalised votes over the seven emotions in model order; `None` when the image is left out
    /// of FER+ training (no emotion votes, or a majority of unknown / not-a-face).
    pub distribution: Option<[f32; NUM_EMOTIONS]>,
    /// The unique majority label when it is one of the seven emotions.
    pub majority: Option<Emotion>,
}

impl Crowd {
    /// From the ten raw vote counts in [`COLUMNS`] order.
    pub fn from_votes(v: &[u8; 10]) -> Crowd {
        let max = *v.iter().max().unwrap_or(&0);
        let top: Vec<usize> = (0..10).filter(|&i| max > 0 && v[i] == max).collect();
        let majority = match top.as_slice() {
            [i] if *i < 7 => Some(COLUMN_EMOTION[*i]),
            _ => None,
        };
        let emotion_votes: u32 = v[..7].iter().map(|&x| x as u32).sum();
        // left out: nothing for the seven emotions, or unknown / not-a-face is (one of) the top
        let junk_top = max > 0 && (v[8] == max || v[9] == max);
        let distribution = (emotion_votes > 0 && !junk_top).then(|| {
            let mut d = [0f32; NUM_EMOTIONS];
            for (i, e) in COLUMN_EMOTION.iter().enumerate() {
                d[e.index()] = v[i] as f32 / emotion_votes as f32;
            }
            d
        });
        Crowd {
            distribution,
            majority,
        }
    }
}

/// The whole votes table, indexed by CSV data row and by folder file.
#[derive(Debug, Default)]
pub struct FerPlusVotes {
    by_row: Vec<Option<Crowd>>,
    by_file: HashMap<String, usize>,
}

/// Errors reading the votes table.
#[derive(Debug, thiserror::Error)]
pub enum FerPlusError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a FER+ votes table (expected the header row,usage,file,ferplus_name,neutral,...,NF)")]
    Header { path: String },
    #[error("{path}:{line}: {reason}")]
    Row {
        path: String,
        line: usize,
        reason: String,
    },
}

impl FerPlusVotes {
    /// Reads `ferplus_votes.csv`. Any malformed row is an error (the table is machine-made; a bad
    /// row means a wrong or damaged file, and silently dropping labels would bias training).
    pub fn load(path: &Path) -> Result<FerPlusVotes, FerPlusError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| FerPlusError::Io {
            path: name.clone(),
            source,
        })?;
        Self::read(BufReader::new(file), &name)
    }

    /// [`FerPlusVotes::load`] from any reader; `name` is used in messages.
    pub fn read(reader: impl BufRead, name: &str) -> Result<FerPlusVotes, FerPlusError> {
        let mut lines = reader.lines();
        let header = lines
            .next()
            .transpose()
            .map_err(|source| FerPlusError::Io {
                path: name.into(),
                source,
            })?
            .unwrap_or_default();
        let want = format!("row,usage,file,ferplus_name,{}", COLUMNS.join(","));
        if header.trim().trim_start_matches('\u{feff}') != want {
            return Err(FerPlusError::Header { path: name.into() });
        }
        let mut out = FerPlusVotes::default();
        for (i, line) in lines.enumerate() {
            let line = line.map_err(|source| FerPlusError::Io {
                path: name.into(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| FerPlusError::Row {
                path: name.into(),
                line: i + 2,
                reason,
            };
            let f: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
            if f.len() != 14 {
                return Err(bad(format!("{} fields, expected 14", f.len())));
            }
            let row: usize = f[0]
                .parse()
                .map_err(|_| bad(format!("row '{}' is not a number", f[0])))?;
            let crowd = if f[4..].iter().all(|v| v.is_empty()) {
                None
            } else {
                let mut v = [0u8; 10];
                for (k, s) in f[4..].iter().enumerate() {
                    v[k] = s
                        .parse()
                        .map_err(|_| bad(format!("vote '{s}' for {} is not 0..255", COLUMNS[k])))?;
                }
                Some(Crowd::from_votes(&v))
            };
            if out.by_row.len() <= row {
                out.by_row.resize(row + 1, None);
            }
            out.by_row[row] = crowd;
            out.by_file.insert(f[2].to_string(), row);
        }
        Ok(out)
    }

    /// Number of rows in the table.
    pub fn len(&self) -> usize {
        self.by_row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_row.is_empty()
    }

    /// The crowd's view of a sample, looked up by its CSV row or its folder file.
    pub fn lookup(&self, origin: &Origin) -> Option<Crowd> {
        let row = match origin {
            Origin::CsvRow(r) => *r,
            Origin::File(f) => *self.by_file.get(f.as_str())?,
            Origin::Other => return None,
        };
        self.by_row.get(row).copied().flatten()
    }

    /// Sets `crowd` on every sample the table knows; returns how many got one.
    pub fn attach(&self, samples: &mut [Sample]) -> usize {
        let mut n = 0;
        for s in samples.iter_mut() {
            s.crowd = self.lookup(&s.origin);
            n += s.crowd.is_some() as usize;
        }
        n
    }
}

/// Where the votes table is looked for when not given: `$MOODLENS_FERPLUS`, else
/// `ferplus/ferplus_votes.csv` beside the FER-2013 data (`<data>/../ferplus/` for the CSV file or
/// the folder tree, as in the shared data layout).
pub fn default_votes_path(fer_data: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOODLENS_FERPLUS") {
        return Some(PathBuf::from(p));
    }
    let dir = if fer_data.is_dir() {
        fer_data.to_path_buf()
    } else {
        fer_data.parent()?.to_path_buf()
    };
    let candidates = [
        dir.join("ferplus_votes.csv"),
        dir.join("../ferplus/ferplus_votes.csv"),
        dir.join("ferplus/ferplus_votes.csv"),
    ];
    candidates.into_iter().find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fer_csv::Split;

    #[test]
    fn majority_distribution_and_exclusions() {
        // 9 happiness, 1 unknown
        let c = Crowd::from_votes(&[0, 9, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(c.majority, Some(Emotion::Happy));
        let d = c.distribution.unwrap();
        assert_eq!(d[Emotion::Happy.index()], 1.0);
        // 8 neutral, 1 sad, 1 fear: model order
        let c = Crowd::from_votes(&[8, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
        let d = c.distribution.unwrap();
        assert!((d[Emotion::Neutral.index()] - 0.8).abs() < 1e-6);
        assert!((d[Emotion::Sad.index()] - 0.1).abs() < 1e-6);
        assert!((d[Emotion::Fear.index()] - 0.1).abs() < 1e-6);
        // tie: no majority, still a distribution
        let c = Crowd::from_votes(&[5, 0, 0, 5, 0, 0, 0, 0, 0, 0]);
        assert_eq!(c.majority, None);
        assert!(c.distribution.is_some());
        // contempt majority: no 7-class majority; its emotion votes still form a distribution
        let c = Crowd::from_votes(&[3, 0, 0, 0, 0, 0, 0, 6, 1, 0]);
        assert_eq!(c.majority, None);
        assert_eq!(c.distribution.unwrap()[Emotion::Neutral.index()], 1.0);
        // unknown / not-a-face majority: left out of both
        let c = Crowd::from_votes(&[2, 0, 0, 0, 0, 0, 0, 0, 6, 2]);
        assert_eq!((c.majority, c.distribution), (None, None));
        let c = Crowd::from_votes(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
        assert_eq!((c.majority, c.distribution), (None, None));
    }

    #[test]
    fn table_is_read_and_attached_by_row_and_by_file() {
        let text = "row,usage,file,ferplus_name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n\
0,Training,train/happy/Training_1.jpg,fer1.png,0,9,0,0,0,0,0,0,1,0\n\
1,Training,train/sad/Training_2.jpg,,,,,,,,,,,\n\
2,PublicTest,test/angry/PublicTest_3.jpg,fer3.png,1,0,0,0,7,2,0,0,0,0\n";
        let v = FerPlusVotes::read(text.as_bytes(), "t").unwrap();
        assert_eq!(v.len(), 3);
        let mk = |origin| Sample {
            pixels: vec![0; 48 * 48],
            label: Emotion::Happy,
            split: Split::Training,
            origin,
            crowd: None,
        };
        let mut s = vec![
            mk(Origin::CsvRow(0)),
            mk(Origin::CsvRow(1)),
            mk(Origin::File("test/angry/PublicTest_3.jpg".into())),
            mk(Origin::File("nope.jpg".into())),
            mk(Origin::Other),
        ];
        assert_eq!(v.attach(&mut s), 2);
        assert_eq!(s[0].crowd.unwrap().majority, Some(Emotion::Happy));
        assert!(s[1].crowd.is_none());
        assert_eq!(s[2].crowd.unwrap().majority, Some(Emotion::Angry));
        assert!(s[3].crowd.is_none() && s[4].crowd.is_none());
    }

    #[test]
    fn malformed_tables_are_errors() {
        assert!(matches!(
            FerPlusVotes::read("a,b\n".as_bytes(), "t"),
            Err(FerPlusError::Header { .. })
        ));
        let text = "row,usage,file,ferplus_name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n\
0,Training,x.jpg,f.png,0,nine,0,0,0,0,0,0,1,0\n";
        let e = FerPlusVotes::read(text.as_bytes(), "t").unwrap_err();
        assert!(e.to_string().contains("t:2"), "{e}");
    }

    #[test]
    fn the_shared_table_matches_its_readme() {
        let dir = moodlens_common::require_shared_data(&["ferplus/ferplus_votes.csv"]);
        let v = FerPlusVotes::load(&dir.join("ferplus/ferplus_votes.csv")).unwrap();
        assert_eq!(v.len(), 35_887);
        let known = (0..v.len())
            .filter(|&r| v.lookup(&Origin::CsvRow(r)).is_some())
            .count();
        assert_eq!(known, 35_887 - 177);
        assert_eq!(
            v.lookup(&Origin::File("train/happy/Training_1206.jpg".into()))
                .unwrap()
                .majority,
            Some(Emotion::Happy)
        );
    }
}
