//! Session middleware: verifies the signed cookie, loads the session (with
//! sliding renewal), guards dashboard pages, and re-sends or clears the
//! cookie. Handlers and server functions read the result as [`MaybeSession`]
//! from the request extensions.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use http::{header, HeaderValue, Method, StatusCode};

use crate::{
    error::AppError,
    sessions::{self, AuthSession, SessionPolicy, SessionSecret, COOKIE_NAME},
    state::AppState,
    types::Timestamp,
};

/// The request's session, if a valid one was presented.
#[derive(Debug, Clone, Default)]
pub struct MaybeSession(pub Option<AuthSession>);

/// Where an account without a required second factor is sent.
pub const ENROL_PAGE: &str = "/settings/security";

/// Paths that never look at the session cookie.
fn skips_session(path: &str) -> bool {
    path == "/healthz"
        || path == "/readyz"
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path == "/favicon.ico"
}

/// Dashboard pages that need a signed-in account.
fn is_protected_page(path: &str) -> bool {
    path == "/"
        || path == "/oauth/consent"
        || ["/settings", "/projects", "/admin"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if skips_session(&path) {
        return next.run(req).await;
    }
    let now = Timestamp::now();
    let policy = SessionPolicy::from(&*state.config);

    let cookie_value = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| sessions::cookie_from_header(h).map(str::to_owned));

    let mut session = None;
    let mut renewed = false;
    let mut clear_cookie = false;
    if let Some(value) = &cookie_value {
        match SessionSecret::from_cookie_value(value, &state.config.keys) {
            None => clear_cookie = true,
            Some(secret) => match sessions::authenticate(&state.db, &secret, now, policy).await {
                Ok(Some((s, r))) => {
                    session = Some(s);
                    renewed = r;
                }
                Ok(None) => clear_cookie = true,
                Err(e) => return unavailable(&path, e),
            },
        }
    }

    let is_page_view = matches!(*req.method(), Method::GET | Method::HEAD);
    if is_page_view {
        let guard = match &session {
            // Administrators require a second factor and this account has
            // none: every dashboard page but enrolment sends it there.
            Some(s) if s.must_enrol && is_protected_page(&path) && path != ENROL_PAGE => {
                Ok(Some(format!("{ENROL_PAGE}?required=1")))
            }
            _ => page_guard(&state, &path, req.uri().query(), session.is_some()).await,
        };
        match guard {
            Ok(Some(to)) => {
                let mut res = Redirect::to(&to).into_response();
                if clear_cookie {
                    append_cookie(&mut res, &sessions::removal_cookie());
                }
                return res;
            }
            Ok(None) => {}
            Err(e) => return unavailable(&path, e),
        }
    }

    req.extensions_mut().insert(MaybeSession(session.clone()));
    let mut res = next.run(req).await;

    let handler_set_cookie = res.headers().get_all(header::SET_COOKIE).iter().any(|v| {
        v.to_str()
            .map(|s| s.starts_with(COOKIE_NAME))
            .unwrap_or(false)
    });
    if !handler_set_cookie {
        match (&session, &cookie_value) {
            (Some(s), Some(value)) if renewed => {
                append_cookie(
                    &mut res,
                    &sessions::session_cookie(value, s.cookie_max_age(now, policy)),
                );
            }
            _ if clear_cookie => append_cookie(&mut res, &sessions::removal_cookie()),
            _ => {}
        }
    }
    res
}

/// Where a page view must go instead, if anywhere.
async fn page_guard(
    state: &AppState,
    path: &str,
    query: Option<&str>,
    signed_in: bool,
) -> Result<Option<String>, sqlx::Error> {
    if path == "/setup" {
        return Ok(state.is_set_up().await?.then(|| "/login".to_string()));
    }
    if path == "/login/two-factor" && signed_in {
        return Ok(Some("/".into()));
    }
    if path == "/login" {
        if !state.is_set_up().await? {
            return Ok(Some("/setup".into()));
        }
        if signed_in {
            let next = query
                .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "next"))
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            return Ok(Some(safe_next(&next)));
        }
        return Ok(None);
    }
    if is_protected_page(path) && !signed_in {
        if !state.is_set_up().await? {
            return Ok(Some("/setup".into()));
        }
        let target = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        return Ok(Some(if target == "/" {
            "/login".to_string()
        } else {
            format!("/login?next={}", percent_encode(&target))
        }));
    }
    Ok(None)
}

/// Only same-site absolute paths are followed after sign-in (no open redirect).
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next != "/login"
        && !next.starts_with("/login?");
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// Percent-encodes a local path for the `next` parameter, keeping `/` readable.
pub fn percent_encode(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(s, KEEP).to_string()
}

fn append_cookie(res: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The database is unreachable: a clear 503, as JSON for server functions
/// and as a small page otherwise. The next request tries again.
fn unavailable(path: &str, err: sqlx::Error) -> Response {
    tracing::error!(error = %err, path, "database unavailable while loading the session");
    if path.starts_with("/rpc/") {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&AppError::Unavailable).unwrap_or_default(),
        )
            .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::RETRY_AFTER, "5"),
        ],
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Preqstation is unavailable</title></head>\
         <body><h1>Preqstation is temporarily unavailable</h1>\
         <p>The server cannot reach its database right now. Reload this page in a few seconds.</p></body></html>",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_sanitised() {
        assert_eq!(safe_next("/settings/sessions"), "/settings/sessions");
        assert_eq!(safe_next("/projects?status=open"), "/projects?status=open");
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/login",
            "javascript:x",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }

    /// Decodes one query value the way `page_guard` does.
    fn percent_decode(s: &str) -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    #[test]
    fn percent_round_trip() {
        let s = "/settings/api-keys?status=active&x=a b";
        assert_eq!(percent_decode(&percent_encode(s)), s);
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("abc%"), "abc%");
    }

    #[test]
    fn protected_pages() {
        assert!(is_protected_page("/"));
        assert!(is_protected_page("/settings/api-keys"));
        assert!(is_protected_page("/projects"));
        assert!(!is_protected_page("/settingsx"));
        assert!(!is_protected_page("/login"));
    }
}
