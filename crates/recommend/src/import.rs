//! Importers for catalogs users already have: MovieLens (movies.csv + links.csv + ratings.csv),
//! TMDb CSV exports (columns as in "Top 10000 popular movies"), and Spotify track tables with audio
//! features. Malformed rows are reported (file and line) and skipped, never a panic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use serde::Serialize;

use crate::catalog::{fix_mojibake, Film, Track};
use crate::config::{movielens_genre_id, tmdb_genre_id};
use crate::error::{RecommendError, Result};
use crate::mood::AudioFeatures;
use crate::store::Store;

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

/// Split a MovieLens title "Usual Suspects, The (1995)" into ("The Usual Suspects", Some(1995)).
pub fn split_movielens_title(raw: &str) -> (String, Option<i32>) {
    let t = raw.trim();
    let (mut title, year) = match t.rfind('(') {
        Some(i) if t.ends_with(')') => {
            let inner = &t[i + 1..t.len() - 1];
            match inner.parse::<i32>() {
                Ok(y) if (1870..=2100).contains(&y) && inner.len() == 4 => {
                    (t[..i].trim().to_string(), Some(y))
                }
                _ => (t.to_string(), None),
            }
        }
        _ => (t.to_string(), None),
    };
    for art in [
        "The", "A", "An", "Les", "La", "Le", "Il", "Das", "Der", "Die", "El",
    ] {
        let suffix = format!(", {art}");
        if title.ends_with(&suffix) {
            title = format!("{art} {}", &title[..title.len() - suffix.len()]);
            break;
        }
        // "Title, The (Alt title)"
        let mid = format!(", {art} (");
        if let Some(i) = title.find(&mid) {
            title = format!("{art} {}{}", &title[..i], &title[i + mid.len() - 2..]);
            break;
        }
    }
    (title, year)
}

/// `catalog import movielens <dir>`: movies.csv + links.csv (TMDb ids) + ratings.csv (mean rating
/// on a 0–10 scale and count).
pub fn import_movielens(
    dir: &Path,
    store: &mut Store,
    progress: &mut dyn Progress,
) -> Result<ImportReport> {
    let mut report = ImportReport::new("movielens");
    let movies = dir.join("movies.csv");
    let links = dir.join("links.csv");
    let ratings = dir.join("ratings.csv");

    // links: movieId -> tmdbId
    let mut tmdb: HashMap<String, u64> = HashMap::new();
    if links.exists() {
        let (mut rdr, _) = open_csv(&links)?;
        let cols = Columns::new(&rdr.headers().cloned().unwrap_or_default());
        let (mi, ti) = (
            cols.need(&links, &["movieid"])?,
            cols.need(&links, &["tmdbid"])?,
        );
        for rec in rdr.records() {
            let Ok(rec) = rec else { continue };
            if let Ok(id) = field(&rec, ti).parse::<u64>() {
                tmdb.insert(field(&rec, mi).to_string(), id);
            }
        }
    }
    // ratings: movieId -> (sum, count)
    let mut agg: HashMap<String, (f64, u64)> = HashMap::new();
    if ratings.exists() {
        let (mut rdr, len) = open_csv(&ratings)?;
        progress.start("ratings.csv", len);
        let cols = Columns::new(&rdr.headers().cloned().unwrap_or_default());
        let (mi, ri) = (
            cols.need(&ratings, &["movieid"])?,
            cols.need(&ratings, &["rating"])?,
        );
        for_each_row(
            &mut rdr,
            &ratings,
            &mut report,
            progress,
            4096,
            |rec, line, report| match field(rec, ri).parse::<f64>() {
                Ok(r) if (0.0..=5.0).contains(&r) => {
                    let e = agg.entry(field(rec, mi).to_string()).or_insert((0.0, 0));
                    e.0 += r;
                    e.1 += 1;
                }
                _ => report.reject(&ratings, line, "rating not a number in 0..5"),
            },
        );
    }
    let (mut rdr, cols) = open_table(&movies, progress, "movies.csv")?;
    let (mi, ti, gi) = (
        cols.need(&movies, &["movieid"])?,
        cols.need(&movies, &["title"])?,
        cols.need(&movies, &["genres"])?,
    );
    let mut films = Vec::new();
    for_each_row(
        &mut rdr,
        &movies,
        &mut report,
        progress,
        1,
        |rec, line, report| {
            let id = field(rec, mi);
            if id.is_empty() || id.parse::<u64>().is_err() {
                report.reject(&movies, line, "movieId missing or not a number");
                return;
            }
            let (title, year) = split_movielens_title(&fix_mojibake(field(rec, ti)));
            if title.is_empty() {
                report.reject(&movies, line, "empty title");
                return;
            }
            let mut genres = Vec::new();
            for g in field(rec, gi).split('|') {
                if let Some(id) = movielens_genre_id(g) {
                    if !genres.contains(&id) {
                        genres.push(id);
                    }
                }
            }
            let (rating, votes) = match agg.get(id) {
                Some((s, n)) if *n > 0 => (
                    Some((s / *n as f64 * 2.0 * 100.0).round() / 100.0),
                    Some(*n),
                ),
                _ => (None, None),
            };
            films.push(Film {
                title,
                year,
                genres,
                rating,
                votes,
                tmdb_id: tmdb.get(id).copied(),
                source: crate::catalog::Source::Movielens,
                adult: None,
            });
        },
    );
    report.imported = store.upsert_films(&films)?;
    Ok(report)
}

