//! Request guard: Host check (DNS rebinding) when bound to loopback, Origin check (cross-site
//! WebSocket and form posts), security headers, and a time limit per request.

use crate::api::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The host part of a Host header value (`name`, `1.2.3.4`, `[::1]`), lower-cased, without port.
pub(crate) fn host_name(host: &str) -> String {
    let h = host.trim().to_ascii_lowercase();
    if let Some(rest) = h.strip_prefix('[') {
        return match rest.find(']') {
            Some(i) => format!("[{}]", &rest[..i]),
            None => h,
        };
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_string(),
        _ => h,
    }
}

/// Names that reach this machine's loopback interface.
pub(crate) fn is_loopback_name(name: &str) -> bool {
    matches!(name, "localhost" | "[::1]")
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::Ipv4Addr>()
            .map(|a| a.is_loopback())
            .unwrap_or(false)
}

/// May a browser page of `origin` talk to this server reached as `host`?
pub(crate) fn origin_allowed(origin: &str, host: Option<&str>, extra: &[String]) -> bool {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if extra.contains(&o) {
        return true;
    }
    match host {
        Some(h) => {
            let h = h.trim().to_ascii_lowercase();
            o == format!("http://{h}") || o == format!("https://{h}")
        }
        None => false,
    }
}

pub async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if st.loopback_only {
        let ok = host
            .as_deref()
            .map(|h| is_loopback_name(&host_name(h)))
            .unwrap_or(false);
        if !ok {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "this server only answers requests addressed to localhost/127.0.0.1 \
                 (start it with --host to serve other names)",
            )
            .into_response();
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(origin, host.as_deref(), &st.allow_origins) {
            tracing::warn!(origin, "refused a cross-origin request");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "origin '{origin}' is not allowed (only the page served by this server; see --allow-origin)"
                ),
            )
            .into_response();
        }
    }
    let mut res = match tokio::time::timeout(st.limits.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "request took too long").into_response()
        }
    };
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert_eq!(host_name("127.0.0.1:8765"), "127.0.0.1");
        assert_eq!(host_name("LOCALHOST"), "localhost");
        assert_eq!(host_name("[::1]:80"), "[::1]");
        assert!(is_loopback_name("localhost"));
        assert!(is_loopback_name("127.0.0.2"));
        assert!(is_loopback_name("[::1]"));
        assert!(!is_loopback_name("evil.example"));
        assert!(!is_loopback_name("127.0.0.1.evil.example"));
    }

    #[test]
    fn origins() {
        let h = Some("127.0.0.1:8765");
        assert!(origin_allowed("http://127.0.0.1:8765", h, &[]));
        assert!(!origin_allowed("http://127.0.0.1:9999", h, &[]));
        assert!(!origin_allowed("https://evil.example", h, &[]));
        assert!(!origin_allowed("null", h, &[]));
        assert!(origin_allowed(
            "http://box.lan:8765",
            h,
            &["http://box.lan:8765".into()]
        ));
        assert!(!origin_allowed("http://127.0.0.1:8765", None, &[]));
    }
}
