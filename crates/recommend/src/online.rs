//! Online catalogs (used when keys are set): TMDb `/discover/movie` and Spotify `/search` (client-credentials flow).
//!
//! Only endpoints open to new apps are used (no recommendations, audio-features, related artists or
//! featured/category playlists). Base URLs come from [`LiveConfig`] (overridable by env), so tests run
//! these real clients against loopback fake servers. Requests have timeouts, retries with
//! exponential backoff, honour 429 `Retry-After`, and report 401 as "check your key". Responses are
//! cached on disk with a TTL. Keys come from the environment and are never logged.

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;

use crate::catalog::{Film, Track};
use crate::config::LiveConfig;
use crate::error::{RecommendError, Result};
use crate::store::now_secs;

/// A directive the binary should add to its log filter (e.g. `EnvFilter::add_directive`): ureq logs
/// request URLs at debug level through the `log` crate, and a TMDb v3 key travels in the query
/// string. This crate's own logs never contain keys.
pub const LOG_FILTER_DIRECTIVE: &str = "ureq=warn";

/// TMDb credentials: a v3 API key (query parameter) or a v4 read access token (Bearer header).
#[derive(Clone, PartialEq, Eq)]
pub enum TmdbAuth {
    ApiKey(String),
    Bearer(String),
}

impl std::fmt::Debug for TmdbAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TmdbAuth::ApiKey(_) => "TmdbAuth::ApiKey(<redacted>)",
            TmdbAuth::Bearer(_) => "TmdbAuth::Bearer(<redacted>)",
        })
    }
}

impl TmdbAuth {
    /// From `TMDB_READ_TOKEN` (v4) or `TMDB_API_KEY` (v3 key; a value that looks like a v4 JWT is
    /// used as a Bearer token).
    pub fn from_env() -> Option<TmdbAuth> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// The same, reading variables through `env`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Option<TmdbAuth> {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        if let Some(t) = get("TMDB_READ_TOKEN") {
            return Some(TmdbAuth::Bearer(t.trim().to_string()));
        }
        get("TMDB_API_KEY").map(|k| {
            let k = k.trim().to_string();
            if k.starts_with("eyJ") && k.len() > 60 {
                TmdbAuth::Bearer(k)
            } else {
                TmdbAuth::ApiKey(k)
            }
        })
    }
}

/// Spotify client credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SpotifyAuth {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for SpotifyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpotifyAuth(<redacted>)")
    }
}

impl SpotifyAuth {
    /// From `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET`.
    pub fn from_env() -> Option<SpotifyAuth> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// The same, reading variables through `env`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Option<SpotifyAuth> {
        let id = env("SPOTIFY_CLIENT_ID")?;
        let secret = env("SPOTIFY_CLIENT_SECRET")?;
        if id.trim().is_empty() || secret.trim().is_empty() {
            return None;
        }
        Some(SpotifyAuth {
            client_id: id.trim().into(),
            client_secret: secret.trim().into(),
        })
    }
}

/// A JSON response cache on disk: one file per request, named by a stable hash of the request
/// (service, path and non-secret parameters).
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    ttl_secs: u64,
}

impl DiskCache {
    pub fn new(dir: impl Into<PathBuf>, ttl_secs: u64) -> Self {
        DiskCache {
            dir: dir.into(),
            ttl_secs,
        }
    }

    /// `MOODLENS_CACHE_DIR`, else `<cache dir>/moodlens/http` (the `directories` crate).
    pub fn default_dir() -> Option<PathBuf> {
        Self::dir_from(&|k| std::env::var(k).ok())
    }

    /// The same, reading `MOODLENS_CACHE_DIR` through `env`.
    pub fn dir_from(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        if let Some(d) = env("MOODLENS_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        directories::ProjectDirs::from("", "", "moodlens").map(|d| d.cache_dir().join("http"))
    }

    /// The cache file of a request: the first 16 bytes of its key's SHA-256, in hex.
    fn file(&self, key: &str) -> PathBuf {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key.as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.file(key)).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        let at = v.get("fetched_at")?.as_i64()?;
        if v.get("key")?.as_str()? != key {
            return None;
        }
        if now_secs() - at > self.ttl_secs as i64 || now_secs() < at {
            return None;
        }
        v.get("body").cloned()
    }

