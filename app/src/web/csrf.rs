//! CSRF defence for cookie-authenticated requests. SameSite=Strict does not
//! cover login CSRF (a login POST carries no session), so every unsafe
//! browser request (server functions: setup, login, logout, ...) must prove
//! it comes from the app itself: `Sec-Fetch-Site: same-origin`, or an
//! `Origin` (falling back to `Referer`) equal to the app's origin. Requests
//! with none of these are refused. The bearer-token API under `/api/` is
//! exempt: it never reads cookies.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{header, HeaderMap, Method, StatusCode};

use crate::{config::Config, error::AppError, state::AppState};

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    if same_origin(req.headers(), &state.config) {
        return next.run(req).await;
    }
    tracing::warn!(
        path = %req.uri().path(),
        origin = ?req.headers().get(header::ORIGIN),
        sec_fetch_site = ?req.headers().get("sec-fetch-site"),
        "refused a cross-origin or unattributed state-changing request"
    );
    let body = AppError::Forbidden(
        "This request did not come from the Preqstation app, so it was refused.".into(),
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

pub(crate) fn same_origin(headers: &HeaderMap, config: &Config) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin";
    }
    let origin = match get("origin") {
        Some(o) => o.to_string(),
        None => match get("referer").and_then(origin_of) {
            Some(o) => o,
            None => return false,
        },
    };
    if origin.eq_ignore_ascii_case(config.public_origin()) {
        return true;
    }
    // Convenience for local use: on a loopback Host, the origin that Host
    // implies is the app's own (e.g. localhost vs 127.0.0.1).
    match get("host") {
        Some(host) if is_loopback_host(host) => {
            origin.eq_ignore_ascii_case(&format!("http://{host}"))
                || origin.eq_ignore_ascii_case(&format!("https://{host}"))
        }
        _ => false,
    }
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(format!("{}{}", &url[..scheme_end + 3], &rest[..end]))
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::for_tests("sqlite::memory:".into(), std::env::temp_dir()).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn decisions() {
        let c = cfg();
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &c
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &c
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            &c
        ));
        assert!(same_origin(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            &c
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            &c
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), &c));
        assert!(same_origin(
            &headers(&[("referer", "http://127.0.0.1:3000/login?x=1")]),
            &c
        ));
        assert!(!same_origin(
            &headers(&[("referer", "http://127.0.0.1:3000.evil.example/")]),
            &c
        ));
        assert!(!same_origin(&headers(&[]), &c));
        assert!(same_origin(
            &headers(&[
                ("origin", "http://localhost:4000"),
                ("host", "localhost:4000")
            ]),
            &c
        ));
        assert!(!same_origin(
            &headers(&[("origin", "http://evil.example"), ("host", "evil.example")]),
            &c
        ));
    }
}
