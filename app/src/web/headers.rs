//! Security headers on every response, and the per-response CSP nonce that
//! lets Leptos' inline hydration scripts run without `'unsafe-inline'`.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use http::{header, HeaderValue};

use crate::state::AppState;

/// This response's CSP nonce, put in the request extensions for the renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = crate::crypto::random_bytes::<16>()
        .map(|b| URL_SAFE_NO_PAD.encode(b))
        // Without OS randomness, no nonce: inline scripts are then blocked,
        // which fails safe (the page still renders on the server).
        .unwrap_or_default();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let path = req.uri().path().to_owned();
    // The consent page's form is answered with a redirect to the client;
    // Chromium and Safari hold that redirect to `form-action` too.
    let form_action = if path == "/oauth/consent" {
        consent_redirect_origin(&state, req.uri().query()).await
    } else {
        None
    };
    let mut res = next.run(req).await;

    let csp = if path.starts_with("/api/") || path == "/mcp" || nonce.is_empty() {
        "default-src 'none'; frame-ancestors 'none'".to_string()
    } else {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'{}; frame-ancestors 'none'",
            form_action.map(|o| format!(" {o}")).unwrap_or_default()
        )
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.config.public_is_https() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Pages and server-function answers are per-user: never cache them.
    // The built assets under /pkg set their own (web::assets).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The origin the parked authorization request `?request=…` redirects to
/// (already checked against the client's registration), as a CSP source.
async fn consent_redirect_origin(state: &AppState, query: Option<&str>) -> Option<String> {
    let id = form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.into_owned())?;
    let pending = crate::oauth::flow::pending(&state.db, &id, crate::types::Timestamp::now())
        .await
        .ok()??;
    let origin = url::Url::parse(&pending.redirect_uri).ok()?.origin();
    origin
        .is_tuple()
        .then(|| origin.ascii_serialization())
        .filter(|o| {
            o.bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        })
}
