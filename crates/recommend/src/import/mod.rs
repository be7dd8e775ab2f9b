//! Importers for catalogs users already have, one file each behind the [`Importer`] trait:
//! [`MovieLens`] (movies.csv + links.csv + ratings.csv), [`TmdbCsv`] (TMDb CSV exports, columns as
//! in "Top 10000 popular movies") and [`SpotifyCsv`] (Spotify track tables with audio features).
//! They share the reading rules here: malformed rows are reported (file and line) and skipped,
//! never a panic; a missing file or column is an error.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;

use serde::Serialize;

use crate::error::{RecommendError, Result};
use crate::store::Store;

mod movielens;
mod spotify_csv;
mod tmdb_csv;

pub use movielens::{split_movielens_title, MovieLens};
pub use spotify_csv::SpotifyCsv;
pub use tmdb_csv::TmdbCsv;

/// A catalog source that `catalog import` reads into the database.
pub trait Importer {
    /// The source's name, as `catalog import` and the report spell it.
    fn name(&self) -> &'static str;
    /// Read the source into `store` (films or tracks upserted by key); rows that cannot be read
    /// are counted and listed in the report, a missing file or column is an error.
    fn import(&self, store: &mut Store, progress: &mut dyn Progress) -> Result<ImportReport>;
}

/// At most this many rejected rows are listed one by one (all are counted).
pub const MAX_LISTED_REJECTS: usize = 50;

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub source: String,
    pub imported: usize,
    pub rejected: usize,
    /// Rejected count per reason.
    pub reasons: BTreeMap<String, usize>,
    /// The first [`MAX_LISTED_REJECTS`] rejected rows.
    pub examples: Vec<Rejected>,
}

impl ImportReport {
    fn new(source: &str) -> Self {
        ImportReport {
            source: source.into(),
            ..Default::default()
        }
    }

    fn reject(&mut self, file: &Path, line: u64, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::debug!(file = %file.display(), line, %reason, "row rejected");
        self.rejected += 1;
        *self.reasons.entry(reason.clone()).or_insert(0) += 1;
        if self.examples.len() < MAX_LISTED_REJECTS {
            self.examples.push(Rejected {
                file: file.display().to_string(),
                line,
                reason,
            });
        }
    }

    /// Human summary: counts and the reasons.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} imported, {} rejected",
            self.source, self.imported, self.rejected
        );
        for (r, n) in &self.reasons {
            s.push_str(&format!("\n  {n} × {r}"));
        }
        for ex in self.examples.iter().take(10) {
            s.push_str(&format!("\n  e.g. {}:{}: {}", ex.file, ex.line, ex.reason));
        }
        s
    }
}

fn open_csv(path: &Path) -> Result<(csv::Reader<File>, u64)> {
    let f = File::open(path).map_err(|e| RecommendError::io(path, e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let rdr = csv::ReaderBuilder::new().flexible(true).from_reader(f);
    Ok((rdr, len))
}

/// How far an import got, file by file (the `catalog import` command draws a progress bar;
/// [`Quiet`] ignores it).
pub trait Progress {
    /// Reading `name` (`total_bytes` long) starts.
    fn start(&mut self, name: &str, total_bytes: u64);
    /// `bytes` of the current file are read.
    fn at(&mut self, bytes: u64);
    /// The current file is done.
    fn done(&mut self);
}

/// No progress reports.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _name: &str, _total_bytes: u64) {}
    fn at(&mut self, _bytes: u64) {}
    fn done(&mut self) {}
}

/// Open a CSV table whose header row must be readable: the reader and its columns; `progress`
/// hears that the file starts.
fn open_table(
    path: &Path,
    progress: &mut dyn Progress,
    name: &str,
) -> Result<(csv::Reader<File>, Columns)> {
    let (mut rdr, len) = open_csv(path)?;
    progress.start(name, len);
    let headers = rdr.headers().cloned().map_err(|e| RecommendError::Import {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    Ok((rdr, Columns::new(&headers)))
}

/// Column indices by (case-insensitive) name; the first candidate present wins.
struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(headers: &csv::StringRecord) -> Self {
        Columns(
            headers
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    (
                        h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                        i,
                    )
                })
                .collect(),
        )
    }
    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.0.get(*n).copied())
    }
    fn need(&self, path: &Path, names: &[&str]) -> Result<usize> {
        self.find(names).ok_or_else(|| RecommendError::Import {
            path: path.to_path_buf(),
            msg: format!("missing column {}", names.join(" or ")),
        })
    }
}

fn field(rec: &csv::StringRecord, i: usize) -> &str {
    rec.get(i).map(str::trim).unwrap_or("")
}

/// Hand every readable row of `rdr` and its line number to `row`. An unreadable row is rejected
/// ("unreadable row") and skipped; an I/O error ends the file. The progress bar follows the byte
/// position (to `progress`) every `progress_every` lines.
fn for_each_row(
    rdr: &mut csv::Reader<File>,
    path: &Path,
    report: &mut ImportReport,
    progress: &mut dyn Progress,
    progress_every: u64,
    mut row: impl FnMut(&csv::StringRecord, u64, &mut ImportReport),
) {
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                if line.is_multiple_of(progress_every) {
                    progress.at(rec.position().map(|p| p.byte()).unwrap_or(0));
                }
                row(&rec, line, report);
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                report.reject(path, line, "unreadable row");
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    progress.done();
}

