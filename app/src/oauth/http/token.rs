//! `POST /oauth/token`: the form read once, then one branch per grant type
//! (`authorization_code`: `oauth::flow::exchange`; `refresh_token`:
//! `oauth::refresh::refresh`; token exchange: [`super::exchange`], or with
//! an ID token [`super::federation`], as the JWT-bearer grant is; these
//! need no `client_id`).

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use super::federation::{self, Grant};
use crate::{
    federation::{ID_TOKEN_TYPE, JWT_BEARER_GRANT, JWT_TOKEN_TYPE},
    oauth::{flow, OAuthError},
    state::AppState,
    types::Timestamp,
};

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    resource: Option<String>,
    subject_token_type: Option<String>,
}

/// `POST /oauth/token`.
pub(super) async fn token(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, crate::web::BODY_LIMIT_BYTES).await else {
        return (
            http::StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::new("invalid_request", "The body is too large."),
        )
            .into_response();
    };
    let form: TokenForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            return OAuthError::new(
                "invalid_request",
                "The body must be application/x-www-form-urlencoded.",
            )
            .into_response()
        }
    };
    let id_token = matches!(
        form.subject_token_type.as_deref(),
        Some(ID_TOKEN_TYPE | JWT_TOKEN_TYPE)
    );
    match form.grant_type.as_deref() {
        Some(crate::tokens::task::GRANT_TYPE) if id_token => {
            let meta = crate::web::RequestMeta::of(&parts, &state.config.trust_proxy);
            return federation::exchange(&state, &meta, &body, Grant::TokenExchange).await;
        }
        Some(crate::tokens::task::GRANT_TYPE) => {
            let meta = crate::web::RequestMeta::of(&parts, &state.config.trust_proxy);
            return super::exchange::exchange(&state, &meta, &body).await;
        }
        Some(JWT_BEARER_GRANT) => {
            let meta = crate::web::RequestMeta::of(&parts, &state.config.trust_proxy);
            return federation::exchange(&state, &meta, &body, Grant::JwtBearer).await;
        }
        _ => {}
    }
    let now = Timestamp::now();
    let missing = |f: &str| OAuthError::new("invalid_request", format!("{f} is required."));
    let Some(client_id) = form.client_id.as_deref() else {
        return OAuthError::new("invalid_client", "client_id is required (a public client).")
            .into_response();
    };
    if let Err(e) = crate::oauth::clients::resolve(&state.db, &state.config, client_id, now).await {
        return e.into_response();
    }
    if let Some(r) = form.resource.as_deref() {
        if !crate::oauth::resources(&state.config)
            .iter()
            .any(|x| x == r)
        {
            return OAuthError::new("invalid_target", "Unknown resource.").into_response();
        }
    }
    let result = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) = (
                form.code.as_deref(),
                form.redirect_uri.as_deref(),
                form.code_verifier.as_deref(),
            ) else {
                return missing("code, redirect_uri and code_verifier").into_response();
            };
            flow::exchange(
                &state.db,
                &state.config,
                flow::CodeExchange {
                    client_id,
                    code,
                    redirect_uri,
                    code_verifier: verifier,
                    resource: form.resource.as_deref(),
                },
                now,
            )
            .await
        }
        Some("refresh_token") => {
            let Some(refresh) = form.refresh_token.as_deref() else {
                return missing("refresh_token").into_response();
            };
            crate::oauth::refresh::refresh(&state.db, &state.config, client_id, refresh, now).await
        }
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "Only authorization_code, refresh_token, token exchange (RFC 8693) and jwt-bearer (RFC 7523).",
        )),
        None => Err(missing("grant_type")),
    };
    match result {
        Ok(issued) => {
            let mut res = Json(issued).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => e.into_response(),
    }
}
