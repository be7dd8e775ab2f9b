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

/// Where a catalog entry, and an item recommended from it, comes from. JSON and the database
/// spell it in kebab case ("embedded", "tmdb-live", ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The curated catalog embedded in the binary.
    Embedded,
    /// Imported from a MovieLens folder.
    Movielens,
    /// Imported from a TMDb CSV export.
    TmdbCsv,
    /// Imported from a Spotify track table.
    SpotifyCsv,
    /// Found by the live TMDb discover API.
    TmdbLive,
    /// Found by the live Spotify search API.
    SpotifyLive,
    /// A search link (no verified id).
    Search,
}

impl Source {
    pub const ALL: [Source; 7] = [
        Source::Embedded,
        Source::Movielens,
        Source::TmdbCsv,
        Source::SpotifyCsv,
        Source::TmdbLive,
        Source::SpotifyLive,
        Source::Search,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Embedded => "embedded",
            Source::Movielens => "movielens",
            Source::TmdbCsv => "tmdb-csv",
            Source::SpotifyCsv => "spotify-csv",
            Source::TmdbLive => "tmdb-live",
            Source::SpotifyLive => "spotify-live",
            Source::Search => "search",
        }
    }

    /// Which of two entries for the same film or song stands for it: the curated one, then live
    /// answers, then imported tables.
    pub fn rank(self) -> u8 {
        match self {
            Source::Embedded => 0,
            Source::TmdbLive | Source::SpotifyLive => 1,
            Source::TmdbCsv | Source::SpotifyCsv => 2,
            Source::Movielens | Source::Search => 3,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Source::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown catalog source '{s}'"))
    }
}

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
    /// Where the film comes from (embedded, movielens, tmdb-csv, tmdb-live).
    pub source: Source,
    /// TMDb's `adult` flag, where the source has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adult: Option<bool>,
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

    /// Identity across catalogs: normalised title and year (one entry per film when the same
    /// film comes from several tables with different keys).
    pub fn title_key(&self) -> String {
        format!(
            "{}:{}",
            normalize_title(&self.title),
            self.year.map(|y| y.to_string()).unwrap_or_default()
        )
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
    /// Where the track comes from (embedded, spotify-csv, spotify-live).
    pub source: Source,
    /// Spotify popularity (0–100), where the source has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<u32>,
    /// Spotify's `explicit` flag, where the source has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit: Option<bool>,
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

    /// Identity across tables: the first credited artist and the title without version suffixes
    /// ("- Remastered 2011", "(feat. …)", "[Live]"), both normalised. The same song under several
    /// Spotify ids (album, single, remaster) is one entry.
    pub fn song_key(&self) -> String {
        let artist = self.artist.split([',', '&']).next().unwrap_or(&self.artist);
        let artist = artist.split(" feat").next().unwrap_or(artist);
        let mut title = self.title.as_str();
        for cut in [" - ", " (", " [", " – "] {
            if let Some(i) = title.find(cut) {
                if i > 0 {
                    title = &title[..i];
                }
            }
        }
        format!("{}:{}", normalize_title(artist), normalize_title(title))
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

/// cp1252's characters for the bytes 0x80–0x9F (0 where the code page leaves a byte undefined:
/// decoders then pass the byte through as the Latin-1 control character U+0080–U+009F).
const CP1252_HIGH: [u32; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// The byte a character stands for when UTF-8 text was decoded as cp1252/Latin-1: U+0000–U+00FF
/// are themselves, cp1252's extra characters their byte.
fn latin1_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if u <= 0xFF {
        return Some(u as u8);
    }
    CP1252_HIGH
        .iter()
        .position(|&x| x == u)
        .map(|i| 0x80 + i as u8)
}

/// Repair text that was UTF-8, decoded as cp1252/Latin-1 and encoded as UTF-8 again
/// ("Michael BublÃ©" → "Michael Bublé", "BEYONCÃ‰" → "BEYONCÉ"). Only a run that spells a valid
/// UTF-8 sequence (a lead byte U+00C2–U+00F4 followed by its continuation bytes 0x80–0xBF) is
/// replaced, so correct text — "NÃO", "JOÃO", "Amélie" — is left alone. Applied until nothing
/// changes (text encoded twice over).
pub fn fix_mojibake(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..3 {
        let next = fix_once(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

fn fix_once(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let need = match c as u32 {
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0..=0xF4 => 3,
            _ => 0,
        };
        if need > 0 {
            let mut bytes = vec![c as u32 as u8];
            for k in 1..=need {
                match chars.get(i + k).and_then(|&d| latin1_byte(d)) {
                    Some(b) if (0x80..=0xBF).contains(&b) => bytes.push(b),
                    _ => break,
                }
            }
            if bytes.len() == need + 1 {
                if let Ok(t) = std::str::from_utf8(&bytes) {
                    out.push_str(t);
                    i += need + 1;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Whether `s` shows mojibake that [`fix_mojibake`] would repair.
pub fn has_mojibake(s: &str) -> bool {
    fix_mojibake(s) != s
}

/// Whether a title or artist contains one of `words` as a whole word (case-insensitive; a word may
/// end in `*` to match any continuation, e.g. "fuck*").
pub fn has_explicit_word(s: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return false;
    }
    let lower = s.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '*'))
        .filter(|t| !t.is_empty())
        .collect();
    words.iter().any(|w| {
        let w = w.to_lowercase();
        match w.strip_suffix('*') {
            Some(prefix) => tokens.iter().any(|t| t.starts_with(prefix)),
            None => tokens.iter().any(|t| *t == w),
        }
    })
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
            source: Source::Embedded,
            adult: None,
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
            source: Source::Embedded,
            popularity: None,
            explicit: None,
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
            source: Source::Embedded,
            adult: None,
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

    #[test]
    fn mojibake_is_repaired_and_correct_text_left_alone() {
        for (bad, good) in [
            ("Michael BublÃ©", "Michael Bublé"),
            ("BEYONCÃ‰ [Platinum Edition]", "BEYONCÉ [Platinum Edition]"),
            ("TiÃ«sto", "Tiësto"),
            ("DÃ\u{81}KITI", "DÁKITI"),
            ("ROSALÃ\u{8d}A", "ROSALÍA"),
            ("EL ÃšLTIMO TOUR DEL MUNDO", "EL ÚLTIMO TOUR DEL MUNDO"),
            ("Where Are Ãœ Now", "Where Are Ü Now"),
            ("Ã· (Deluxe)", "÷ (Deluxe)"),
            ("CÃƒÂ©line", "Céline"),
        ] {
            assert_eq!(fix_mojibake(bad), good, "{bad}");
            assert!(has_mojibake(bad));
            assert!(!has_mojibake(good));
        }
        for ok in [
            "MTG QUEM NÃO QUER SOU EU",
            "DJ JOÃO PEREIRA",
            "MALDIÇÃO ETERNA",
            "Amélie",
            "Pokémon — 2000",
            "Sigur Rós",
            "Ã",
        ] {
            assert_eq!(fix_mojibake(ok), ok);
        }
        let words = vec!["fuck*".to_string(), "shit".to_string()];
        assert!(has_explicit_word("Type Shit", &words));
        assert!(has_explicit_word("FUCKING", &words));
        assert!(!has_explicit_word("Shiti Kahani", &words));
        assert!(!has_explicit_word("anything", &[]));
        let t = |artist: &str, title: &str| Track {
            artist: artist.into(),
            title: title.into(),
            spotify_id: None,
            genre: None,
            features: None,
            source: Source::TmdbCsv,
            popularity: None,
            explicit: None,
        };
        assert_eq!(
            t("The Beatles", "Let It Be - Remastered 2009").song_key(),
            t("The Beatles", "Let It Be").song_key()
        );
        assert_eq!(
            t("Lady Gaga, Bruno Mars", "Die With A Smile").song_key(),
            t("Lady Gaga", "Die With A Smile (feat. x)").song_key()
        );
        assert_ne!(
            t("Adele", "Hello").song_key(),
            t("Lionel Richie", "Hello").song_key()
        );
    }
}
