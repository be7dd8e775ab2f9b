//! Ranking: from a mood and a strategy to movies, music and playlists, drawing on the embedded,
//! imported and (when keys are set) live catalogs, with feedback, no-repeat and seeded variety.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::catalog::{embedded_films, embedded_tracks, normalize_title, url_encode, Film, Track};
use crate::config::{tmdb_genre_name, Config};
use crate::error::{RecommendError, Result};
use crate::live::{SpotifyClient, TmdbClient};
use crate::mood::{Mood, MusicMood, Strategy, Va};
use crate::store::{now_secs, Feedback, Store, StoredItem};

/// What to recommend for.
#[derive(Debug, Clone)]
pub struct Request {
    pub mood: Mood,
    pub strategy: Strategy,
    pub movies: usize,
    pub music: usize,
    /// Same seed, same catalog, same history → same list. `None`: a fresh random seed.
    pub seed: Option<u64>,
    /// Where the mood came from: camera | video | image | manual.
    pub source: String,
    /// Store the session in the history (when a store is given).
    pub record: bool,
}

/// Live clients; both optional (no keys → offline).
#[derive(Default)]
pub struct Live {
    pub tmdb: Option<TmdbClient>,
    pub spotify: Option<SpotifyClient>,
}

/// One recommended item (stable JSON shape, see docs/RECOMMEND.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecItem {
    /// "movie", "track" or "playlist".
    pub kind: String,
    /// Key for `moodlens feedback`.
    pub key: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// The item itself when its id is verified, otherwise a search.
    pub link: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// Music placement on the circumplex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arousal: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music_mood: Option<String>,
    /// embedded | movielens | tmdb-csv | spotify-csv | tmdb-live | spotify-live | search
    pub source: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    pub mood: String,
    pub probabilities: BTreeMap<String, f64>,
    pub valence: f64,
    pub arousal: f64,
    pub strategy: String,
    /// The TMDb genres the mood and strategy point to, best first.
    pub genres: Vec<String>,
    pub seed: u64,
    pub movies: Vec<RecItem>,
    pub music: Vec<RecItem>,
    pub playlists: Vec<RecItem>,
    /// Visible notices (e.g. a live service failed and the offline catalog was used).
    pub notices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
}

fn film_item(f: &Film) -> RecItem {
    RecItem {
        kind: "movie".into(),
        key: f.key(),
        title: f.title.clone(),
        year: f.year,
        artist: None,
        link: f.link(),
        genres: f.genre_names().into_iter().map(str::to_string).collect(),
        rating: f.rating.map(|r| (r * 10.0).round() / 10.0),
        valence: None,
        arousal: None,
        music_mood: None,
        source: f.source.clone(),
    }
}

fn track_item(t: &Track) -> RecItem {
    let va = t.features.map(|f| f.va());
    RecItem {
        kind: "track".into(),
        key: t.key(),
        title: t.title.clone(),
        year: None,
        artist: Some(t.artist.clone()),
        link: t.link(),
        genres: t.genre.iter().cloned().collect(),
        rating: None,
        valence: va.map(|v| (v.valence * 100.0).round() / 100.0),
        arousal: va.map(|v| (v.arousal * 100.0).round() / 100.0),
        music_mood: t.features.map(|f| f.music_mood().label().to_string()),
        source: t.source.clone(),
    }
}

/// Tags a like/dislike applies to: genres for films, artist and genre for tracks.
pub fn film_tags(f: &Film) -> Vec<String> {
    f.genres.iter().map(|g| format!("genre:{g}")).collect()
}

pub fn track_tags(t: &Track) -> Vec<String> {
    let mut v = vec![format!("artist:{}", normalize_title(&t.artist))];
    if let Some(g) = &t.genre {
        v.push(format!("tag:{}", normalize_title(g)));
    }
    v
}