/// `catalog import tmdb-csv <file>`: id,title,genre (comma-separated names),…,release_date,
/// vote_average,vote_count.
pub fn import_tmdb_csv(
    file: &Path,
    store: &mut Store,
    progress: &mut dyn Progress,
) -> Result<ImportReport> {
    let mut report = ImportReport::new("tmdb-csv");
    let (mut rdr, cols) = open_table(file, progress, "tmdb csv")?;
    let idi = cols.need(file, &["id", "tmdb_id"])?;
    let ti = cols.need(file, &["title"])?;
    let gi = cols.need(file, &["genre", "genres"])?;
    let di = cols.find(&["release_date"]);
    let vi = cols.find(&["vote_average"]);
    let ci = cols.find(&["vote_count"]);
    let adi = cols.find(&["adult"]);
    let mut films = Vec::new();
    let mut seen = HashSet::new();
    for_each_row(
        &mut rdr,
        file,
        &mut report,
        progress,
        1,
        |rec, line, report| {
            let Ok(id) = field(rec, idi).parse::<u64>() else {
                report.reject(file, line, "id missing or not a number");
                return;
            };
            let title = fix_mojibake(field(rec, ti));
            if title.is_empty() {
                report.reject(file, line, "empty title");
                return;
            }
            if !seen.insert(id) {
                report.reject(file, line, "duplicate id");
                return;
            }
            let year = di
                .map(|i| field(rec, i))
                .and_then(|d| d.get(..4))
                .and_then(|y| y.parse::<i32>().ok());
            let rating = match vi.map(|i| field(rec, i)) {
                None | Some("") => None,
                Some(v) => match v.parse::<f64>() {
                    Ok(r) if (0.0..=10.0).contains(&r) => Some(r),
                    _ => {
                        report.reject(file, line, "vote_average not a number in 0..10");
                        return;
                    }
                },
            };
            let votes = ci.and_then(|i| field(rec, i).parse::<u64>().ok());
            let genres: Vec<u32> = field(rec, gi)
                .split(',')
                .filter_map(tmdb_genre_id)
                .collect();
            films.push(Film {
                title,
                year,
                genres,
                rating,
                votes,
                tmdb_id: Some(id),
                source: crate::catalog::Source::TmdbCsv,
                adult: adi.and_then(|i| parse_flag(field(rec, i))),
            });
        },
    );
    report.imported = store.upsert_films(&films)?;
    Ok(report)
}

/// A true/false column ("True", "false", "1", "0"); `None` when empty or unreadable.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" => Some(true),
        "false" | "0" | "no" | "f" => Some(false),
        _ => None,
    }
}

