//! `POST /oauth/register`: dynamic client registration (RFC 7591), under
//! its own per-IP limit.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use super::too_many;
use crate::{
    audit::{ActorKind, AuditAction, Outcome},
    oauth::{clients, OAuthError},
    state::AppState,
    types::Timestamp,
    web::RequestMeta,
};

/// `POST /oauth/register` (RFC 7591), limited per IP.
pub(super) async fn register(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let meta = RequestMeta::of(&parts, &state.config.trust_proxy);
    let ip = meta.ip.clone().unwrap_or_default();
    if let Some(wait) = state.limits.oauth_register.check_ip(&ip).retry_after_secs {
        return too_many(
            wait,
            "Too many registrations from this address; try again later.",
        );
    }
    let bytes = match axum::body::to_bytes(body, crate::web::BODY_LIMIT_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return OAuthError::new("invalid_client_metadata", "The body is too large.")
                .into_response()
        }
    };
    let reg: clients::Registration = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return OAuthError::new(
                "invalid_client_metadata",
                format!("The body must be a JSON object: {e}"),
            )
            .into_response()
        }
    };
    let now = Timestamp::now();
    match clients::register(&state.db, reg, meta.ip.as_deref(), now).await {
        Ok(client) => {
            state
                .audit
                .push(
                    crate::audit::NewEvent::new(
                        AuditAction::OauthClientRegistered,
                        ActorKind::Anonymous,
                        Outcome::Success,
                    )
                    .from_request(&meta)
                    .target(client.client_id.clone())
                    .detail("client", &client.name),
                )
                .await;
            let mut res = (
                StatusCode::CREATED,
                Json(serde_json::json!({
                    "client_id": client.client_id,
                    "client_id_issued_at": now.millis() / 1000,
                    "client_name": client.name,
                    "redirect_uris": client.redirect_uris,
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                })),
            )
                .into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => e.into_response(),
    }
}