    pub fn put(&self, key: &str, body: &Value) {
        let v = serde_json::json!({"key": key, "fetched_at": now_secs(), "body": body});
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        // write then rename: a reader never sees half a file
        let tmp = self.file(key).with_extension("tmp");
        if std::fs::write(&tmp, v.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, self.file(key));
        }
    }
}

/// The HTTP layer shared by both clients.
#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
    cfg: LiveConfig,
    cache: Option<DiskCache>,
}

/// One request: method, URL, query, headers, optional form body.
struct Req<'a> {
    service: &'static str,
    post_form: Option<&'a [(&'a str, &'a str)]>,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(&'static str, String)>,
    /// Cache key (no secrets); `None` disables caching.
    cache_key: Option<String>,
    /// Hint printed with a 401.
    hint: &'static str,
}

impl Http {
    pub fn new(cfg: LiveConfig, cache: Option<DiskCache>) -> Http {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(cfg.timeout())
            .timeout(cfg.timeout())
            .user_agent(concat!("moodlens/", env!("CARGO_PKG_VERSION")))
            .build();
        Http { agent, cfg, cache }
    }

    pub fn config(&self) -> &LiveConfig {
        &self.cfg
    }

    fn send(&self, r: &Req) -> Result<Value> {
        if let (Some(c), Some(k)) = (&self.cache, &r.cache_key) {
            if let Some(v) = c.get(k) {
                tracing::debug!(service = r.service, "cache hit");
                return Ok(v);
            }
        }
        let mut attempt = 0u32;
        loop {
            let mut req = match r.post_form {
                Some(_) => self.agent.post(&r.url),
                None => self.agent.get(&r.url),
            };
            for (k, v) in &r.query {
                req = req.query(k, v);
            }
            for (k, v) in &r.headers {
                req = req.set(k, v);
            }
            // log the path only: query strings may hold a key
            tracing::debug!(service = r.service, url = %r.url, attempt, "request");
            let res = match r.post_form {
                Some(form) => req.send_form(form),
                None => req.call(),
            };
            let retry_in = match res {
                Ok(resp) => {
                    let v: Value = resp.into_json().map_err(|e| RecommendError::Parse {
                        service: r.service,
                        msg: format!("body is not JSON: {e}"),
                    })?;
                    if let (Some(c), Some(k)) = (&self.cache, &r.cache_key) {
                        c.put(k, &v);
                    }
                    return Ok(v);
                }
                Err(ureq::Error::Status(401, _)) => {
                    return Err(RecommendError::Unauthorized {
                        service: r.service,
                        hint: r.hint,
                    })
                }
                Err(ureq::Error::Status(429, resp)) => {
                    let secs = resp
                        .header("Retry-After")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .unwrap_or(1);
                    if secs > self.cfg.max_retry_after_secs {
                        return Err(RecommendError::Http {
                            service: r.service,
                            msg: format!("rate limited (HTTP 429), retry after {secs} s"),
                        });
                    }
                    tracing::info!(service = r.service, secs, "rate limited, waiting");
                    Duration::from_secs(secs)
                }
                Err(ureq::Error::Status(code, _)) if code >= 500 => {
                    self.backoff(attempt, r.service, &format!("HTTP {code}"))?
                }
                Err(ureq::Error::Status(code, _)) => {
                    return Err(RecommendError::Http {
                        service: r.service,
                        msg: format!("HTTP {code}"),
                    })
                }
                Err(ureq::Error::Transport(t)) => {
                    let msg = t.kind().to_string();
                    self.backoff(attempt, r.service, &msg)?
                }
            };
            if attempt >= self.cfg.retries {
                return Err(RecommendError::Http {
                    service: r.service,
                    msg: format!("gave up after {} attempts", attempt + 1),
                });
            }
            std::thread::sleep(retry_in);
            attempt += 1;
        }
    }

    /// Backoff before the next attempt, or the final error when none is left.
    fn backoff(&self, attempt: u32, service: &'static str, msg: &str) -> Result<Duration> {
        if attempt >= self.cfg.retries {
            return Err(RecommendError::Http {
                service,
                msg: format!("{msg} (after {} attempts)", attempt + 1),
            });
        }
        let base = self.cfg.backoff_ms.saturating_mul(1 << attempt.min(10));
        let jitter = rand::thread_rng().gen_range(0..=base / 4 + 1);
        Ok(Duration::from_millis(base + jitter))
    }
}

/// TMDb `/discover/movie`.
pub struct TmdbClient {
    http: Http,
    auth: TmdbAuth,
}