/// Gumbel noise: adding it to scores and taking the top k samples without replacement in
/// proportion to exp(score / temperature).
fn gumbel(rng: &mut impl Rng) -> f64 {
    let u: f64 = rng.gen_range(1e-12..1.0);
    -(-u.ln()).ln()
}

/// All offline films: embedded plus imported (imported wins on the same key).
pub fn offline_films(store: Option<&Store>) -> Result<Vec<Film>> {
    let imported = match store {
        Some(s) => s.films()?,
        None => Vec::new(),
    };
    Ok(merge_by_key(embedded_films(), imported, Film::key))
}

/// All offline tracks with audio features: embedded plus imported.
pub fn offline_tracks(store: Option<&Store>) -> Result<Vec<Track>> {
    let imported = match store {
        Some(s) => s.tracks()?,
        None => Vec::new(),
    };
    let imported = imported.into_iter().filter(|t| t.features.is_some());
    Ok(merge_by_key(embedded_tracks(), imported, Track::key))
}

/// `base` then `over`, one item per key (a later item replaces an earlier one), sorted by key.
fn merge_by_key<T>(
    base: impl IntoIterator<Item = T>,
    over: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    let mut by_key: HashMap<String, T> = HashMap::new();
    for item in base.into_iter().chain(over) {
        by_key.insert(key(&item), item);
    }
    let mut v: Vec<T> = by_key.into_values().collect();
    v.sort_by_key(|a| key(a));
    v
}

struct Prefs {
    disliked: HashSet<String>,
    liked_tags: HashMap<String, f64>,
    recent: HashSet<String>,
}

impl Prefs {
    fn load(store: Option<&Store>, no_repeat: usize) -> Result<Prefs> {
        let mut p = Prefs {
            disliked: HashSet::new(),
            liked_tags: HashMap::new(),
            recent: HashSet::new(),
        };
        if let Some(s) = store {
            for f in s.feedback()? {
                if f.liked {
                    for t in f.tags {
                        *p.liked_tags.entry(t).or_insert(0.0) += 1.0;
                    }
                } else {
                    p.disliked.insert(f.item_key);
                }
            }
            if no_repeat > 0 {
                p.recent = s.recent_item_keys(no_repeat)?;
            }
        }
        Ok(p)
    }

    /// Like boost for a set of tags, saturating.
    fn boost(&self, tags: &[String]) -> f64 {
        let n: f64 = tags.iter().filter_map(|t| self.liked_tags.get(t)).sum();
        1.0 - (-0.5 * n).exp()
    }
}

/// Pick `n` of `scored` (key, score): best first, never a disliked item, items shown recently only
/// when there are not enough others.
fn pick_top(mut scored: Vec<(usize, String, f64)>, n: usize, prefs: &Prefs) -> Vec<usize> {
    scored.retain(|(_, k, _)| !prefs.disliked.contains(k));
    scored.sort_by(|a, b| b.2.total_cmp(&a.2));
    let fresh: Vec<usize> = scored
        .iter()
        .filter(|(_, k, _)| !prefs.recent.contains(k))
        .map(|(i, _, _)| *i)
        .take(n)
        .collect();
    if fresh.len() >= n {
        return fresh;
    }
    let mut out = fresh;
    for (i, _, _) in &scored {
        if out.len() >= n {
            break;
        }
        if !out.contains(i) {
            out.push(*i);
        }
    }
    out
}

/// Prior for ratings with few votes: a film's rating is shrunk toward 6.0/10 as if it had 25 more
/// votes at that value (IMDb-style Bayesian average); unknown ratings count as 6.0.
pub fn bayesian_rating(rating: Option<f64>, votes: Option<u64>) -> f64 {
    const PRIOR: f64 = 6.0;
    const M: f64 = 25.0;
    match (rating, votes) {
        (Some(r), Some(v)) => (r * v as f64 + PRIOR * M) / (v as f64 + M),
        (Some(r), None) => r,
        (None, _) => PRIOR,
    }
}