fn is_spotify_id(s: &str) -> bool {
    s.len() == 22 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `catalog import spotify-csv <file>`: any table with a track id, names and audio features (the
/// layouts of `catalogs/spotify`: track_id/id, track_name/name, track_artist/artist_name/artist).
pub fn import_spotify_csv(
    file: &Path,
    store: &mut Store,
    progress: &mut dyn Progress,
) -> Result<ImportReport> {
    let mut report = ImportReport::new("spotify-csv");
    let (mut rdr, cols) = open_table(file, progress, "spotify csv")?;
    let idi = cols.need(file, &["track_id", "id"])?;
    let ni = cols.need(file, &["track_name", "name"])?;
    let ai = cols.need(file, &["track_artist", "artist_name", "artist", "artists"])?;
    let gi = cols.find(&["playlist_genre", "genre", "artist_genres"]);
    let pi = cols.find(&["track_popularity", "popularity"]);
    let ei = cols.find(&["explicit"]);
    let mut fi = [0usize; 7];
    for (k, n) in AudioFeatures::NAMES.iter().enumerate() {
        fi[k] = cols.need(file, &[n])?;
    }
    let mut tracks = Vec::new();
    let mut seen = HashSet::new();
    for_each_row(
        &mut rdr,
        file,
        &mut report,
        progress,
        1,
        |rec, line, report| {
            let id = field(rec, idi);
            if !is_spotify_id(id) {
                report.reject(file, line, "track id is not a 22-character Spotify id");
                return;
            }
            let (name, artist) = (fix_mojibake(field(rec, ni)), fix_mojibake(field(rec, ai)));
            if name.is_empty() || artist.is_empty() {
                report.reject(file, line, "missing track or artist name");
                return;
            }
            let mut v = [0.0f64; 7];
            for k in 0..7 {
                match field(rec, fi[k]).parse::<f64>() {
                    Ok(x) if x.is_finite() => v[k] = x,
                    _ => {
                        let feature = AudioFeatures::NAMES[k];
                        report.reject(file, line, format!("{feature} is not a number"));
                        return;
                    }
                }
            }
            if v[..5].iter().any(|x| !(0.0..=1.0).contains(x)) {
                report.reject(file, line, "audio feature outside 0..1");
                return;
            }
            if !seen.insert(id.to_string()) {
                // the same track in several playlists: not an error, keep the first
                return;
            }
            let genre = gi
                .map(|i| field(rec, i))
                .map(|g| g.trim_matches(|c| c == '[' || c == ']'))
                .and_then(|g| g.split(',').next())
                .map(|g| fix_mojibake(g.trim().trim_matches('\'').trim_matches('"')))
                .filter(|g| !g.is_empty());
            let popularity = pi
                .and_then(|i| field(rec, i).parse::<f64>().ok())
                .filter(|p| p.is_finite())
                .map(|p| p.clamp(0.0, 100.0).round() as u32);
            tracks.push(Track {
                artist,
                title: name,
                spotify_id: Some(id.to_string()),
                genre,
                features: Some(AudioFeatures::from_array(v)),
                source: crate::catalog::Source::SpotifyCsv,
                popularity,
                explicit: ei.and_then(|i| parse_flag(field(rec, i))),
            });
        },
    );
    report.imported = store.upsert_tracks(&tracks)?;
    Ok(report)
}

pub use moodlens_common::shared_data_dir;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn movielens_titles_are_split_and_articles_moved() {
        assert_eq!(
            split_movielens_title("Usual Suspects, The (1995)"),
            ("The Usual Suspects".into(), Some(1995))
        );
        assert_eq!(
            split_movielens_title("Toy Story (1995)"),
            ("Toy Story".into(), Some(1995))
        );
        assert_eq!(
            split_movielens_title("Babylon 5"),
            ("Babylon 5".into(), None)
        );
        assert_eq!(
            split_movielens_title(
                "City of Lost Children, The (Cité des enfants perdus, La) (1995)"
            ),
            (
                "The City of Lost Children (Cité des enfants perdus, La)".into(),
                Some(1995)
            )
        );
    }

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
        let r = import_spotify_csv(&p, &mut s, &mut Quiet).unwrap();
        assert_eq!(r.imported, 2, "{}", r.summary());
        assert_eq!(r.rejected, 4, "{}", r.summary());
        assert_eq!(r.examples[0].line, 3);
        assert!(r.summary().contains("valence is not a number"));
        assert_eq!(s.catalog_counts().unwrap().1, 2);

        let p2 = dir.path().join("m.csv");
        std::fs::write(&p2, "id,title,genre,vote_average,vote_count,release_date\n1,,Drama,7,100,2000-01-01\nx,T,Drama,7,100,2000\n5,Ok,\"Drama,Nonsense\",7.5,300,1999-05-01\n6,Bad,Drama,99,1,2000\n").unwrap();
        let r = import_tmdb_csv(&p2, &mut s, &mut Quiet).unwrap();
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
        import_spotify_csv(&p3, &mut s3, &mut Quiet).unwrap();
        let mut ts = s3.tracks().unwrap();
        ts.sort_by_key(|t| t.title.clone());
        assert_eq!(ts[0].artist, "Beyoncé");
        assert_eq!((ts[0].popularity, ts[0].explicit), (Some(83), Some(false)));
        assert_eq!((ts[1].popularity, ts[1].explicit), (Some(12), Some(true)));
        std::fs::write(&p2, "id,title,genre,vote_average,vote_count,release_date,adult\n7,Am\u{c3}\u{a9}lie,Comedy,7.9,9000,2001-04-25,false\n8,Adult,Drama,7,900,2000-01-01,true\n").unwrap();
        let mut s4 = Store::open_in_memory().unwrap();
        import_tmdb_csv(&p2, &mut s4, &mut Quiet).unwrap();
        let mut fs = s4.films().unwrap();
        fs.sort_by_key(|f| f.tmdb_id);
        assert_eq!(fs[0].title, "Amélie");
        assert_eq!((fs[0].adult, fs[1].adult), (Some(false), Some(true)));
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("maybe"), None);
        // a file without the needed columns is an error, not a panic
        std::fs::write(&p2, "a,b\n1,2\n").unwrap();
        assert!(import_tmdb_csv(&p2, &mut s, &mut Quiet).is_err());
        assert!(import_tmdb_csv(&dir.path().join("missing.csv"), &mut s, &mut Quiet).is_err());
    }
}