/// One page of discover results.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverPage {
    pub films: Vec<Film>,
    pub total_pages: u32,
}

impl TmdbClient {
    pub fn new(http: Http, auth: TmdbAuth) -> Self {
        TmdbClient { http, auth }
    }

    /// One discover page: movies with any of `genres` (TMDb ids, OR-ed), at least `min_votes` votes,
    /// sorted by rating.
    pub fn discover_page(&self, genres: &[u32], min_votes: u32, page: u32) -> Result<DiscoverPage> {
        self.discover_page_without(genres, &[], min_votes, page)
    }

    /// [`TmdbClient::discover_page`] without any film of the `without` genres (`without_genres`,
    /// OR-ed; the engine filters the results again, whatever the service does).
    pub fn discover_page_without(
        &self,
        genres: &[u32],
        without: &[u32],
        min_votes: u32,
        page: u32,
    ) -> Result<DiscoverPage> {
        let join = |g: &[u32]| g.iter().map(u32::to_string).collect::<Vec<_>>().join("|");
        let mut query = vec![("with_genres".to_string(), join(genres))];
        if !without.is_empty() {
            query.push(("without_genres".to_string(), join(without)));
        }
        query.extend([
            ("vote_count.gte".to_string(), min_votes.to_string()),
            ("sort_by".to_string(), "vote_average.desc".to_string()),
            ("include_adult".to_string(), "false".to_string()),
            ("page".to_string(), page.clamp(1, 500).to_string()),
        ]);
        let cache_key = format!(
            "tmdb:{}:discover:{}",
            self.http.cfg.tmdb_base_url,
            query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        );
        let mut headers = vec![("Accept", "application/json".to_string())];
        match &self.auth {
            TmdbAuth::ApiKey(k) => query.push(("api_key".into(), k.clone())),
            TmdbAuth::Bearer(t) => headers.push(("Authorization", format!("Bearer {t}"))),
        }
        let v = self.http.send(&Req {
            service: "TMDb",
            post_form: None,
            url: format!(
                "{}/discover/movie",
                self.http.cfg.tmdb_base_url.trim_end_matches('/')
            ),
            query,
            headers,
            cache_key: Some(cache_key),
            hint: "TMDB_API_KEY or TMDB_READ_TOKEN",
        })?;
        parse_discover(&v)
    }

    /// A random page within the reported `total_pages` (at most 500): page 1 tells the total.
    pub fn discover_random(
        &self,
        genres: &[u32],
        min_votes: u32,
        rng: &mut impl Rng,
    ) -> Result<Vec<Film>> {
        self.discover_random_without(genres, &[], min_votes, rng)
    }

    /// [`TmdbClient::discover_random`] without the `without` genres.
    pub fn discover_random_without(
        &self,
        genres: &[u32],
        without: &[u32],
        min_votes: u32,
        rng: &mut impl Rng,
    ) -> Result<Vec<Film>> {
        let first = self.discover_page_without(genres, without, min_votes, 1)?;
        let total = first.total_pages.clamp(1, 500);
        let page = rng.gen_range(1..=total);
        if page == 1 {
            return Ok(first.films);
        }
        let p = self.discover_page_without(genres, without, min_votes, page)?;
        Ok(if p.films.is_empty() {
            first.films
        } else {
            p.films
        })
    }
}

/// Parse a `/discover/movie` body; null or malformed results are skipped.
pub fn parse_discover(v: &Value) -> Result<DiscoverPage> {
    let results =
        v.get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| RecommendError::Parse {
                service: "TMDb",
                msg: "no results array".into(),
            })?;
    let total_pages = v.get("total_pages").and_then(Value::as_u64).unwrap_or(1) as u32;
    let films = results
        .iter()
        .filter_map(|r| {
            let id = r.get("id")?.as_u64()?;
            let title = r.get("title")?.as_str()?.trim();
            if title.is_empty() {
                return None;
            }
            let year = r
                .get("release_date")
                .and_then(Value::as_str)
                .and_then(|d| d.get(..4))
                .and_then(|y| y.parse().ok());
            let genres = r
                .get("genre_ids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|g| g.as_u64().map(|g| g as u32))
                        .collect()
                })
                .unwrap_or_default();
            Some(Film {
                title: title.to_string(),
                year,
                genres,
                rating: r.get("vote_average").and_then(Value::as_f64),
                votes: r.get("vote_count").and_then(Value::as_u64),
                tmdb_id: Some(id),
                source: crate::catalog::Source::TmdbLive,
                adult: r.get("adult").and_then(Value::as_bool),
            })
        })
        .collect();
    Ok(DiscoverPage { films, total_pages })
}

