//! The local SQLite database (bundled SQLite, WAL journal, versioned migrations): recommendation
//! requests and what they showed, feedback, and imported catalogs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use moodlens_common::{Emotion, NUM_EMOTIONS};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::catalog::{fix_mojibake, Film, Track};
use crate::error::{RecommendError, Result};
use crate::mood::AudioFeatures;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, recommended items, feedback, imported catalogs
    "CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        source TEXT NOT NULL,
        mood TEXT NOT NULL,
        probabilities TEXT NOT NULL,
        strategy TEXT NOT NULL,
        valence REAL NOT NULL,
        arousal REAL NOT NULL
    );
    CREATE TABLE session_items (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        item_key TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        PRIMARY KEY (session_id, kind, position)
    );
    CREATE INDEX session_items_key ON session_items(item_key);
    CREATE TABLE feedback (
        item_key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        liked INTEGER NOT NULL,
        tags TEXT NOT NULL,
        time INTEGER NOT NULL
    );
    CREATE TABLE movies (
        key TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        year INTEGER,
        genres TEXT NOT NULL,
        rating REAL,
        votes INTEGER,
        tmdb_id INTEGER,
        source TEXT NOT NULL
    );
    CREATE TABLE tracks (
        key TEXT PRIMARY KEY,
        artist TEXT NOT NULL,
        title TEXT NOT NULL,
        spotify_id TEXT,
        genre TEXT,
        features TEXT,
        source TEXT NOT NULL
    );",
    // 2: sessions (visits) for stable lists and shuffle, group members; popularity and
    // adult/explicit flags of imported items
    "ALTER TABLE sessions ADD COLUMN visit TEXT;
    ALTER TABLE sessions ADD COLUMN list_key TEXT;
    ALTER TABLE sessions ADD COLUMN shuffle INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN seed INTEGER;
    ALTER TABLE sessions ADD COLUMN people TEXT;
    CREATE INDEX sessions_visit ON sessions(visit, list_key);
    ALTER TABLE movies ADD COLUMN adult INTEGER;
    ALTER TABLE tracks ADD COLUMN popularity INTEGER;
    ALTER TABLE tracks ADD COLUMN explicit INTEGER;",
    // 3: names that say what the rows are: a stored recommendation request and the items it
    // showed (a "session" is the visit, the `visit` column)
    "ALTER TABLE sessions RENAME TO requests;
    ALTER TABLE session_items RENAME TO request_items;
    ALTER TABLE request_items RENAME COLUMN session_id TO request_id;
    DROP INDEX session_items_key;
    CREATE INDEX request_items_key ON request_items(item_key);
    DROP INDEX sessions_visit;
    CREATE INDEX requests_visit ON requests(visit, list_key);",
];

/// Where the recommended item sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    pub kind: String,
    pub key: String,
    pub title: String,
    pub link: String,
}

/// One stored recommendation request: what was asked and the list it showed (a history entry
/// is one request, or a named session's requests for one mood; see [`Store::history`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: i64,
    /// Unix seconds.
    pub time: i64,
    /// The same time, "YYYY-MM-DD HH:MM" UTC.
    pub time_utc: String,
    /// camera | video | image | manual | cli
    pub source: String,
    pub mood: Emotion,
    pub probabilities: Vec<f64>,
    pub strategy: String,
    pub valence: f64,
    pub arousal: f64,
    pub items: Vec<StoredItem>,
    /// The session (visit) the request belonged to; absent for sessions stored before visits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// How many times the list was shuffled within its session.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle: u32,
    /// Each person's probabilities, for a group recommendation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Vec<f64>>,
}

fn is_zero(x: &u32) -> bool {
    *x == 0
}

/// Where a list belongs: the session (visit) it was shown in, what was asked (mood, strategy,
/// sizes: the list key), how many shuffles preceded it, and its seed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListMeta {
    pub visit: String,
    pub list_key: String,
    pub shuffle: u32,
    pub seed: u64,
    /// Each person's probabilities, for a group.
    pub people: Vec<Vec<f64>>,
}

/// A like or dislike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub item_key: String,
    pub kind: String,
    pub title: String,
    pub liked: bool,
    /// Genre ids / tags of the item ("genre:35", "tag:rock", "artist:…").
    pub tags: Vec<String>,
}

