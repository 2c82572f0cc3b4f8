//! The OAuth endpoints (a door), one file each: [`authorize`] (and the
//! consent form's POST), [`token`] (one grant type per branch, each in its
//! own domain file; the CI federation grants in [`federation`]), [`register`] (RFC 7591), [`revoke`] (RFC 7009); the
//! discovery documents are `oauth::discovery`'s. Thin: each calls one
//! function of `oauth::flow`, `oauth::refresh`, `oauth::clients` or
//! `oauth::revocation`, and answers in RFC 6749's shapes.

mod authorize;
mod exchange;
mod federation;
mod register;
mod revoke;
mod token;

use authorize::authorize;
pub use authorize::consent;
use register::register;
use revoke::revoke;
use token::token;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};

use super::{discovery, OAuthError};
use crate::{state::AppState, web::RequestMeta};

/// The RFC 6749 5.2 answer: 400 (401 for `invalid_client`, 503 when the
/// database is away), never cached.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut res = (
            status,
            Json(serde_json::json!({
                "error": self.error,
                "error_description": self.description,
            })),
        )
            .into_response();
        res.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        res
    }
}

/// The endpoints clients call (no cookies, so outside the CSRF layer),
/// under the API's per-IP rate limit: anonymous callers can park requests
/// and make the server fetch metadata documents, so they are bounded too.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(discovery::protected_resource_api),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(discovery::protected_resource_mcp),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::authorization_server),
        )
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/register", post(register))
        .route("/oauth/revoke", post(revoke))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            per_ip_limit,
        ))
}

async fn per_ip_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ip = RequestMeta::of(&parts, &state.config.trust_proxy)
        .ip
        .unwrap_or_default();
    if let Some(wait) = state.limits.per_ip.check_ip(&ip).retry_after_secs {
        metrics::counter!("rate_limited_total", "limit" => "oauth_ip").increment(1);
        tracing::warn!(%ip, path = %parts.uri.path(), "OAuth rate limit (per IP) exceeded");
        return too_many(
            wait,
            "Too many requests from this address; try again later.",
        );
    }
    next.run(Request::from_parts(parts, body)).await
}

/// 429 with `Retry-After`, in the OAuth error shape.
fn too_many(wait: u64, message: &str) -> Response {
    let mut res = OAuthError::new("temporarily_unavailable", message).into_response();
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    res
}
