//! Fuzz-style property tests (proptest, bounded case counts) for the catalog importers
//! (`MovieLens`, `TmdbCsv`, `SpotifyCsv`): arbitrary bytes, arbitrary rows
//! under valid headers and mutated valid files must import or report rejected rows (or fail with a
//! typed error), never panic, and never store more items than there are rows.

use moodlens_recommend::import::{Importer, MovieLens, Quiet, SpotifyCsv, TmdbCsv};
use moodlens_recommend::Store;
use proptest::prelude::*;

const TMDB_HEADER: &str = "id,title,genre,vote_average,vote_count,release_date\n";
const SPOTIFY_HEADER: &str = "track_id,track_name,track_artist,valence,energy,danceability,speechiness,acousticness,instrumentalness,loudness,tempo,genre\n";

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,6}",
        "-?[0-9]{1,3}\\.[0-9]{0,3}",
        "[a-zA-Z ]{0,12}",
        "\"[a-zA-Z,\" ]{0,12}\"?",
        "[0-9A-Za-z]{22}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        Just(String::new()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("1e309".to_string()),
    ]
}

fn rows(cols: usize) -> impl Strategy<Value = Vec<Vec<String>>> {
    proptest::collection::vec(proptest::collection::vec(cell(), 0..cols + 2), 0..12)
}

fn join(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| r.join(",") + "\n").collect()
}

fn stored(s: &Store) -> usize {
    let (f, t) = s.catalog_counts().unwrap();
    (f + t) as usize
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn tmdb_rows(rows in rows(6), raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let text = format!("{TMDB_HEADER}{}", join(&rows));
        std::fs::write(&p, &text).unwrap();
        let mut s = Store::open_in_memory().unwrap();
        if let Ok(r) = TmdbCsv::new(&p).import(&mut s, &mut Quiet) {
            prop_assert!(r.imported + r.rejected <= rows.len());
            prop_assert!(stored(&s) <= r.imported);
            for f in s.films().unwrap() {
                prop_assert!(!f.title.trim().is_empty());
            }
        }
        let mut bytes = TMDB_HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(&raw);
        std::fs::write(&p, &bytes).unwrap();
        let _ = TmdbCsv::new(&p).import(&mut s, &mut Quiet);
        std::fs::write(&p, &raw).unwrap();
        let _ = TmdbCsv::new(&p).import(&mut s, &mut Quiet);
    }

    #[test]
    fn spotify_rows(rows in rows(12), raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        std::fs::write(&p, format!("{SPOTIFY_HEADER}{}", join(&rows))).unwrap();
        let mut s = Store::open_in_memory().unwrap();
        if let Ok(r) = SpotifyCsv::new(&p).import(&mut s, &mut Quiet) {
            prop_assert!(r.imported + r.rejected <= rows.len());
            prop_assert!(stored(&s) <= r.imported);
            for t in s.tracks().unwrap() {
                prop_assert!(!t.title.trim().is_empty());
                if let Some(f) = &t.features {
                    prop_assert!(f.valence.is_finite() && f.energy.is_finite() && f.tempo.is_finite());
                }
            }
        }
        let mut bytes = SPOTIFY_HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(&raw);
        std::fs::write(&p, &bytes).unwrap();
        let _ = SpotifyCsv::new(&p).import(&mut s, &mut Quiet);
    }

    #[test]
    fn movielens_rows(movies in rows(3), links in rows(3), ratings in rows(4), raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("movies.csv"), format!("movieId,title,genres\n{}", join(&movies))).unwrap();
        std::fs::write(dir.path().join("links.csv"), format!("movieId,imdbId,tmdbId\n{}", join(&links))).unwrap();
        let mut r = b"userId,movieId,rating,timestamp\n".to_vec();
        r.extend_from_slice(join(&ratings).as_bytes());
        r.extend_from_slice(&raw);
        std::fs::write(dir.path().join("ratings.csv"), r).unwrap();
        let mut s = Store::open_in_memory().unwrap();
        if let Ok(rep) = MovieLens::new(dir.path()).import(&mut s, &mut Quiet) {
            prop_assert!(rep.imported <= movies.len());
            prop_assert!(stored(&s) <= rep.imported);
        }
    }
}