/// What groups stored requests into one history entry (see [`Store::history`]).
const HISTORY_GROUP: &str = "(CASE WHEN visit IS NULL OR visit LIKE 'auto:%' THEN 'row:' || id \
     ELSE 'visit:' || mood || ':' || visit END)";

/// The database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

/// Default database path: `<data dir>/moodlens/moodlens.db` (the `directories` crate), or
/// `MOODLENS_DB` when set.
pub fn default_db_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MOODLENS_DB") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "moodlens").map(|d| d.data_dir().join("moodlens.db"))
}

/// A catalog source stored as text.
fn source_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<crate::catalog::Source> {
    let text: String = r.get(i)?;
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

/// "2026-11-24 18:30" (UTC) for unix seconds.
pub fn format_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Runs `f` again while SQLite answers "database is busy" without waiting (at most about 5 s).
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut attempt = 0u64;
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && attempt < 100 =>
            {
                std::thread::sleep(Duration::from_millis(20 + 5 * attempt));
                attempt += 1;
            }
            r => return r,
        }
    }
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Open (creating it and its folder if needed) and migrate.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| RecommendError::io(dir, e))?;
            }
        }
        let conn = Connection::open(path)?;
        let mut s = Store {
            conn,
            path: Some(path.to_path_buf()),
        };
        s.init()?;
        Ok(s)
    }

    /// A private in-memory database (tests, `--no-history`).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut s = Store { conn, path: None };
        s.init()?;
        Ok(s)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn init(&mut self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(5))?;
        if self.path.is_some() {
            // switching to WAL needs a moment alone with a new file; SQLite answers "busy" at
            // once (without its busy handler) while another connection is creating it
            let mode: String = retry_busy(|| {
                self.conn
                    .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            })?;
            tracing::debug!(journal_mode = %mode, "database opened");
        }
        self.conn
            .execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")?;
        self.migrate()
    }

    /// Runs the missing migrations in one write transaction taken before the version is read, so
    /// that two processes (or server threads) opening a new database at once do not both migrate.
    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(RecommendError::Config(format!(
                "database schema version {version} is newer than this program ({})",
                MIGRATIONS.len()
            )));
        }
        if version as usize == MIGRATIONS.len() {
            return Ok(());
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Store a recommendation request and what it showed; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn record_request(
        &mut self,
        time: i64,
        source: &str,
        mood: Emotion,
        probabilities: &[f64],
        strategy: &str,
        valence: f64,
        arousal: f64,
        items: &[StoredItem],
    ) -> Result<i64> {
        self.record_list(
            time,
            source,
            mood,
            probabilities,
            strategy,
            valence,
            arousal,
            items,
            None,
        )
    }

    /// [`Store::record_request`] with the list's session, key, shuffle count and seed.
    #[allow(clippy::too_many_arguments)]
    pub fn record_list(
        &mut self,
        time: i64,
        source: &str,
        mood: Emotion,
        probabilities: &[f64],
        strategy: &str,
        valence: f64,
        arousal: f64,
        items: &[StoredItem],
        meta: Option<&ListMeta>,
    ) -> Result<i64> {
        let probs = serde_json::to_string(probabilities).unwrap_or_else(|_| "[]".into());
        let people = meta
            .filter(|m| !m.people.is_empty())
            .and_then(|m| serde_json::to_string(&m.people).ok());
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO requests (time, source, mood, probabilities, strategy, valence, arousal,
                                   visit, list_key, shuffle, seed, people)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                time,
                source,
                mood.label(),
                probs,
                strategy,
                valence,
                arousal,
                meta.map(|m| m.visit.as_str()),
                meta.map(|m| m.list_key.as_str()),
                meta.map(|m| m.shuffle as i64).unwrap_or(0),
                meta.map(|m| m.seed as i64),
                people,
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx.prepare(
                "INSERT OR REPLACE INTO request_items (request_id, position, kind, item_key, title, link)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, it) in items.iter().enumerate() {
                st.execute(params![id, i as i64, it.kind, it.key, it.title, it.link])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Sessions, oldest first (the `limit` most recent when given): every stored request.
    pub fn requests(&self, limit: Option<usize>) -> Result<Vec<RequestRecord>> {
        let lim = limit.map(|l| l as i64).unwrap_or(-1);
        self.rows_where(
            "id IN (SELECT id FROM requests ORDER BY id DESC LIMIT ?1)",
            [lim],
        )
    }

    /// Stored requests matching `cond` (SQL over `requests`), oldest first.
    fn rows_where(&self, cond: &str, args: [i64; 1]) -> Result<Vec<RequestRecord>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT id, time, source, mood, probabilities, strategy, valence, arousal, visit,
                    shuffle, people FROM requests WHERE {cond} ORDER BY id ASC"
        ))?;
        let rows = st.query_map(args, |r| {
            Ok((
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, f64>(7)?,
                ),
                (
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ),
            ))
        })?;
        let mut out = Vec::new();
        let mut items_st = self.conn.prepare(
            "SELECT kind, item_key, title, link FROM request_items WHERE request_id = ?1
             ORDER BY kind, position",
        )?;
        for row in rows {
            let (
                (id, time, source, mood, probs, strategy, valence, arousal),
                (visit, shuffle, people),
            ) = row?;
            let Ok(mood) = mood.parse::<Emotion>() else {
                tracing::warn!(id, "session with unknown mood skipped");
                continue;
            };
            let probabilities: Vec<f64> = serde_json::from_str(&probs).unwrap_or_default();
            let items = items_st
                .query_map([id], |r| {
                    Ok(StoredItem {
                        kind: r.get(0)?,
                        key: r.get(1)?,
                        title: r.get(2)?,
                        link: r.get(3)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            out.push(RequestRecord {
                id,
                time,
                time_utc: format_time(time),
                source,
                mood,
                probabilities,
                strategy,
                valence,
                arousal,
                items,
                session: visit,
                shuffle: shuffle.max(0) as u32,
                people: people
                    .and_then(|p| serde_json::from_str(&p).ok())
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The history as people see it: one entry per mood reading. Requests of a named session
    /// (a web page's reading, `--session NAME`) for the same mood are one entry: strategy
    /// switches and new picks update it (it shows the latest strategy and list, at the time of
    /// the first request, under the first request's id). Requests of automatic sessions and
    /// those stored before sessions existed are one entry each. Oldest first; the `limit` most
    /// recent when given.
    pub fn history(&self, limit: Option<usize>) -> Result<Vec<RequestRecord>> {
        let lim = limit.map(|l| l as i64).unwrap_or(-1);
        let mut st = self.conn.prepare(&format!(
            "SELECT first, last, first_time FROM
             (SELECT MIN(id) AS first, MAX(id) AS last, MIN(time) AS first_time FROM requests
              GROUP BY {HISTORY_GROUP} ORDER BY first DESC LIMIT ?1)
             ORDER BY first ASC"
        ))?;
        let groups = st
            .query_map([lim], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(groups.len());
        for (first, last, time) in groups {
            if let Some(mut rec) = self.rows_where("id = ?1", [last])?.into_iter().next() {
                rec.id = first;
                rec.time = time;
                rec.time_utc = format_time(time);
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// How many history entries ([`Store::history`]) are stored.
    pub fn history_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            &format!("SELECT COUNT(*) FROM (SELECT 1 FROM requests GROUP BY {HISTORY_GROUP})"),
            [],
            |r| r.get(0),
        )?)
    }

    /// Deletes the history entry `id` (an id from [`Store::history`]: every request it groups,
    /// with what they showed). False when there is no such entry. Likes and dislikes stay.
    pub fn delete_history_entry(&mut self, id: i64) -> Result<bool> {
        let n = self.conn.execute(
            &format!(
                "DELETE FROM requests WHERE {HISTORY_GROUP} IN
                 (SELECT {HISTORY_GROUP} FROM requests WHERE id = ?1)"
            ),
            [id],
        )?;
        Ok(n > 0)
    }

    /// Deletes the whole history (requests and what they showed); the number of entries deleted.
    /// Likes, dislikes and imported catalogs stay.
    pub fn clear_history(&mut self) -> Result<i64> {
        let n = self.history_count()?;
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM request_items", [])?;
        tx.execute("DELETE FROM requests", [])?;
        tx.commit()?;
        Ok(n)
    }

    /// Removes the like or dislike of `item_key`; false when there was none.
    pub fn delete_feedback(&mut self, item_key: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM feedback WHERE item_key = ?1", [item_key])?
            > 0)
    }

    /// The session (visit) and time of the most recent stored request.
    pub fn last_visit(&self) -> Result<Option<(Option<String>, i64)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT visit, time FROM requests ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?)
    }

    /// The latest list shown for `list_key` in session `visit`: (shuffle count, seed).
    pub fn latest_list(&self, visit: &str, list_key: &str) -> Result<Option<(u32, Option<u64>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT shuffle, seed FROM requests WHERE visit = ?1 AND list_key = ?2
                 ORDER BY shuffle DESC, id DESC LIMIT 1",
                params![visit, list_key],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?.max(0) as u32,
                        r.get::<_, Option<i64>>(1)?.map(|s| s as u64),
                    ))
                },
            )
            .optional()?)
    }

    /// Items shown for `list_key` in session `visit` before shuffle number `below`.
    pub fn shuffled_away(
        &self,
        visit: &str,
        list_key: &str,
        below: u32,
    ) -> Result<HashSet<String>> {
        let mut st = self.conn.prepare(
            "SELECT DISTINCT i.item_key FROM request_items i JOIN requests s ON s.id = i.request_id
             WHERE s.visit = ?1 AND s.list_key = ?2 AND s.shuffle < ?3",
        )?;
        let keys = st
            .query_map(params![visit, list_key, below as i64], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<std::result::Result<HashSet<_>, _>>()?;
        Ok(keys)
    }

    /// Keys of the items shown in the last `n` sessions (visits) other than `visit`, counting
    /// only requests made before `visit` began (so the set stays the same while it lasts). Requests
    /// stored before visits existed count as one session each.
    pub fn recent_item_keys_before(&self, visit: &str, n: usize) -> Result<HashSet<String>> {
        let start: Option<i64> = self.conn.query_row(
            "SELECT MIN(id) FROM requests WHERE visit = ?1",
            [visit],
            |r| r.get(0),
        )?;
        let start = start.unwrap_or(i64::MAX);
        let mut st = self.conn.prepare(
            "WITH v AS (
                SELECT COALESCE(visit, 'legacy:' || id) AS k, MAX(id) AS last FROM requests
                WHERE id < ?1 AND COALESCE(visit, '') != ?2
                GROUP BY k ORDER BY last DESC LIMIT ?3)
             SELECT DISTINCT i.item_key FROM request_items i JOIN requests s ON s.id = i.request_id
             WHERE s.id < ?1 AND COALESCE(s.visit, 'legacy:' || s.id) IN (SELECT k FROM v)",
        )?;
        let keys = st
            .query_map(params![start, visit, n as i64], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<HashSet<_>, _>>()?;
        Ok(keys)
    }

    pub fn request_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))?)
    }

    /// Keys of the items recommended in the last `n` requests.
    pub fn recent_item_keys(&self, n: usize) -> Result<HashSet<String>> {
        let mut st = self.conn.prepare(
            "SELECT DISTINCT item_key FROM request_items WHERE request_id IN
             (SELECT id FROM requests ORDER BY id DESC LIMIT ?1)",
        )?;
        let keys = st
            .query_map([n as i64], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<HashSet<_>, _>>()?;
        Ok(keys)
    }

    /// Find a recommended item by key, or by title (case-insensitive, most recent first).
    pub fn find_recommended(&self, query: &str) -> Result<Option<StoredItem>> {
        let q = query.trim();
        let row = self
            .conn
            .query_row(
                "SELECT kind, item_key, title, link FROM request_items
                 WHERE item_key = ?1 OR lower(title) = lower(?1)
                    OR substr(lower(title), 1, length(?1) + 2) = lower(?1) || ' ('
                    OR substr(lower(title), -(length(?1) + 3)) = ' — ' || lower(?1)
                 ORDER BY request_id DESC LIMIT 1",
                [q],
                |r| {
                    Ok(StoredItem {
                        kind: r.get(0)?,
                        key: r.get(1)?,
                        title: r.get(2)?,
                        link: r.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Record a like or a dislike (replacing an earlier one for the same item).
    pub fn set_feedback(&mut self, f: &Feedback) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO feedback (item_key, kind, title, liked, tags, time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                f.item_key,
                f.kind,
                f.title,
                f.liked as i64,
                serde_json::to_string(&f.tags).unwrap_or_else(|_| "[]".into()),
                now_secs()
            ],
        )?;
        Ok(())
    }

    pub fn feedback(&self) -> Result<Vec<Feedback>> {
        let mut st = self
            .conn
            .prepare("SELECT item_key, kind, title, liked, tags FROM feedback ORDER BY time")?;
        let rows = st.query_map([], |r| {
            let tags: String = r.get(4)?;
            Ok(Feedback {
                item_key: r.get(0)?,
                kind: r.get(1)?,
                title: r.get(2)?,
                liked: r.get::<_, i64>(3)? != 0,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Run the statement `sql` once per item, through `execute`, in one transaction; the number
    /// of items.
    fn execute_each<T>(
        &mut self,
        sql: &str,
        items: &[T],
        execute: impl Fn(&mut rusqlite::Statement<'_>, &T) -> rusqlite::Result<usize>,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare(sql)?;
            for item in items {
                execute(&mut st, item)?;
            }
        }
        tx.commit()?;
        Ok(items.len())
    }

    /// Insert or replace imported films (one transaction).
    pub fn upsert_films(&mut self, films: &[Film]) -> Result<usize> {
        self.execute_each(
            "INSERT OR REPLACE INTO movies (key, title, year, genres, rating, votes, tmdb_id, source,
                                            adult)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            films,
            |st, f| {
                st.execute(params![
                    f.key(),
                    f.title,
                    f.year,
                    serde_json::to_string(&f.genres).unwrap_or_else(|_| "[]".into()),
                    f.rating,
                    f.votes.map(|v| v as i64),
                    f.tmdb_id.map(|v| v as i64),
                    f.source.as_str(),
                    f.adult
                ])
            },
        )
    }

    pub fn films(&self) -> Result<Vec<Film>> {
        let mut st = self.conn.prepare(
            "SELECT title, year, genres, rating, votes, tmdb_id, source, adult FROM movies",
        )?;
        let rows = st.query_map([], |r| {
            let genres: String = r.get(2)?;
            Ok(Film {
                title: fix_mojibake(&r.get::<_, String>(0)?),
                year: r.get(1)?,
                genres: serde_json::from_str(&genres).unwrap_or_default(),
                rating: r.get(3)?,
                votes: r.get::<_, Option<i64>>(4)?.map(|v| v.max(0) as u64),
                tmdb_id: r.get::<_, Option<i64>>(5)?.map(|v| v.max(0) as u64),
                source: source_column(r, 6)?,
                adult: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Insert or replace imported tracks (one transaction).
    pub fn upsert_tracks(&mut self, tracks: &[Track]) -> Result<usize> {
        self.execute_each(
            "INSERT OR REPLACE INTO tracks (key, artist, title, spotify_id, genre, features, source,
                                            popularity, explicit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            tracks,
            |st, t| {
                let feats = t.features.and_then(|f| serde_json::to_string(&f).ok());
                st.execute(params![
                    t.key(),
                    t.artist,
                    t.title,
                    t.spotify_id,
                    t.genre,
                    feats,
                    t.source.as_str(),
                    t.popularity,
                    t.explicit
                ])
            },
        )
    }

    pub fn tracks(&self) -> Result<Vec<Track>> {
        let mut st = self.conn.prepare(
            "SELECT artist, title, spotify_id, genre, features, source, popularity, explicit
                 FROM tracks",
        )?;
        let rows = st.query_map([], |r| {
            let feats: Option<String> = r.get(4)?;
            Ok(Track {
                artist: fix_mojibake(&r.get::<_, String>(0)?),
                title: fix_mojibake(&r.get::<_, String>(1)?),
                spotify_id: r.get(2)?,
                genre: r.get::<_, Option<String>>(3)?.map(|g| fix_mojibake(&g)),
                features: feats.and_then(|s| serde_json::from_str::<AudioFeatures>(&s).ok()),
                source: source_column(r, 5)?,
                popularity: r.get::<_, Option<i64>>(6)?.map(|p| p.clamp(0, 100) as u32),
                explicit: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// (films, tracks) in the imported catalog.
    pub fn catalog_counts(&self) -> Result<(i64, i64)> {
        let f = self
            .conn
            .query_row("SELECT COUNT(*) FROM movies", [], |r| r.get(0))?;
        let t = self
            .conn
            .query_row("SELECT COUNT(*) FROM tracks", [], |r| r.get(0))?;
        Ok((f, t))
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// Probabilities for a stored session, padded to seven.
pub fn probs7(v: &[f64]) -> [f64; NUM_EMOTIONS] {
    let mut p = [0.0; NUM_EMOTIONS];
    for (i, x) in v.iter().take(NUM_EMOTIONS).enumerate() {
        p[i] = *x;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(k: &str) -> StoredItem {
        StoredItem {
            kind: "movie".into(),
            key: k.into(),
            title: k.to_uppercase(),
            link: format!("https://x/{k}"),
        }
    }

    /// A database written by schema 2 (tables `sessions` / `session_items`) keeps its rows when
    /// schema 3 renames them: history, items, visit and the no-repeat keys all read back.
    #[test]
    fn schema_2_databases_migrate_with_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..2] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute_batch(
                "INSERT INTO sessions (id, time, source, mood, probabilities, strategy, valence,
                    arousal, visit, list_key, shuffle, seed)
                 VALUES (7, 100, 'manual', 'sad', '[0,0,0,0,1,0,0]', 'uplift', -0.5, -0.2,
                    'evening', 'k', 1, 42);
                 INSERT INTO session_items (session_id, position, kind, item_key, title, link)
                 VALUES (7, 0, 'movie', 'tmdb:13', 'Forrest Gump (1994)', 'https://x');",
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let all = s.requests(None).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].id, 7);
        assert_eq!(all[0].mood, Emotion::Sad);
        assert_eq!(all[0].session.as_deref(), Some("evening"));
        assert_eq!(all[0].shuffle, 1);
        assert_eq!(all[0].items.len(), 1);
        assert_eq!(all[0].items[0].title, "Forrest Gump (1994)");
        assert_eq!(s.history(None).unwrap().len(), 1);
        assert!(s.recent_item_keys(5).unwrap().contains("tmdb:13"));
        assert_eq!(
            s.find_recommended("Forrest Gump").unwrap().map(|i| i.key),
            Some("tmdb:13".to_string())
        );
    }

    #[test]
    fn migrations_run_once_and_requests_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/db.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
            let p = [0.1, 0.0, 0.0, 0.7, 0.2, 0.0, 0.0];
            s.record_request(
                100,
                "manual",
                Emotion::Happy,
                &p,
                "match",
                0.5,
                0.2,
                &[item("a"), item("b")],
            )
            .unwrap();
            s.record_request(
                200,
                "camera",
                Emotion::Sad,
                &p,
                "uplift",
                -0.5,
                -0.2,
                &[item("c")],
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap(); // reopen: migrations not re-run
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let all = s.requests(None).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].mood, Emotion::Happy);
        assert_eq!(all[0].items.len(), 2);
        assert_eq!(all[1].source, "camera");
        assert_eq!(all[0].probabilities[3], 0.7);
        assert_eq!(s.requests(Some(1)).unwrap()[0].mood, Emotion::Sad);
        let recent = s.recent_item_keys(1).unwrap();
        assert!(recent.contains("c") && !recent.contains("a"));
        assert_eq!(s.recent_item_keys(2).unwrap().len(), 3);
        assert_eq!(s.find_recommended("A").unwrap().unwrap().key, "a");
        assert!(
            s.find_recommended("%").unwrap().is_none(),
            "no wildcard matching"
        );
        assert!(s.find_recommended("zzz").unwrap().is_none());
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    fn meta(visit: &str, key: &str, shuffle: u32) -> ListMeta {
        ListMeta {
            visit: visit.into(),
            list_key: key.into(),
            shuffle,
            seed: 7,
            people: vec![],
        }
    }

    #[test]
    fn sessions_group_requests_for_stable_lists_and_no_repeat() {
        let mut s = Store::open_in_memory().unwrap();
        let rec = |s: &mut Store, m: Option<&ListMeta>, k: &str| {
            s.record_list(
                1,
                "manual",
                Emotion::Happy,
                &[0.0; 7],
                "match",
                0.0,
                0.0,
                &[item(k)],
                m,
            )
            .unwrap()
        };
        rec(&mut s, None, "legacy-1"); // stored before sessions existed
        rec(&mut s, Some(&meta("a", "happy", 0)), "a0");
        rec(&mut s, Some(&meta("a", "calm", 0)), "a-calm");
        rec(&mut s, Some(&meta("a", "happy", 1)), "a1");
        assert_eq!(s.last_visit().unwrap(), Some((Some("a".into()), 1)));
        assert_eq!(s.latest_list("a", "happy").unwrap(), Some((1, Some(7))));
        assert_eq!(s.latest_list("a", "sad").unwrap(), None);
        assert_eq!(
            s.shuffled_away("a", "happy", 1).unwrap(),
            HashSet::from(["a0".to_string()])
        );
        // session b: sees a's and the legacy items as earlier sessions, stably
        rec(&mut s, Some(&meta("b", "happy", 0)), "b0");
        let before_b = s.recent_item_keys_before("b", 5).unwrap();
        for k in ["legacy-1", "a0", "a1", "a-calm"] {
            assert!(before_b.contains(k), "{k}");
        }
        assert!(!before_b.contains("b0"));
        rec(&mut s, Some(&meta("c", "happy", 0)), "c0");
        assert_eq!(s.recent_item_keys_before("b", 5).unwrap(), before_b);
        // only the last n sessions
        let before_c = s.recent_item_keys_before("c", 1).unwrap();
        assert_eq!(before_c, HashSet::from(["b0".to_string()]));
        let all = s.requests(None).unwrap();
        assert_eq!(all[0].session, None);
        assert_eq!(all[3].session.as_deref(), Some("a"));
        assert_eq!(all[3].shuffle, 1);
    }

    #[test]
    fn history_has_one_entry_per_reading_and_deletes_entries() {
        let mut s = Store::open_in_memory().unwrap();
        let rec = |s: &mut Store, mood: Emotion, strategy: &str, visit: Option<&str>, k: &str| {
            let m = visit.map(|v| meta(v, strategy, 0));
            s.record_list(
                100,
                "manual",
                mood,
                &[0.0; 7],
                strategy,
                0.5,
                0.1,
                &[item(k)],
                m.as_ref(),
            )
            .unwrap()
        };
        // a reading in a named session, re-ranked twice (strategy switch, new picks): one entry
        let first = rec(&mut s, Emotion::Happy, "match", Some("web-a1"), "a");
        rec(&mut s, Emotion::Happy, "calm", Some("web-a1"), "b");
        rec(&mut s, Emotion::Happy, "calm", Some("web-a1"), "c");
        // another mood in the same named session: its own entry
        rec(&mut s, Emotion::Sad, "comfort", Some("web-a1"), "d");
        // automatic sessions and legacy rows: one entry per request
        rec(&mut s, Emotion::Fear, "calm", Some("auto:1"), "e");
        rec(&mut s, Emotion::Fear, "calm", Some("auto:1"), "f");
        rec(&mut s, Emotion::Angry, "match", None, "g");
        assert_eq!(s.request_count().unwrap(), 7);
        assert_eq!(s.history_count().unwrap(), 5);
        let h = s.history(None).unwrap();
        assert_eq!(h.len(), 5);
        // the entry keeps its first id and shows the latest strategy and list
        assert_eq!(h[0].id, first);
        assert_eq!(h[0].strategy, "calm");
        assert_eq!(h[0].items[0].key, "c");
        assert_eq!(h[1].mood, Emotion::Sad);
        assert_eq!(s.history(Some(2)).unwrap()[0].mood, Emotion::Fear);
        // deleting the entry deletes every request it groups, and only those
        assert!(s.delete_history_entry(first).unwrap());
        assert!(!s.delete_history_entry(first).unwrap());
        assert_eq!(s.history_count().unwrap(), 4);
        assert_eq!(s.request_count().unwrap(), 4);
        s.set_feedback(&Feedback {
            item_key: "g".into(),
            kind: "movie".into(),
            title: "G".into(),
            liked: true,
            tags: vec![],
        })
        .unwrap();
        assert_eq!(s.clear_history().unwrap(), 4);
        assert_eq!(s.history_count().unwrap(), 0);
        assert!(s.history(None).unwrap().is_empty());
        // likes stay until removed
        assert_eq!(s.feedback().unwrap().len(), 1);
        assert!(s.delete_feedback("g").unwrap());
        assert!(!s.delete_feedback("g").unwrap());
        assert!(s.feedback().unwrap().is_empty());
    }

    #[test]
    fn a_new_database_opened_at_once_by_several_threads() {
        for round in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("db{round}.sqlite"));
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let (p, b) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        b.wait();
                        Store::open(&p).map(|s| s.schema_version().unwrap())
                    })
                })
                .collect();
            for h in handles {
                let v = h.join().unwrap().expect("opens while others migrate");
                assert_eq!(v, MIGRATIONS.len() as i64);
            }
        }
    }

    #[test]
    fn a_version_1_database_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO tracks (key, artist, title, spotify_id, genre, features, source)
                 VALUES ('k', 'Michael BublÃ©', 'Home', NULL, 'pop', NULL, 'spotify-csv')",
                [],
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let t = &s.tracks().unwrap()[0];
        assert_eq!(t.artist, "Michael Bublé", "mojibake repaired on read");
        assert_eq!(t.popularity, None);
    }

    #[test]
    fn recommended_items_are_found_by_title_forms() {
        let mut s = Store::open_in_memory().unwrap();
        let items = [
            StoredItem {
                kind: "movie".into(),
                key: "movie:tmdb:1".into(),
                title: "Up (2009)".into(),
                link: "l".into(),
            },
            StoredItem {
                kind: "track".into(),
                key: "track:spotify:x".into(),
                title: "Radiohead — Creep".into(),
                link: "l".into(),
            },
        ];
        s.record_request(
            1,
            "manual",
            Emotion::Sad,
            &[0.0; 7],
            "match",
            0.0,
            0.0,
            &items,
        )
        .unwrap();
        assert_eq!(
            s.find_recommended("up").unwrap().unwrap().key,
            "movie:tmdb:1"
        );
        assert_eq!(
            s.find_recommended("Up (2009)").unwrap().unwrap().key,
            "movie:tmdb:1"
        );
        assert_eq!(
            s.find_recommended("creep").unwrap().unwrap().key,
            "track:spotify:x"
        );
        assert_eq!(
            s.find_recommended("track:spotify:x").unwrap().unwrap().kind,
            "track"
        );
        assert!(s.find_recommended("u").unwrap().is_none());
    }

    #[test]
    fn feedback_replaces_earlier_opinion() {
        let mut s = Store::open_in_memory().unwrap();
        let mut f = Feedback {
            item_key: "movie:tmdb:1".into(),
            kind: "movie".into(),
            title: "X".into(),
            liked: true,
            tags: vec!["genre:35".into()],
        };
        s.set_feedback(&f).unwrap();
        f.liked = false;
        s.set_feedback(&f).unwrap();
        let all = s.feedback().unwrap();
        assert_eq!(all.len(), 1);
        assert!(!all[0].liked);
        assert_eq!(all[0].tags, vec!["genre:35".to_string()]);
    }

    /// Helper run as a child process by `survives_kill_mid_write`: writes requests until killed.
    #[test]
    fn kill_writer_helper() {
        let Ok(path) = std::env::var("MOODLENS_KILL_WRITER_DB") else {
            return;
        };
        let mut s = Store::open(Path::new(&path)).unwrap();
        let items: Vec<_> = (0..50).map(|i| item(&format!("k{i}"))).collect();
        for i in 0.. {
            s.record_request(
                i,
                "manual",
                Emotion::Fear,
                &[0.0; 7],
                "calm",
                0.0,
                0.0,
                &items,
            )
            .unwrap();
        }
    }

    #[test]
    fn survives_kill_mid_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kill.db");
        Store::open(&path).unwrap();
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "store::tests::kill_writer_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MOODLENS_KILL_WRITER_DB", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let n = Store::open(&path).unwrap().request_count().unwrap();
            if n >= 20 || std::time::Instant::now() > deadline {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL, mid-write
        child.wait().unwrap();
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
        let n = s.request_count().unwrap();
        assert!(n >= 20, "writer made {n} requests");
        // every committed session is whole
        for rec in s.requests(Some(5)).unwrap() {
            assert_eq!(rec.items.len(), 50);
        }
        s.record_request(
            1,
            "manual",
            Emotion::Happy,
            &[0.0; 7],
            "match",
            0.0,
            0.0,
            &[],
        )
        .unwrap();
        assert_eq!(s.request_count().unwrap(), n + 1);
    }
}
