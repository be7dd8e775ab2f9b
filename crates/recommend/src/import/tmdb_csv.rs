//! TMDb CSV exports (the columns of the "Top 10000 popular movies" tables): id, title, genre names,
//! release date, vote average and count, and the adult flag where the table has it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{field, for_each_row, open_table, parse_flag, ImportReport, Importer, Progress};
use crate::catalog::{fix_mojibake, Film};
use crate::config::tmdb_genre_id;
use crate::error::Result;
use crate::store::Store;

/// `catalog import tmdb-csv <file>`: id,title,genre (comma-separated names),…,release_date,
/// vote_average,vote_count.
#[derive(Debug, Clone)]
pub struct TmdbCsv {
    pub file: PathBuf,
}

impl TmdbCsv {
    pub fn new(file: impl AsRef<Path>) -> Self {
        TmdbCsv {
            file: file.as_ref().to_path_buf(),
        }
    }
}

impl Importer for TmdbCsv {
    fn name(&self) -> &'static str {
        "tmdb-csv"
    }

    fn import(&self, store: &mut Store, progress: &mut dyn Progress) -> Result<ImportReport> {
        let file = self.file.as_path();
        let mut report = ImportReport::new(self.name());
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
}
