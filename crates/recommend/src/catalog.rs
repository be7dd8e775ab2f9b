//! Catalog items (films, tracks) and the embedded, hand-curated default catalog.
//!
//! The embedded catalog (`data/films.csv`, `data/tracks.csv`) is a curated selection of real items:
//! every film and track is checked against the shared reference tables by a test (nothing invented),
//! and entries carry TMDb / Spotify ids only where those tables confirm them.

use serde::{Deserialize, Serialize};

use crate::config::tmdb_genre_name;
use crate::mood::AudioFeatures;

const FILMS_CSV: &str = include_str!("../data/films.csv");
const TRACKS_CSV: &str = include_str!("../data/tracks.csv");

/// A film.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Film {
    pub title: String,
    pub year: Option<i32>,
    /// TMDb genre ids.
    pub genres: Vec<u32>,
    /// Rating on a 0–10 scale.
    pub rating: Option<f64>,
    /// Number of votes behind the rating, when known.
    pub votes: Option<u64>,
    /// Verified TMDb id.
    pub tmdb_id: Option<u64>,
    /// Where the film comes from: "embedded", "movielens", "tmdb-csv", "tmdb-live".
    pub source: String,
}

impl Film {
    /// Stable key for history and feedback.
    pub fn key(&self) -> String {
        match self.tmdb_id {
            Some(id) => format!("movie:tmdb:{id}"),
            None => format!(
                "movie:{}:{}",
                normalize_title(&self.title),
                self.year.map(|y| y.to_string()).unwrap_or_default()
            ),
        }
    }

    /// The item itself when its id is verified, a search otherwise.
    pub fn link(&self) -> String {
        match self.tmdb_id {
            Some(id) => format!("https://www.themoviedb.org/movie/{id}"),
            None => {
                let q = match self.year {
                    Some(y) => format!("{} y:{y}", self.title),
                    None => self.title.clone(),
                };
                format!(
                    "https://www.themoviedb.org/search/movie?query={}",
                    url_encode(&q)
                )
            }
        }
    }

    pub fn genre_names(&self) -> Vec<&'static str> {
        self.genres
            .iter()
            .filter_map(|g| tmdb_genre_name(*g))
            .collect()
    }
}

/// A music track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub artist: String,
    pub title: String,
    /// Verified Spotify track id (22 characters).
    pub spotify_id: Option<String>,
    /// Genre tag (e.g. the playlist genre of the source table).
    pub genre: Option<String>,
    /// Real audio features, when the catalog has them.
    pub features: Option<AudioFeatures>,
    pub source: String,
}

impl Track {
    pub fn key(&self) -> String {
        match &self.spotify_id {
            Some(id) => format!("track:spotify:{id}"),
            None => format!(
                "track:{}:{}",
                normalize_title(&self.artist),
                normalize_title(&self.title)
            ),
        }
    }

    pub fn link(&self) -> String {
        match &self.spotify_id {
            Some(id) => format!("https://open.spotify.com/track/{id}"),
            None => format!(
                "https://open.spotify.com/search/{}",
                url_encode(&format!("{} {}", self.artist, self.title))
            ),
        }
    }
}

/// Lower-case, alphanumerics only, single spaces: for matching titles and artists across tables.
pub fn normalize_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else if c == '&' {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("and");
            space = true;
        } else {
            space = true;
        }
    }
    out
}

/// Percent-encoding for a URL query or path segment.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(Deserialize)]
struct FilmRow {
    title: String,
    year: i32,
    tmdb_genres: String,
    rating: f64,
    #[allow(dead_code)]
    rating_source: String,
    tmdb_id: Option<u64>,
}

#[derive(Deserialize)]
struct TrackRow {
    artist: String,
    title: String,
    spotify_id: Option<String>,
    genre: Option<String>,
    valence: f64,
    energy: f64,
    danceability: f64,
    acousticness: f64,
    instrumentalness: f64,
    loudness: f64,
    tempo: f64,
}