/// Rank films for the mood.
fn rank_films(
    films: &[Film],
    weights: &BTreeMap<u32, f64>,
    n: usize,
    prefs: &Prefs,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let maxw = weights.values().cloned().fold(0.0, f64::max).max(1e-9);
    let scored: Vec<(usize, String, f64)> = films
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let ws: Vec<f64> = f
                .genres
                .iter()
                .map(|g| {
                    let liked = prefs
                        .liked_tags
                        .get(&format!("genre:{g}"))
                        .copied()
                        .unwrap_or(0.0);
                    weights.get(g).copied().unwrap_or(0.0) / maxw + (0.35 * liked).min(1.0)
                })
                .collect();
            let best = ws.iter().cloned().fold(0.0, f64::max);
            let rest: f64 = ws.iter().sum::<f64>() - best;
            let affinity = best + 0.2 * rest.min(1.0);
            let quality = bayesian_rating(f.rating, f.votes) / 10.0;
            let unrelated = if affinity <= 0.0 { -2.0 } else { 0.0 };
            // live results are fresh picks from a random page: a small preference
            let live = if f.source == "tmdb-live" { 0.6 } else { 0.0 };
            let s = 2.0 * affinity + 1.5 * quality + unrelated + live + 0.25 * gumbel(rng);
            (i, f.key(), s)
        })
        .collect();
    pick_top(scored, n, prefs)
}

/// Choose music along the strategy's path: each slot takes a track near its target point.
fn rank_tracks(tracks: &[Track], path: &[Va], prefs: &Prefs, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::new();
    let mut artists: HashSet<String> = HashSet::new();
    for target in path {
        let scored: Vec<(usize, String, f64)> = tracks
            .iter()
            .enumerate()
            .filter(|(i, t)| !chosen.contains(i) && !artists.contains(&normalize_title(&t.artist)))
            .filter_map(|(i, t)| {
                let va = t.features?.va();
                let s = -4.0 * va.dist2(*target)
                    + 0.3 * prefs.boost(&track_tags(t))
                    + 0.08 * gumbel(rng);
                Some((i, t.key(), s))
            })
            .collect();
        if let Some(i) = pick_top(scored, 1, prefs).first() {
            artists.insert(normalize_title(&tracks[*i].artist));
            chosen.push(*i);
        }
    }
    chosen
}

fn search_playlist(query: &str) -> RecItem {
    RecItem {
        kind: "playlist".into(),
        key: format!("playlist:search:{}", normalize_title(query)),
        title: query.to_string(),
        year: None,
        artist: None,
        link: format!(
            "https://open.spotify.com/search/{}/playlists",
            url_encode(query)
        ),
        genres: vec![],
        rating: None,
        valence: None,
        arousal: None,
        music_mood: None,
        source: "search".into(),
    }
}

/// A client thread's result; a panic in it becomes an error (and so an offline fallback).
fn joined<T>(service: &'static str, r: std::thread::Result<Result<T>>) -> Result<T> {
    r.unwrap_or_else(|_| {
        Err(RecommendError::Http {
            service,
            msg: "client thread failed".into(),
        })
    })
}

