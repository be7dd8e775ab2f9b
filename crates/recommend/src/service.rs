//! The recommendation service: the configuration, the live TMDb/Spotify clients and the local
//! store, built once and shared by every request. The CLI builds one per command; the web app one
//! per server (so a request neither re-reads the config nor reopens and migrates the database).

use crate::config::Config;
use crate::engine::{group_mood, recommend, Aggregation, Live, Recommendations, Request};
use crate::error::{RecommendError, Result};
use crate::mood::{Mood, SessionMood, Strategy};
use crate::online::{DiskCache, Http, SpotifyAuth, SpotifyClient, TmdbAuth, TmdbClient};
use crate::store::{default_db_path, Store};
use std::path::PathBuf;
use std::sync::Mutex;

/// Where a [`Recommender`] comes from: the database, the configuration file, whether to stay
/// offline. `ServiceConfig::default()`: `$MOODLENS_DB` or the platform data folder, then
/// `$MOODLENS_RECOMMEND_CONFIG` or the built-in configuration, live APIs when keys are set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceConfig {
    /// The SQLite database (history, feedback, imported catalogs); `None`: the default place.
    pub db: Option<PathBuf>,
    /// A recommend configuration TOML; `None`: `$MOODLENS_RECOMMEND_CONFIG`, else built in.
    pub config: Option<PathBuf>,
    /// Only the embedded and imported catalogs, even when API keys are set.
    pub offline: bool,
}

impl ServiceConfig {
    /// The configuration this names (read through `env` for `MOODLENS_RECOMMEND_CONFIG`).
    pub fn load_config(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        match self
            .config
            .clone()
            .or_else(|| env("MOODLENS_RECOMMEND_CONFIG").map(PathBuf::from))
        {
            Some(p) => Config::load(&p).map_err(|e| {
                RecommendError::Config(format!("loading config {}: {e}", p.display()))
            }),
            None => Ok(Config::default()),
        }
    }

    /// The database path this names.
    pub fn db_path(&self) -> Result<PathBuf> {
        self.db.clone().or_else(default_db_path).ok_or_else(|| {
            RecommendError::NotFound("no data folder found: pass --db <PATH>".into())
        })
    }

    /// Opens (and migrates) the database this names.
    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.db_path()?)
    }
}

/// The live TMDb/Spotify clients that the keys in `env` allow (base URLs and cache folder from
/// `env` and `cfg`); none when `offline`.
pub fn live_clients(cfg: &Config, offline: bool, env: &dyn Fn(&str) -> Option<String>) -> Live {
    if offline {
        return Live::default();
    }
    let lc = cfg.live.clone().with_overrides(env);
    let cache = DiskCache::dir_from(env).map(|d| DiskCache::new(d, lc.cache_ttl_secs));
    let http = Http::new(lc, cache);
    Live {
        tmdb: TmdbAuth::from_lookup(env).map(|a| TmdbClient::new(http.clone(), a)),
        spotify: SpotifyAuth::from_lookup(env).map(|a| SpotifyClient::new(http.clone(), a)),
    }
}

/// Films and tracks per list unless asked otherwise (the CLI's and the web app's default).
pub const DEFAULT_ITEMS: usize = 5;

/// What one request asks for: the knobs that change from request to request.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    /// `None`: the mood's default strategy (`[default_strategy]` in the config).
    pub strategy: Option<Strategy>,
    pub movies: usize,
    pub music: usize,
    /// Same seed, same catalog, same history → same list.
    pub seed: Option<u64>,
    /// Record the request in the history.
    pub record: bool,
    /// New picks for the same mood and strategy.
    pub shuffle: bool,
    /// The session the request belongs to (`None`: an automatic one).
    pub session: Option<String>,
    /// How one list serves several people (least misery when `None`).
    pub group: Option<Aggregation>,
    /// Also adult films and explicit tracks.
    pub allow_explicit: bool,
}

impl Default for Ask {
    fn default() -> Self {
        Ask {
            strategy: None,
            movies: DEFAULT_ITEMS,
            music: DEFAULT_ITEMS,
            seed: None,
            record: true,
            shuffle: false,
            session: None,
            group: None,
            allow_explicit: false,
        }
    }
}

/// See the module docs.
pub struct Recommender {
    config: Config,
    live: Live,
    store: Option<Mutex<Store>>,
    /// Why there is no store (said with every list, which then is not remembered).
    store_problem: Option<String>,
}

impl Recommender {
    /// A service over `config` and `live`; `store` is the database, or why it could not be opened
    /// (recommendations still work, and say that nothing is remembered).
    pub fn new(config: Config, live: Live, store: std::result::Result<Store, String>) -> Self {
        let (store, store_problem) = match store {
            Ok(s) => (Some(Mutex::new(s)), None),
            Err(e) => (None, Some(e)),
        };
        Recommender {
            config,
            live,
            store,
            store_problem,
        }
    }

