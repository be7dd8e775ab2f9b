//! The recommendation service: the configuration, the live TMDb/Spotify clients and the local
//! store, built once and shared by every request. The CLI builds one per command; the web app one
//! per server (so a request neither re-reads the config nor reopens and migrates the database).

use crate::config::Config;
use crate::engine::{group_mood, recommend, Aggregation, Live, Recommendations, Request};
use crate::error::{RecommendError, Result};
use crate::mood::{Mood, SessionMood, Strategy};
use crate::store::Store;
use std::sync::Mutex;

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
        let n = service.with_store(|s| Ok(s.sessions(None)?.len())).unwrap();
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
}