/// Recommend movies, music and playlists; stores the session when a store is given.
pub fn recommend(
    req: &Request,
    cfg: &Config,
    store: Option<&mut Store>,
    live: &Live,
) -> Result<Recommendations> {
    let seed = req.seed.unwrap_or_else(|| rand::thread_rng().gen());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let prefs = Prefs::load(store.as_deref(), cfg.no_repeat_sessions)?;
    let mut notices = Vec::new();
    let weights = cfg.genre_weights(req.strategy, &req.mood.probabilities);

    // ---- music (offline catalogs: placement needs audio features)
    let tracks = offline_tracks(store.as_deref())?;
    let path = req.strategy.music_path(req.mood.va, req.music);
    let mut music_items: Vec<RecItem> = rank_tracks(&tracks, &path, &prefs, &mut rng)
        .into_iter()
        .map(|i| track_item(&tracks[i]))
        .collect();

    // ---- playlists: search queries for the music moods where the list starts and ends (the
    // chosen tracks' labels; `calm` only the end)
    let mut moods: Vec<MusicMood> = Vec::new();
    let label_of = |i: &RecItem| {
        i.music_mood
            .as_deref()
            .and_then(|m| m.parse::<MusicMood>().ok())
    };
    let ends: Vec<Option<MusicMood>> = match req.strategy {
        Strategy::Calm => vec![music_items.last().and_then(label_of)],
        _ => vec![
            music_items.first().and_then(label_of),
            music_items.last().and_then(label_of),
        ],
    };
    for m in ends.into_iter().flatten() {
        if !moods.contains(&m) {
            moods.push(m);
        }
    }
    if moods.is_empty() {
        moods.push(MusicMood::for_va(*path.last().unwrap_or(&req.mood.va)));
    }
    let mut queries: Vec<String> = Vec::new();
    for m in &moods {
        if let Some(qs) = cfg.playlists.get(m) {
            if !qs.is_empty() {
                queries.push(qs[rng.gen_range(0..qs.len())].clone());
            }
        }
    }

    // ---- live services, both at once (a slow one does not add to the other's wait)
    let mut top: Vec<(u32, f64)> = weights.iter().map(|(g, w)| (*g, *w)).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let genres: Vec<u32> = top.iter().take(3).map(|(g, _)| *g).collect();
    let mut tmdb_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
    type SpotifyFound = (Vec<crate::live::Playlist>, Vec<Track>);
    let (tmdb_res, spotify_res): (Option<Result<Vec<Film>>>, Option<Result<SpotifyFound>>) =
        std::thread::scope(|sc| {
            let t = live.tmdb.as_ref().map(|c| {
                let genres = &genres;
                let rng = &mut tmdb_rng;
                sc.spawn(move || c.discover_random(genres, cfg.tmdb_min_votes, rng))
            });
            let sp = live.spotify.as_ref().map(|c| {
                let queries = &queries;
                sc.spawn(move || -> Result<SpotifyFound> {
                    let (mut pls, mut trs) = (Vec::new(), Vec::new());
                    for q in queries {
                        match c.search(q, 10) {
                            Ok((p, t)) => {
                                pls.extend(p.into_iter().take(3));
                                trs.extend(t);
                            }
                            Err(e) if pls.is_empty() && trs.is_empty() => return Err(e),
                            Err(_) => break,
                        }
                    }
                    Ok((pls, trs))
                })
            });
            (
                t.map(|h| joined("TMDb", h.join())),
                sp.map(|h| joined("Spotify", h.join())),
            )
        });

    // ---- movies
    let mut films = offline_films(store.as_deref())?;
    match tmdb_res {
        None => {}
        Some(Ok(live_films)) if !live_films.is_empty() => {
            // live results first: they replace the offline ones with the same key
            let keys: HashSet<String> = live_films.iter().map(Film::key).collect();
            films.retain(|f| !keys.contains(&f.key()));
            let offline = std::mem::take(&mut films);
            films = live_films;
            films.extend(offline);
        }
        Some(Ok(_)) => notices.push("TMDb returned no movies: using the offline catalog".into()),
        Some(Err(e)) => notices.push(format!("TMDb unavailable ({e}): using the offline catalog")),
    }
    let movie_items: Vec<RecItem> = rank_films(&films, &weights, req.movies, &prefs, &mut rng)
        .into_iter()
        .map(|i| film_item(&films[i]))
        .collect();

    // ---- live music: playlists, and for `match` congruent search hits (not placed on the path)
    let mut playlists: Vec<RecItem> = Vec::new();
    match spotify_res {
        None => {}
        Some(Ok((pls, trs))) => {
            for p in pls {
                playlists.push(RecItem {
                    kind: "playlist".into(),
                    key: format!("playlist:{}", p.link),
                    title: p.name,
                    year: None,
                    artist: p.owner,
                    link: p.link,
                    genres: vec![],
                    rating: None,
                    valence: None,
                    arousal: None,
                    music_mood: None,
                    source: "spotify-live".into(),
                });
            }
            if req.strategy == Strategy::Match {
                let mut seen: HashSet<String> = music_items.iter().map(|m| m.key.clone()).collect();
                let live_tracks: Vec<RecItem> = trs
                    .iter()
                    .map(track_item)
                    .filter(|t| !prefs.disliked.contains(&t.key) && !prefs.recent.contains(&t.key))
                    .filter(|t| seen.insert(t.key.clone()))
                    .take(req.music / 2)
                    .collect();
                music_items.truncate(req.music.saturating_sub(live_tracks.len()));
                music_items.extend(live_tracks);
            }
        }
        Some(Err(e)) => notices.push(format!(
            "Spotify unavailable ({e}): using the offline catalog"
        )),
    }
    if playlists.is_empty() {
        playlists = queries.iter().map(|q| search_playlist(q)).collect();
    }

    let mut probabilities = BTreeMap::new();
    for e in moodlens_common::Emotion::ALL {
        probabilities.insert(e.label().to_string(), req.mood.probabilities[e.index()]);
    }
    let mut rec = Recommendations {
        mood: req.mood.emotion.label().to_string(),
        probabilities,
        valence: req.mood.va.valence,
        arousal: req.mood.va.arousal,
        strategy: req.strategy.label().to_string(),
        genres: top_genres(&weights, 4)
            .into_iter()
            .map(str::to_string)
            .collect(),
        seed,
        movies: movie_items,
        music: music_items,
        playlists,
        notices,
        session_id: None,
    };
    if let Some(s) = store.filter(|_| req.record) {
        let items: Vec<StoredItem> = rec
            .movies
            .iter()
            .chain(rec.music.iter())
            .map(|i| StoredItem {
                kind: i.kind.clone(),
                key: i.key.clone(),
                title: match &i.artist {
                    Some(a) if i.kind == "track" => format!("{a} — {}", i.title),
                    _ => match i.year {
                        Some(y) => format!("{} ({y})", i.title),
                        None => i.title.clone(),
                    },
                },
                link: i.link.clone(),
            })
            .collect();
        let id = s.record_session(
            now_secs(),
            &req.source,
            req.mood.emotion,
            &req.mood.probabilities,
            req.strategy.label(),
            req.mood.va.valence,
            req.mood.va.arousal,
            &items,
        )?;
        rec.session_id = Some(id);
    }
    Ok(rec)
}