/// The embedded films. Rows are validated by tests, so parsing cannot fail at run time; a bad row
/// would be skipped, never a panic.
pub fn embedded_films() -> Vec<Film> {
    let mut rdr = csv::Reader::from_reader(FILMS_CSV.as_bytes());
    rdr.deserialize::<FilmRow>()
        .filter_map(|r| r.ok())
        .map(|r| Film {
            title: r.title,
            year: Some(r.year),
            genres: r
                .tmdb_genres
                .split('|')
                .filter_map(|g| g.trim().parse().ok())
                .collect(),
            rating: Some(r.rating),
            votes: None,
            tmdb_id: r.tmdb_id,
            source: "embedded".into(),
        })
        .collect()
}

/// The embedded tracks, with their real audio features.
pub fn embedded_tracks() -> Vec<Track> {
    let mut rdr = csv::Reader::from_reader(TRACKS_CSV.as_bytes());
    rdr.deserialize::<TrackRow>()
        .filter_map(|r| r.ok())
        .map(|r| Track {
            artist: r.artist,
            title: r.title,
            spotify_id: r.spotify_id.filter(|s| !s.is_empty()),
            genre: r.genre.filter(|s| !s.is_empty()),
            features: Some(AudioFeatures {
                valence: r.valence,
                energy: r.energy,
                danceability: r.danceability,
                acousticness: r.acousticness,
                instrumentalness: r.instrumentalness,
                loudness: r.loudness,
                tempo: r.tempo,
            }),
            source: "embedded".into(),
        })
        .collect()
}

/// Number of data rows in the embedded CSVs (films, tracks): to check that none was dropped.
pub fn embedded_row_counts() -> (usize, usize) {
    (
        FILMS_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count(),
        TRACKS_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mood::MusicMood;
    use std::collections::BTreeSet;

    #[test]
    fn embedded_catalog_parses_whole_and_covers_every_genre_and_mood() {
        let films = embedded_films();
        let tracks = embedded_tracks();
        let (nf, nt) = embedded_row_counts();
        assert_eq!(films.len(), nf, "a film row failed to parse");
        assert_eq!(tracks.len(), nt, "a track row failed to parse");
        assert!(films.len() >= 200 && tracks.len() >= 200);
        let genres: BTreeSet<u32> = films.iter().flat_map(|f| f.genres.clone()).collect();
        for id in [
            28, 12, 16, 35, 80, 99, 18, 10751, 14, 36, 27, 10402, 9648, 10749, 878, 10770, 53,
            10752, 37,
        ] {
            assert!(genres.contains(&id), "no film of genre {id}");
        }
        for m in MusicMood::ALL {
            let n = tracks
                .iter()
                .filter(|t| t.features.map(|f| f.music_mood()) == Some(m))
                .count();
            assert!(n >= 30, "{m:?}: {n}");
        }
        let keys: BTreeSet<_> = films.iter().map(Film::key).collect();
        assert_eq!(keys.len(), films.len(), "duplicate film");
        let keys: BTreeSet<_> = tracks.iter().map(Track::key).collect();
        assert_eq!(keys.len(), tracks.len(), "duplicate track");
    }

    #[test]
    fn links_point_to_item_or_search() {
        let mut f = Film {
            title: "Amélie".into(),
            year: Some(2001),
            genres: vec![35],
            rating: Some(7.9),
            votes: None,
            tmdb_id: Some(194),
            source: "embedded".into(),
        };
        assert_eq!(f.link(), "https://www.themoviedb.org/movie/194");
        f.tmdb_id = None;
        assert!(f
            .link()
            .starts_with("https://www.themoviedb.org/search/movie?query=Am%C3%A9lie"));
        assert_eq!(
            normalize_title("The Lord of the Rings: The Return"),
            "the lord of the rings the return"
        );
        assert_eq!(normalize_title("Simon & Garfunkel"), "simon and garfunkel");
    }
}