    /// The service `sc` describes, with API keys, base URLs and the cache folder read through
    /// `env` (the process environment: `&|k| std::env::var(k).ok()`). A bad configuration file
    /// is an error; a database that cannot be opened is a notice with every list.
    pub fn open(sc: &ServiceConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Recommender> {
        let config = sc.load_config(env)?;
        let live = live_clients(&config, sc.offline, env);
        let store = sc.open_store().map_err(|e| match sc.db_path() {
            Ok(p) => format!("opening database {}: {e}", p.display()),
            Err(_) => e.to_string(),
        });
        Ok(Recommender::new(config, live, store))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Recommendations for a session's mood: one list for the group when several people were
    /// seen (`ask.group`, least misery by default), else for the mood.
    pub fn for_session(
        &self,
        mood: &SessionMood,
        source: &str,
        ask: &Ask,
    ) -> Result<Recommendations> {
        if mood.is_group() {
            self.for_people(mood.people.clone(), source, ask)
        } else {
            self.for_mood(mood.mood.clone(), source, ask)
        }
    }

    /// Recommendations for one mood.
    pub fn for_mood(&self, mood: Mood, source: &str, ask: &Ask) -> Result<Recommendations> {
        self.run(mood, Vec::new(), source, ask)
    }

    /// One list for several people (each person's mood, in frame order); one person: as
    /// [`Recommender::for_mood`].
    pub fn for_people(
        &self,
        people: Vec<Mood>,
        source: &str,
        ask: &Ask,
    ) -> Result<Recommendations> {
        match people.len() {
            0 => Err(RecommendError::InvalidMood(
                "no person to recommend for".into(),
            )),
            1 => {
                let mood = people.into_iter().next().expect("one person");
                self.run(mood, Vec::new(), source, ask)
            }
            _ => {
                let mood = group_mood(&people)?;
                self.run(mood, people, source, ask)
            }
        }
    }

    fn run(
        &self,
        mood: Mood,
        people: Vec<Mood>,
        source: &str,
        ask: &Ask,
    ) -> Result<Recommendations> {
        let strategy = ask
            .strategy
            .unwrap_or_else(|| self.config.strategy_for(mood.emotion));
        let req = Request {
            movies: ask.movies,
            music: ask.music,
            seed: ask.seed,
            source: source.to_string(),
            record: ask.record,
            people,
            aggregation: ask.group.unwrap_or_default(),
            session: ask.session.clone(),
            shuffle: ask.shuffle,
            allow_explicit: ask.allow_explicit,
            ..Request::new(mood, strategy)
        };
        let mut rec = match &self.store {
            Some(m) => {
                let mut store = m.lock().unwrap_or_else(|p| p.into_inner());
                recommend(&req, &self.config, Some(&mut store), &self.live)?
            }
            None => recommend(&req, &self.config, None, &self.live)?,
        };
        if let Some(p) = &self.store_problem {
            rec.notices.insert(
                0,
                format!("history unavailable ({p}): nothing will be remembered"),
            );
        }
        Ok(rec)
    }

    /// Runs `f` on the database (one caller at a time); an error when there is none.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        match &self.store {
            Some(m) => f(&mut m.lock().unwrap_or_else(|p| p.into_inner())),
            None => Err(RecommendError::NotFound(format!(
                "no database: {}",
                self.store_problem.as_deref().unwrap_or("none was opened")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moodlens_common::Emotion;

    #[test]
    fn one_service_serves_many_requests_and_says_when_nothing_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let service = Recommender::new(Config::default(), Live::default(), Ok(store));
        let ask = Ask {
            seed: Some(1),
            ..Ask::default()
        };
        let sad = service
            .for_mood(Mood::from_emotion(Emotion::Sad), "manual", &ask)
            .unwrap();
        assert_eq!(sad.mood, "sad");
        assert_eq!(sad.movies.len(), DEFAULT_ITEMS);
        assert!(sad
            .notices
            .iter()
            .all(|n| !n.contains("history unavailable")));
        let session = SessionMood {
            mood: Mood::from_emotion(Emotion::Happy),
            people: vec![
                Mood::from_emotion(Emotion::Happy),
                Mood::from_emotion(Emotion::Fear),
            ],
        };
        let group = service.for_session(&session, "camera", &ask).unwrap();
        assert_eq!(group.people.len(), 2);
        let n = service.with_store(|s| Ok(s.requests(None)?.len())).unwrap();
        assert_eq!(n, 2);

        let service = Recommender::new(
            Config::default(),
            Live::default(),
            Err("cannot open x.db".into()),
        );
        let r = service
            .for_mood(Mood::from_emotion(Emotion::Sad), "manual", &ask)
            .unwrap();
        assert!(r.notices[0].contains("cannot open x.db"), "{:?}", r.notices);
        assert!(service.with_store(|_| Ok(())).is_err());
    }
    /// Keys and base URLs from the environment drive the live clients end to end (through a map,
    /// not the process environment, which tests running in parallel share).
    #[test]
    fn env_keys_and_base_urls_drive_live_clients() {
        use crate::online::fake::serve;
        let srv = serve(crate::online::tests::both_services_answer);
        let dir = tempfile::tempdir().unwrap();
        let vars: std::collections::HashMap<&str, String> = [
            ("TMDB_API_KEY", "env-key-123".to_string()),
            ("SPOTIFY_CLIENT_ID", "cid".into()),
            ("SPOTIFY_CLIENT_SECRET", "csecret".into()),
            ("MOODLENS_TMDB_BASE_URL", srv.url.clone()),
            ("MOODLENS_SPOTIFY_API_URL", format!("{}/v1", srv.url)),
            ("MOODLENS_SPOTIFY_ACCOUNTS_URL", srv.url.clone()),
            (
                "MOODLENS_CACHE_DIR",
                dir.path().join("cache").display().to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let env = |k: &str| vars.get(k).cloned();
        let sc = ServiceConfig {
            db: Some(dir.path().join("m.db")),
            ..ServiceConfig::default()
        };
        let service = Recommender::open(&sc, &env).unwrap();
        let sad = || Mood::from_emotion(Emotion::Sad);
        let ask = Ask {
            seed: Some(1),
            ..Ask::default()
        };
        let rec = service.for_mood(sad(), "manual", &ask).unwrap();
        assert!(rec.notices.is_empty(), "{:?}", rec.notices);
        assert!(rec
            .playlists
            .iter()
            .any(|m| m.source == crate::catalog::Source::SpotifyLive));
        // live films join the candidates (seeded noise decides whether one makes a list)
        let live_films: usize = (1..=4)
            .map(|seed| {
                let ask = Ask {
                    seed: Some(seed),
                    strategy: Some(Strategy::Match),
                    ..ask.clone()
                };
                let r = service.for_mood(sad(), "manual", &ask).unwrap();
                r.movies
                    .iter()
                    .filter(|m| m.source == crate::catalog::Source::TmdbLive)
                    .count()
            })
            .sum();
        assert!(live_films > 0);
        let seen = srv.seen.lock().unwrap().clone();
        assert!(seen
            .iter()
            .any(|r| r.target.contains("api_key=env-key-123")));
        assert!(seen.iter().any(|r| r.target.starts_with("/v1/search")));
        // responses were cached under the given folder, without the key
        let files: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .unwrap()
            .collect();
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            assert!(!text.contains("env-key-123") && !text.contains("csecret"));
        }
        // no keys in the environment, or offline: no live clients, no requests
        let before = srv.seen.lock().unwrap().len();
        for (sc, env) in [
            (
                sc.clone(),
                &(|_: &str| None) as &dyn Fn(&str) -> Option<String>,
            ),
            (
                ServiceConfig {
                    offline: true,
                    ..sc.clone()
                },
                &env as &dyn Fn(&str) -> Option<String>,
            ),
        ] {
            let service = Recommender::open(&sc, env).unwrap();
            let rec = service.for_mood(sad(), "manual", &ask).unwrap();
            assert!(rec
                .movies
                .iter()
                .all(|m| m.source != crate::catalog::Source::TmdbLive));
        }
        assert_eq!(srv.seen.lock().unwrap().len(), before);
    }

    #[test]
    fn a_bad_config_file_is_an_error_and_a_bad_database_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "this is = = not toml").unwrap();
        let none = |_: &str| None;
        let sc = ServiceConfig {
            config: Some(bad.clone()),
            offline: true,
            ..ServiceConfig::default()
        };
        let e = Recommender::open(&sc, &none)
            .err()
            .expect("a bad config fails");
        assert!(e.to_string().contains("bad.toml"), "{e}");
        // the variable names the file when no path is given
        let env = |k: &str| (k == "MOODLENS_RECOMMEND_CONFIG").then(|| bad.display().to_string());
        assert!(Recommender::open(&ServiceConfig::default(), &env).is_err());
        // a file where the database's folder should be
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let sc = ServiceConfig {
            db: Some(dir.path().join("file/x.db")),
            offline: true,
            ..ServiceConfig::default()
        };
        let service = Recommender::open(&sc, &none).unwrap();
        let r = service
            .for_mood(
                Mood::from_emotion(Emotion::Happy),
                "manual",
                &Ask::default(),
            )
            .unwrap();
        assert!(r.notices[0].contains("x.db"), "{:?}", r.notices);
    }
}