/// A true/false column ("True", "false", "1", "0"); `None` when empty or unreadable.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" => Some(true),
        "false" | "0" | "no" | "f" => Some(false),
        _ => None,
    }
}

pub use moodlens_common::shared_data_dir;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn malformed_rows_are_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let mut f = File::create(&p).unwrap();
        writeln!(f, "track_id,track_name,track_artist,valence,energy,danceability,acousticness,instrumentalness,loudness,tempo,playlist_genre").unwrap();
        writeln!(
            f,
            "2plbrEY59IikOBgBGLjaoe,Die With A Smile,Lady Gaga,0.5,0.6,0.5,0.3,0,-7.7,158,pop"
        )
        .unwrap();
        writeln!(f, "short,Bad Id,X,0.5,0.6,0.5,0.3,0,-7.7,158,pop").unwrap();
        writeln!(
            f,
            "3AJwUDP919kvQ9QcozQPxg,Yellow,Coldplay,abc,0.6,0.5,0.3,0,-7.7,158,rock"
        )
        .unwrap();
        writeln!(f, "3AJwUDP919kvQ9QcozQPxh,Too Few").unwrap();
        f.write_all(b"3AJwUDP919kvQ9QcozQPxi,Bad \xff utf8,X,0.5,0.6,0.5,0.3,0,-7.7,158,pop\n")
            .unwrap();
        writeln!(f, "5e6x5YRnMJIKvYpZxLqdpH,Fortunate Son,Creedence Clearwater Revival,0.43,0.75,0.64,0.06,0.29,-3.8,132,rock").unwrap();
        drop(f);
        let mut s = Store::open_in_memory().unwrap();
        let r = SpotifyCsv::new(&p).import(&mut s, &mut Quiet).unwrap();
        assert_eq!(r.imported, 2, "{}", r.summary());
        assert_eq!(r.rejected, 4, "{}", r.summary());
        assert_eq!(r.examples[0].line, 3);
        assert!(r.summary().contains("valence is not a number"));
        assert_eq!(s.catalog_counts().unwrap().1, 2);

        let p2 = dir.path().join("m.csv");
        std::fs::write(&p2, "id,title,genre,vote_average,vote_count,release_date\n1,,Drama,7,100,2000-01-01\nx,T,Drama,7,100,2000\n5,Ok,\"Drama,Nonsense\",7.5,300,1999-05-01\n6,Bad,Drama,99,1,2000\n").unwrap();
        let r = TmdbCsv::new(&p2).import(&mut s, &mut Quiet).unwrap();
        assert_eq!((r.imported, r.rejected), (1, 3), "{}", r.summary());
        let films = s.films().unwrap();
        assert_eq!(films[0].genres, vec![18]);
        assert_eq!(films[0].year, Some(1999));
        // flags and popularity where the table has them; text repaired
        let p3 = dir.path().join("flags.csv");
        std::fs::write(&p3, "track_id,track_name,track_artist,valence,energy,danceability,acousticness,instrumentalness,loudness,tempo,track_popularity,explicit\n\
            2plbrEY59IikOBgBGLjaoe,Halo,BeyoncÃ©,0.5,0.6,0.5,0.3,0,-7.7,158,83,False\n\
            3AJwUDP919kvQ9QcozQPxg,X,Y,0.5,0.6,0.5,0.3,0,-7.7,158,12,True\n").unwrap();
        let mut s3 = Store::open_in_memory().unwrap();
        SpotifyCsv::new(&p3).import(&mut s3, &mut Quiet).unwrap();
        let mut ts = s3.tracks().unwrap();
        ts.sort_by_key(|t| t.title.clone());
        assert_eq!(ts[0].artist, "Beyoncé");
        assert_eq!((ts[0].popularity, ts[0].explicit), (Some(83), Some(false)));
        assert_eq!((ts[1].popularity, ts[1].explicit), (Some(12), Some(true)));
        std::fs::write(&p2, "id,title,genre,vote_average,vote_count,release_date,adult\n7,Am\u{c3}\u{a9}lie,Comedy,7.9,9000,2001-04-25,false\n8,Adult,Drama,7,900,2000-01-01,true\n").unwrap();
        let mut s4 = Store::open_in_memory().unwrap();
        TmdbCsv::new(&p2).import(&mut s4, &mut Quiet).unwrap();
        let mut fs = s4.films().unwrap();
        fs.sort_by_key(|f| f.tmdb_id);
        assert_eq!(fs[0].title, "Amélie");
        assert_eq!((fs[0].adult, fs[1].adult), (Some(false), Some(true)));
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("maybe"), None);
        // a file without the needed columns is an error, not a panic
        std::fs::write(&p2, "a,b\n1,2\n").unwrap();
        assert!(TmdbCsv::new(&p2).import(&mut s, &mut Quiet).is_err());
        assert!(TmdbCsv::new(dir.path().join("missing.csv"))
            .import(&mut s, &mut Quiet)
            .is_err());
    }
}
