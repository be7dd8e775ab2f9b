//! Spotify track tables with audio features (the layouts of `catalogs/spotify`: track_id/id,
//! track_name/name, track_artist/artist_name/artist, the seven features, genre, popularity and the
//! explicit flag where the table has them).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{field, for_each_row, open_table, parse_flag, ImportReport, Importer, Progress};
use crate::catalog::{fix_mojibake, Track};
use crate::error::Result;
use crate::mood::AudioFeatures;
use crate::store::Store;

/// `catalog import spotify-csv <file>`: any table with a track id, names and audio features.
#[derive(Debug, Clone)]
pub struct SpotifyCsv {
    pub file: PathBuf,
}

impl SpotifyCsv {
    pub fn new(file: impl AsRef<Path>) -> Self {
        SpotifyCsv {
            file: file.as_ref().to_path_buf(),
        }
    }
}

impl Importer for SpotifyCsv {
    fn name(&self) -> &'static str {
        "spotify-csv"
    }

    fn import(&self, store: &mut Store, progress: &mut dyn Progress) -> Result<ImportReport> {
        let file = self.file.as_path();
        let mut report = ImportReport::new(self.name());
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
}

fn is_spotify_id(s: &str) -> bool {
    s.len() == 22 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}