/// Record a like or dislike for an item named by its key or its title: items recommended before are
/// found first, then the offline catalogs.
pub fn feedback(store: &mut Store, item: &str, liked: bool) -> Result<Feedback> {
    let films = offline_films(Some(store))?;
    let tracks = offline_tracks(Some(store))?;
    let (key, kind, title) = if let Some(it) = store.find_recommended(item)? {
        (it.key, it.kind, it.title)
    } else {
        let q = normalize_title(item);
        if let Some(f) = films
            .iter()
            .find(|f| f.key() == item || normalize_title(&f.title) == q)
        {
            (f.key(), "movie".to_string(), f.title.clone())
        } else if let Some(t) = tracks.iter().find(|t| {
            t.key() == item
                || normalize_title(&t.title) == q
                || normalize_title(&format!("{} {}", t.artist, t.title)) == q
        }) {
            (
                t.key(),
                "track".to_string(),
                format!("{} — {}", t.artist, t.title),
            )
        } else {
            return Err(RecommendError::NotFound(format!(
                "no recommended or catalog item matches '{item}' (use the key shown by `recommend --json`)"
            )));
        }
    };
    let tags = if kind == "movie" {
        films
            .iter()
            .find(|f| f.key() == key)
            .map(film_tags)
            .unwrap_or_default()
    } else {
        tracks
            .iter()
            .find(|t| t.key() == key)
            .map(track_tags)
            .unwrap_or_default()
    };
    let fb = Feedback {
        item_key: key,
        kind,
        title,
        liked,
        tags,
    };
    store.set_feedback(&fb)?;
    Ok(fb)
}