/// A playlist found by search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Playlist {
    pub name: String,
    pub owner: Option<String>,
    pub link: String,
    pub query: String,
}

/// Spotify `/search` with a client-credentials token.
pub struct SpotifyClient {
    http: Http,
    auth: SpotifyAuth,
    token: std::sync::Mutex<Option<(String, i64)>>,
}

/// Standard base64 with padding (for the Basic authorization header).
pub fn base64(input: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(input)
}

impl SpotifyClient {
    pub fn new(http: Http, auth: SpotifyAuth) -> Self {
        SpotifyClient {
            http,
            auth,
            token: std::sync::Mutex::new(None),
        }
    }

    fn token(&self) -> Result<String> {
        if let Some((t, exp)) = self.token.lock().ok().and_then(|g| g.clone()) {
            if now_secs() < exp - 30 {
                return Ok(t);
            }
        }
        let basic =
            base64(format!("{}:{}", self.auth.client_id, self.auth.client_secret).as_bytes());
        let v = self.http.send(&Req {
            service: "Spotify",
            post_form: Some(&[("grant_type", "client_credentials")]),
            url: format!(
                "{}/api/token",
                self.http.cfg.spotify_accounts_url.trim_end_matches('/')
            ),
            query: vec![],
            headers: vec![("Authorization", format!("Basic {basic}"))],
            cache_key: None,
            hint: "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET",
        })?;
        let tok = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| RecommendError::Parse {
                service: "Spotify",
                msg: "token response without access_token".into(),
            })?
            .to_string();
        let exp = now_secs() + v.get("expires_in").and_then(Value::as_i64).unwrap_or(3600);
        if let Ok(mut g) = self.token.lock() {
            *g = Some((tok.clone(), exp));
        }
        Ok(tok)
    }

    /// Search playlists and tracks for a mood query; null items are skipped.
    pub fn search(&self, query: &str, limit: u32) -> Result<(Vec<Playlist>, Vec<Track>)> {
        let token = self.token()?;
        let q = vec![
            ("q".to_string(), query.to_string()),
            ("type".to_string(), "playlist,track".to_string()),
            ("limit".to_string(), limit.clamp(1, 50).to_string()),
        ];
        let v = self.http.send(&Req {
            service: "Spotify",
            post_form: None,
            url: format!(
                "{}/search",
                self.http.cfg.spotify_api_url.trim_end_matches('/')
            ),
            cache_key: Some(format!(
                "spotify:{}:search:{query}:{limit}",
                self.http.cfg.spotify_api_url
            )),
            query: q,
            headers: vec![("Authorization", format!("Bearer {token}"))],
            hint: "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET",
        })?;
        Ok(parse_search(&v, query))
    }
}

