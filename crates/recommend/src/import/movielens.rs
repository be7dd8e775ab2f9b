//! MovieLens (`movies.csv` + `links.csv` + `ratings.csv`, the layout of GroupLens' ml-latest
//! tables): films with their genres, TMDb ids where `links.csv` gives them, and the mean rating on a
//! 0–10 scale with its count.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{field, for_each_row, open_csv, open_table, Columns, ImportReport, Importer, Progress};
use crate::catalog::{fix_mojibake, Film};
use crate::config::movielens_genre_id;
use crate::error::Result;
use crate::store::Store;

/// `catalog import movielens <dir>`: the folder holding `movies.csv` (required), `links.csv` and
/// `ratings.csv` (optional).
#[derive(Debug, Clone)]
pub struct MovieLens {
    pub dir: PathBuf,
}

impl MovieLens {
    pub fn new(dir: impl AsRef<Path>) -> Self {
        MovieLens {
            dir: dir.as_ref().to_path_buf(),
        }
    }
}

impl Importer for MovieLens {
    fn name(&self) -> &'static str {
        "movielens"
    }

    fn import(&self, store: &mut Store, progress: &mut dyn Progress) -> Result<ImportReport> {
        let mut report = ImportReport::new(self.name());
        let tmdb = read_links(&self.dir.join("links.csv"))?;
        let ratings = read_ratings(&self.dir.join("ratings.csv"), &mut report, progress)?;
        let films = read_movies(
            &self.dir.join("movies.csv"),
            &tmdb,
            &ratings,
            &mut report,
            progress,
        )?;
        report.imported = store.upsert_films(&films)?;
        Ok(report)
    }
}

/// `links.csv`: movieId → tmdbId (empty when the file is absent; unreadable rows are skipped).
fn read_links(links: &Path) -> Result<HashMap<String, u64>> {
    let mut tmdb = HashMap::new();
    if !links.exists() {
        return Ok(tmdb);
    }
    let (mut rdr, _) = open_csv(links)?;
    let cols = Columns::new(&rdr.headers().cloned().unwrap_or_default());
    let (mi, ti) = (
        cols.need(links, &["movieid"])?,
        cols.need(links, &["tmdbid"])?,
    );
    for rec in rdr.records() {
        let Ok(rec) = rec else { continue };
        if let Ok(id) = field(&rec, ti).parse::<u64>() {
            tmdb.insert(field(&rec, mi).to_string(), id);
        }
    }
    Ok(tmdb)
}

/// `ratings.csv`: movieId → (sum of ratings, count); ratings outside 0..5 are rejected.
fn read_ratings(
    ratings: &Path,
    report: &mut ImportReport,
    progress: &mut dyn Progress,
) -> Result<HashMap<String, (f64, u64)>> {
    let mut agg: HashMap<String, (f64, u64)> = HashMap::new();
    if !ratings.exists() {
        return Ok(agg);
    }
    let (mut rdr, len) = open_csv(ratings)?;
    progress.start("ratings.csv", len);
    let cols = Columns::new(&rdr.headers().cloned().unwrap_or_default());
    let (mi, ri) = (
        cols.need(ratings, &["movieid"])?,
        cols.need(ratings, &["rating"])?,
    );
    for_each_row(
        &mut rdr,
        ratings,
        report,
        progress,
        4096,
        |rec, line, report| match field(rec, ri).parse::<f64>() {
            Ok(r) if (0.0..=5.0).contains(&r) => {
                let e = agg.entry(field(rec, mi).to_string()).or_insert((0.0, 0));
                e.0 += r;
                e.1 += 1;
            }
            _ => report.reject(ratings, line, "rating not a number in 0..5"),
        },
    );
    Ok(agg)
}

/// `movies.csv`: the films, with the TMDb ids of `tmdb` and the ratings of `ratings`.
fn read_movies(
    movies: &Path,
    tmdb: &HashMap<String, u64>,
    ratings: &HashMap<String, (f64, u64)>,
    report: &mut ImportReport,
    progress: &mut dyn Progress,
) -> Result<Vec<Film>> {
    let (mut rdr, cols) = open_table(movies, progress, "movies.csv")?;
    let (mi, ti, gi) = (
        cols.need(movies, &["movieid"])?,
        cols.need(movies, &["title"])?,
        cols.need(movies, &["genres"])?,
    );
    let mut films = Vec::new();
    for_each_row(
        &mut rdr,
        movies,
        report,
        progress,
        1,
        |rec, line, report| {
            let id = field(rec, mi);
            if id.is_empty() || id.parse::<u64>().is_err() {
                report.reject(movies, line, "movieId missing or not a number");
                return;
            }
            let (title, year) = split_movielens_title(&fix_mojibake(field(rec, ti)));
            if title.is_empty() {
                report.reject(movies, line, "empty title");
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
            let (rating, votes) = match ratings.get(id) {
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
    Ok(films)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