/// Genre names of a weight map, best first (for explanations).
pub fn top_genres(weights: &BTreeMap<u32, f64>, n: usize) -> Vec<&'static str> {
    let mut v: Vec<_> = weights.iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(a.1));
    v.into_iter()
        .filter_map(|(g, _)| tmdb_genre_name(*g))
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moodlens_common::Emotion;

    fn req(e: Emotion, strategy: Strategy, seed: Option<u64>) -> Request {
        Request {
            mood: Mood::from_emotion(e),
            strategy,
            movies: 6,
            music: 6,
            seed,
            source: "manual".into(),
            record: true,
        }
    }

    /// `recommend` with the embedded catalog and no live services.
    fn run(r: &Request, cfg: &Config, store: Option<&mut Store>) -> Recommendations {
        recommend(r, cfg, store, &Live::default()).unwrap()
    }

    /// [`run`] with the default configuration and no history.
    fn offline(e: Emotion, strategy: Strategy, seed: Option<u64>) -> Recommendations {
        run(&req(e, strategy, seed), &Config::default(), None)
    }

    #[test]
    fn offline_sad_gives_linked_movies_and_music_with_variety() {
        let a = offline(Emotion::Sad, Strategy::Match, None);
        assert_eq!(a.movies.len(), 6);
        assert_eq!(a.music.len(), 6);
        assert!(!a.playlists.is_empty());
        for it in a.movies.iter().chain(&a.music).chain(&a.playlists) {
            assert!(it.link.starts_with("https://"), "{it:?}");
        }
        // match: sad → drama first
        assert!(
            a.movies
                .iter()
                .filter(|m| m.genres.iter().any(|g| g == "Drama"))
                .count()
                >= 4
        );
        let b = offline(Emotion::Sad, Strategy::Match, None);
        let keys = |r: &Recommendations| {
            r.movies
                .iter()
                .chain(&r.music)
                .map(|i| i.key.clone())
                .collect::<Vec<_>>()
        };
        assert_ne!(keys(&a), keys(&b), "two unseeded runs differ");
        let s1 = offline(Emotion::Sad, Strategy::Match, Some(7));
        let s2 = offline(Emotion::Sad, Strategy::Match, Some(7));
        assert_eq!(s1, s2, "same seed, same answer");
    }

    #[test]
    fn strategies_shape_the_music() {
        let up = offline(Emotion::Sad, Strategy::Uplift, Some(1));
        let v: Vec<f64> = up.music.iter().map(|m| m.valence.unwrap()).collect();
        assert!(
            v.last().unwrap() > v.first().unwrap(),
            "uplift rises in valence: {v:?}"
        );
        let calm = offline(Emotion::Angry, Strategy::Calm, Some(1));
        let mean_a: f64 = calm.music.iter().map(|m| m.arousal.unwrap()).sum::<f64>() / 6.0;
        let angry = offline(Emotion::Angry, Strategy::Match, Some(1));
        let mean_b: f64 = angry.music.iter().map(|m| m.arousal.unwrap()).sum::<f64>() / 6.0;
        assert!(mean_a < mean_b, "calm lowers arousal: {mean_a} vs {mean_b}");
        let calm_sad = offline(Emotion::Sad, Strategy::Calm, Some(4));
        let last = calm_sad.music.last().unwrap();
        assert_eq!(
            last.music_mood.as_deref(),
            Some("Calm"),
            "calm ends on calm music: {last:?}"
        );
        let up_movies = offline(Emotion::Sad, Strategy::Uplift, Some(2));
        let comforting = ["Comedy", "Family", "Animation", "Romance", "Music"];
        assert!(up_movies
            .movies
            .iter()
            .all(|m| m.genres.iter().any(|g| comforting.contains(&g.as_str()))));
    }

    #[test]
    fn feedback_and_no_repeat_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.db")).unwrap();
        let cfg = Config::default();
        let happy = req(Emotion::Happy, Strategy::Match, Some(1));
        let first = run(&happy, &cfg, Some(&mut store));
        assert!(first.session_id.is_some());
        // no repeat within the last N sessions while alternatives exist
        let second = run(&happy, &cfg, Some(&mut store));
        for m in second.movies.iter().chain(&second.music) {
            assert!(
                !first
                    .movies
                    .iter()
                    .chain(&first.music)
                    .any(|x| x.key == m.key),
                "{} repeated",
                m.key
            );
        }
        // a disliked item never comes back, even with no-repeat off and the same seed
        let disliked = first.movies[0].clone();
        let fb = feedback(&mut store, &disliked.title, false).unwrap();
        assert_eq!(fb.item_key, disliked.key);
        let mut cfg0 = cfg.clone();
        cfg0.no_repeat_sessions = 0;
        for seed in 0..5 {
            let r = run(
                &req(Emotion::Happy, Strategy::Match, Some(seed)),
                &cfg0,
                Some(&mut store),
            );
            assert!(r.movies.iter().all(|m| m.key != disliked.key));
        }
        let r = run(&happy, &cfg0, None);
        assert!(
            r.movies.iter().any(|m| m.key == disliked.key),
            "without the dislike it would be shown"
        );
        // likes raise the weight of the liked genre
        let mut s2 = Store::open_in_memory().unwrap();
        let comedies: Vec<Film> = offline_films(None)
            .unwrap()
            .into_iter()
            .filter(|f| {
                f.genres.contains(&35)
                    && !f.genres.iter().any(|g| [99, 18, 36, 37, 10770].contains(g))
            })
            .take(3)
            .collect();
        assert_eq!(comedies.len(), 3);
        let count_comedy = |s: Option<&mut Store>| {
            let r = run(&req(Emotion::Neutral, Strategy::Match, Some(3)), &cfg0, s);
            r.movies
                .iter()
                .filter(|m| m.genres.iter().any(|g| g == "Comedy"))
                .count()
        };
        let before = count_comedy(None);
        for c in &comedies {
            feedback(&mut s2, &c.key(), true).unwrap();
        }
        let fb = s2.feedback().unwrap();
        assert!(fb[0].tags.contains(&"genre:35".to_string()));
        let after = count_comedy(Some(&mut s2));
        assert!(after > before, "liked genre rises: {before} -> {after}");
        assert!(feedback(&mut s2, "no such film ever", true).is_err());
    }

    #[test]
    fn few_votes_do_not_beat_many() {
        assert!(bayesian_rating(Some(10.0), Some(1)) < bayesian_rating(Some(8.0), Some(2000)));
        assert!((bayesian_rating(Some(8.0), None) - 8.0).abs() < 1e-12);
        assert_eq!(bayesian_rating(None, Some(5)), 6.0);
    }

    #[test]
    fn probability_mixture_blends_genres() {
        let cfg = Config::default();
        let mut p = [0.0; 7];
        p[Emotion::Fear.index()] = 0.6;
        p[Emotion::Happy.index()] = 0.4;
        let mut r = req(Emotion::Fear, Strategy::Match, Some(5));
        r.mood = Mood::from_probabilities(&p).unwrap();
        r.movies = 10;
        let out = run(&r, &cfg, None);
        assert_eq!(out.mood, "fear");
        let has = |g: &str| {
            out.movies
                .iter()
                .filter(|m| m.genres.iter().any(|x| x == g))
                .count()
        };
        assert!(has("Horror") + has("Thriller") + has("Mystery") >= 3);
        assert!((out.probabilities["happy"] - 0.4).abs() < 1e-9);
    }

    mod live_fallback {
        use super::*;
        use crate::live::fake::serve;
        use crate::live::tests::{both_services_answer, cfg, discover_body};
        use crate::live::{Http, SpotifyAuth, SpotifyClient, TmdbAuth, TmdbClient};

        fn live_for(url: &str, retries: u32) -> Live {
            let mut c = cfg(url, url);
            c.retries = retries;
            let http = Http::new(c, None);
            Live {
                tmdb: Some(TmdbClient::new(http.clone(), TmdbAuth::ApiKey("k".into()))),
                spotify: Some(SpotifyClient::new(
                    http,
                    SpotifyAuth {
                        client_id: "i".into(),
                        client_secret: "s".into(),
                    },
                )),
            }
        }

        /// `recommend` (seed 1, default configuration, no history) against the services at `url`.
        fn live_run(e: Emotion, strategy: Strategy, url: &str, retries: u32) -> Recommendations {
            let r = req(e, strategy, Some(1));
            recommend(&r, &Config::default(), None, &live_for(url, retries)).unwrap()
        }

        /// Some notice starts with `prefix`.
        fn assert_notice(out: &Recommendations, prefix: &str) {
            assert!(
                out.notices.iter().any(|n| n.starts_with(prefix)),
                "no notice starts with {prefix:?}: {:?}",
                out.notices
            );
        }

        #[test]
        fn live_results_are_used_when_services_answer() {
            let srv = serve(both_services_answer);
            let out = live_run(Emotion::Sad, Strategy::Match, &srv.url, 0);
            assert!(out.notices.is_empty(), "{:?}", out.notices);
            assert!(
                out.movies.iter().any(|m| m.source == "tmdb-live"),
                "{:?}",
                out.movies
            );
            assert!(out
                .playlists
                .iter()
                .any(|p| p.source == "spotify-live" && p.title == "Mood Booster"));
            assert!(out.music.iter().any(|m| m.source == "spotify-live"));
            assert_eq!(out.movies.len(), 6);
            // discover asked for the mood's genres (sad/match → drama first)
            let seen = srv.seen.lock().unwrap().clone();
            let d = seen
                .iter()
                .find(|r| r.target.starts_with("/discover/movie"))
                .unwrap();
            assert!(d.target.contains("with_genres=18"), "{}", d.target);
        }

        #[test]
        fn failures_fall_back_to_offline_with_a_visible_notice() {
            // 500 on everything
            let srv = serve(|_| (500, vec![], "{}".into(), 0));
            let out = live_run(Emotion::Sad, Strategy::Match, &srv.url, 1);
            assert_eq!(out.movies.len(), 6);
            assert_eq!(out.music.len(), 6);
            assert!(out.movies.iter().all(|m| m.source == "embedded"));
            assert_notice(&out, "TMDb unavailable");
            assert_notice(&out, "Spotify unavailable");
            assert!(out.playlists.iter().all(|p| p.source == "search"));
            // 401: the notice says to check the key
            let srv = serve(|_| (401, vec![], "{}".into(), 0));
            let out = live_run(Emotion::Happy, Strategy::Match, &srv.url, 1);
            assert!(
                out.notices.iter().all(|n| n.contains("check your key")),
                "{:?}",
                out.notices
            );
            assert_eq!(out.movies.len(), 6);
            // timeout
            let srv = serve(|_| (200, vec![], discover_body(1), 2500));
            let out = live_run(Emotion::Fear, Strategy::Calm, &srv.url, 0);
            assert_eq!(out.movies.len(), 6);
            assert_notice(&out, "TMDb unavailable");
            // nothing listening at all
            let out = live_run(Emotion::Fear, Strategy::Calm, "http://127.0.0.1:9", 0);
            assert_eq!(out.music.len(), 6);
            assert_eq!(out.notices.len(), 2, "{:?}", out.notices);
        }
    }
}