/// Parse a `/search` body (playlists and tracks); null or malformed items are skipped.
pub fn parse_search(v: &Value, query: &str) -> (Vec<Playlist>, Vec<Track>) {
    let items = |k: &str| -> Vec<Value> {
        v.get(k)
            .and_then(|x| x.get("items"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let playlists = items("playlists")
        .iter()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?.to_string();
            let link = p
                .get("external_urls")
                .and_then(|u| u.get("spotify"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    p.get("id")
                        .and_then(Value::as_str)
                        .map(|id| format!("https://open.spotify.com/playlist/{id}"))
                })?;
            Some(Playlist {
                name,
                owner: p
                    .get("owner")
                    .and_then(|o| o.get("display_name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                link,
                query: query.to_string(),
            })
        })
        .collect();
    let tracks = items("tracks")
        .iter()
        .filter_map(|t| {
            let title = t.get("name")?.as_str()?.to_string();
            let id = t.get("id")?.as_str()?.to_string();
            let artist = t
                .get("artists")?
                .as_array()?
                .iter()
                .filter_map(|a| a.get("name").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", ");
            if artist.is_empty() {
                return None;
            }
            Some(Track {
                artist,
                title,
                spotify_id: Some(id),
                genre: None,
                features: None,
                source: crate::catalog::Source::SpotifyLive,
                popularity: t
                    .get("popularity")
                    .and_then(Value::as_u64)
                    .map(|p| p.min(100) as u32),
                explicit: t.get("explicit").and_then(Value::as_bool),
            })
        })
        .collect();
    (playlists, tracks)
}

#[cfg(test)]
pub(crate) mod fake {
    //! A loopback HTTP/1.1 server for tests: real sockets on 127.0.0.1, scripted responses, and a
    //! log of every request (method, path with query, headers, body).
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone, Default)]
    pub struct Seen {
        pub method: String,
        pub target: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Seen {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// What to answer: status, extra headers, body, delay before answering (ms).
    pub type Reply = (u16, Vec<(String, String)>, String, u64);

    pub struct FakeServer {
        pub url: String,
        pub seen: Arc<Mutex<Vec<Seen>>>,
    }

    /// Serve `handler(request) -> reply` on a fresh loopback port until the test ends.
    pub fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let log = log.clone();
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let mut rd = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if rd.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let mut req = Seen {
                        method: parts.next().unwrap_or("").into(),
                        target: parts.next().unwrap_or("").into(),
                        ..Default::default()
                    };
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if rd.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.trim_end().split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                            req.headers.push((k.trim().into(), v.trim().into()));
                        }
                    }
                    let mut body = vec![0u8; len];
                    let _ = rd.read_exact(&mut body);
                    req.body = String::from_utf8_lossy(&body).into();
                    log.lock().unwrap().push(req.clone());
                    let (status, headers, body, delay) = handler(&req);
                    std::thread::sleep(std::time::Duration::from_millis(delay));
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&body);
                    let _ = stream.write_all(out.as_bytes());
                });
            }
        });
        FakeServer { url, seen }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::fake::*;
    use super::*;
    use crate::config::Config;
    use rand::SeedableRng;

    pub(crate) fn cfg(tmdb: &str, spotify: &str) -> LiveConfig {
        let mut c = Config::default().live;
        c.tmdb_base_url = tmdb.into();
        c.spotify_api_url = format!("{spotify}/v1");
        c.spotify_accounts_url = spotify.into();
        c.timeout_secs = 1;
        c.retries = 2;
        c.backoff_ms = 10;
        c.max_retry_after_secs = 5;
        c
    }

    /// A TMDb client for the fake server at `url`.
    fn tmdb_client(url: &str, auth: TmdbAuth, cache: Option<DiskCache>) -> TmdbClient {
        TmdbClient::new(Http::new(cfg(url, url), cache), auth)
    }

    /// A TMDb client with the API key "k" and no cache.
    fn tmdb_with_key(url: &str) -> TmdbClient {
        tmdb_client(url, TmdbAuth::ApiKey("k".into()), None)
    }

    /// A Spotify client (client id "id") for the fake server at `url`.
    fn spotify_client(url: &str, client_secret: &str) -> SpotifyClient {
        SpotifyClient::new(
            Http::new(cfg(url, url), None),
            SpotifyAuth {
                client_id: "id".into(),
                client_secret: client_secret.into(),
            },
        )
    }

    /// Spotify's answer to a client-credentials token request.
    pub(crate) fn token_reply() -> Reply {
        (
            200,
            vec![],
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":3600}"#.into(),
            0,
        )
    }

    /// Both services up: a token, search results, and discover page 1 for anything else.
    pub(crate) fn both_services_answer(r: &Seen) -> Reply {
        if r.target.starts_with("/api/token") {
            token_reply()
        } else if r.target.starts_with("/v1/search") {
            (200, vec![], search_body(), 0)
        } else {
            (200, vec![], discover_body(1), 0)
        }
    }

    /// A real-shaped discover page (fields as TMDb returns them), with a null and a broken item.
    pub(crate) fn discover_body(page: u32) -> String {
        serde_json::json!({
            "page": page,
            "results": [
                {"adult": false, "backdrop_path": "/x.jpg", "genre_ids": [18, 80], "id": 278,
                 "original_language": "en", "original_title": "The Shawshank Redemption",
                 "overview": "…", "popularity": 94.1, "poster_path": "/p.jpg",
                 "release_date": "1994-09-23", "title": "The Shawshank Redemption", "video": false,
                 "vote_average": 8.7, "vote_count": 21862},
                null,
                {"id": "broken"},
                {"genre_ids": [18], "id": 424, "title": "Schindler's List",
                 "release_date": "1993-12-15", "vote_average": 8.6, "vote_count": 14000}
            ],
            "total_pages": 7,
            "total_results": 140
        })
        .to_string()
    }

    #[test]
    fn tmdb_discover_sends_parameters_and_parses_real_shape() {
        let srv = serve(|r| {
            let page = r
                .target
                .split("page=")
                .nth(1)
                .and_then(|p| p.split('&').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            (200, vec![], discover_body(page), 0)
        });
        let c = tmdb_client(&srv.url, TmdbAuth::ApiKey("k3y".into()), None);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let films = c.discover_random(&[18, 35], 200, &mut rng).unwrap();
        assert_eq!(films.len(), 2, "null and broken items skipped");
        assert_eq!(films[0].year, Some(1994));
        assert_eq!(films[0].tmdb_id, Some(278));
        assert_eq!(films[0].genres, vec![18, 80]);
        let seen = srv.seen.lock().unwrap().clone();
        let first = &seen[0];
        assert_eq!(first.method, "GET");
        assert!(
            first.target.starts_with("/discover/movie?"),
            "{}",
            first.target
        );
        for p in [
            "with_genres=18%7C35",
            "vote_count.gte=200",
            "sort_by=vote_average.desc",
            "page=1",
            "api_key=k3y",
        ] {
            assert!(first.target.contains(p), "{p} not in {}", first.target);
        }
        // a random page within total_pages
        if seen.len() > 1 {
            let p: u32 = seen[1]
                .target
                .split("page=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!((2..=7).contains(&p));
        }
        // v4 token goes in the header, not the query
        let c = tmdb_client(&srv.url, TmdbAuth::Bearer("tok".into()), None);
        c.discover_page(&[27], 100, 1).unwrap();
        let last = srv.seen.lock().unwrap().last().unwrap().clone();
        assert_eq!(last.header("authorization"), Some("Bearer tok"));
        assert!(!last.target.contains("api_key"));
    }

    #[test]
    fn retry_after_429_then_success_and_401_message() {
        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n2 = n.clone();
        let srv = serve(move |_| {
            if n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                (
                    429,
                    vec![("Retry-After".into(), "1".into())],
                    "{}".into(),
                    0,
                )
            } else {
                (200, vec![], discover_body(1), 0)
            }
        });
        let c = tmdb_with_key(&srv.url);
        let t0 = std::time::Instant::now();
        let p = c.discover_page(&[18], 10, 1).unwrap();
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "Retry-After honoured"
        );
        assert_eq!(p.total_pages, 7);
        assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 2);

        let srv = serve(|_| {
            (
                401,
                vec![],
                r#"{"status_code":7,"status_message":"Invalid API key"}"#.into(),
                0,
            )
        });
        let c = tmdb_client(&srv.url, TmdbAuth::ApiKey("secret-key".into()), None);
        let e = c.discover_page(&[18], 10, 1).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("check your key"), "{msg}");
        assert!(!msg.contains("secret-key"));
        assert_eq!(srv.seen.lock().unwrap().len(), 1, "401 is not retried");
    }

    #[test]
    fn server_errors_and_timeouts_give_up_after_retries() {
        let srv = serve(|_| (500, vec![], "oops".into(), 0));
        let c = tmdb_with_key(&srv.url);
        assert!(c.discover_page(&[18], 10, 1).is_err());
        assert_eq!(srv.seen.lock().unwrap().len(), 3, "1 try + 2 retries");
        let slow = serve(|_| (200, vec![], discover_body(1), 3000));
        let mut lc = cfg(&slow.url, &slow.url);
        lc.retries = 0;
        let c = TmdbClient::new(Http::new(lc, None), TmdbAuth::ApiKey("k".into()));
        let t0 = std::time::Instant::now();
        assert!(c.discover_page(&[18], 10, 1).is_err());
        assert!(
            t0.elapsed() < Duration::from_millis(2500),
            "timeout applied"
        );
    }

    pub(crate) fn search_body() -> String {
        serde_json::json!({
            "playlists": {"href": "x", "items": [
                null,
                {"collaborative": false, "description": "", "external_urls": {"spotify": "https://open.spotify.com/playlist/37i9dQZF1DX3rxVfibe1L0"},
                 "id": "37i9dQZF1DX3rxVfibe1L0", "name": "Mood Booster", "owner": {"display_name": "Spotify"}, "type": "playlist"},
                null
            ], "limit": 10, "total": 3},
            "tracks": {"items": [
                {"album": {"name": "x"}, "artists": [{"name": "Pharrell Williams", "id": "2RdwBSPQiwcmiDo9kixcl8"}],
                 "external_urls": {"spotify": "https://open.spotify.com/track/60nZcImufyMA1MKQY3dcCH"},
                 "id": "60nZcImufyMA1MKQY3dcCH", "name": "Happy", "popularity": 80, "type": "track"},
                null
            ]}
        })
        .to_string()
    }

    #[test]
    fn spotify_client_credentials_then_search() {
        let srv = serve(both_services_answer);
        let c = spotify_client(&srv.url, "sec");
        let (pl, tr) = c.search("happy hits", 10).unwrap();
        assert_eq!(pl.len(), 1);
        assert_eq!(pl[0].name, "Mood Booster");
        assert_eq!(tr.len(), 1);
        assert_eq!(
            tr[0].link(),
            "https://open.spotify.com/track/60nZcImufyMA1MKQY3dcCH"
        );
        c.search("sad songs", 5).unwrap(); // token reused
        let seen = srv.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(
            seen[0].header("authorization"),
            Some(format!("Basic {}", base64(b"id:sec")).as_str())
        );
        assert_eq!(seen[0].body, "grant_type=client_credentials");
        assert!(seen[1].target.starts_with("/v1/search?"));
        assert!(
            seen[1].target.contains("q=happy+hits") || seen[1].target.contains("q=happy%20hits"),
            "{}",
            seen[1].target
        );
        assert!(
            seen[1].target.contains("type=playlist%2Ctrack"),
            "{}",
            seen[1].target
        );
        assert_eq!(seen[1].header("authorization"), Some("Bearer AT"));
    }

    #[test]
    fn spotify_bad_credentials_and_rate_limit() {
        let srv = serve(|_| (401, vec![], r#"{"error":"invalid_client"}"#.into(), 0));
        let c = spotify_client(&srv.url, "wrong-secret");
        let msg = c.search("calm ambient", 5).unwrap_err().to_string();
        assert!(
            msg.contains("check your key") && msg.contains("SPOTIFY_CLIENT_SECRET"),
            "{msg}"
        );
        assert!(!msg.contains("wrong-secret"));

        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n2 = n.clone();
        let srv = serve(move |r| {
            if r.target.starts_with("/api/token") {
                token_reply()
            } else if n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                (
                    429,
                    vec![("Retry-After".into(), "0".into())],
                    "{}".into(),
                    0,
                )
            } else {
                (200, vec![], search_body(), 0)
            }
        });
        let c = spotify_client(&srv.url, "s");
        let (pl, _) = c.search("happy hits", 5).unwrap();
        assert_eq!(pl.len(), 1);
        assert_eq!(
            n.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "429 retried once"
        );
        // a Retry-After beyond the configured maximum is not waited for
        let srv = serve(|_| {
            (
                429,
                vec![("Retry-After".into(), "3600".into())],
                "{}".into(),
                0,
            )
        });
        let c = tmdb_with_key(&srv.url);
        let t0 = std::time::Instant::now();
        let e = c.discover_page(&[18], 10, 1).unwrap_err().to_string();
        assert!(
            e.contains("429") && t0.elapsed() < Duration::from_secs(2),
            "{e}"
        );
    }

    #[test]
    fn disk_cache_serves_within_ttl_only() {
        let dir = tempfile::tempdir().unwrap();
        let srv = serve(|_| (200, vec![], discover_body(1), 0));
        let cache = DiskCache::new(dir.path(), 3600);
        let c = tmdb_client(&srv.url, TmdbAuth::ApiKey("k".into()), Some(cache));
        c.discover_page(&[18], 10, 1).unwrap();
        c.discover_page(&[18], 10, 1).unwrap();
        assert_eq!(
            srv.seen.lock().unwrap().len(),
            1,
            "second answer from cache"
        );
        // cache files hold no key
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            assert!(!text.contains("api_key"));
        }
        let expired = DiskCache::new(dir.path(), 0);
        std::thread::sleep(Duration::from_millis(1100));
        let c = tmdb_client(&srv.url, TmdbAuth::ApiKey("k".into()), Some(expired));
        c.discover_page(&[18], 10, 1).unwrap();
        assert_eq!(srv.seen.lock().unwrap().len(), 2, "expired entry refetched");
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
