//! The CI federation branches of `POST /oauth/token`: RFC 8693 token
//! exchange with an ID token as the subject (`subject_token_type` `id_token`
//! or `jwt`; errors `invalid_request`), and RFC 7523's JWT-bearer grant
//! (`assertion`; errors `invalid_grant`, section 3.1). Both read the form and
//! call `federation::exchange::exchange`; neither needs a `client_id`.

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use crate::{
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    federation::exchange::{self, Refusal},
    oauth::OAuthError,
    state::AppState,
    tokens::{task::ACCESS_TOKEN_TYPE, Scope},
    types::Timestamp,
    web::RequestMeta,
};

/// Which grant carried the ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grant {
    /// RFC 8693: `subject_token`.
    TokenExchange,
    /// RFC 7523: `assertion`.
    JwtBearer,
}

/// The fields both grants read. No `Debug`: it holds the ID token.
#[derive(Default, Deserialize)]
struct Form {
    subject_token: Option<String>,
    assertion: Option<String>,
    requested_token_type: Option<String>,
    scope: Option<String>,
    expires_in: Option<String>,
}

/// The ID token in `body`, exchanged under `grant`.
pub(super) async fn exchange(
    state: &AppState,
    meta: &RequestMeta,
    body: &[u8],
    grant: Grant,
) -> Response {
    let code = match grant {
        Grant::TokenExchange => "invalid_request",
        Grant::JwtBearer => "invalid_grant",
    };
    let Ok(form) = serde_urlencoded::from_bytes::<Form>(body) else {
        return OAuthError::new(
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        )
        .into_response();
    };
    let (field, subject) = match grant {
        Grant::TokenExchange => ("subject_token", form.subject_token.as_deref()),
        Grant::JwtBearer => ("assertion", form.assertion.as_deref()),
    };
    let Some(subject) = subject.filter(|s| !s.is_empty()) else {
        return OAuthError::new("invalid_request", format!("{field} is required.")).into_response();
    };
    if form
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return OAuthError::new(
            "invalid_request",
            format!("requested_token_type can only be {ACCESS_TOKEN_TYPE}."),
        )
        .into_response();
    }
    let base = NewEvent::new(
        AuditAction::FederatedTokenIssued,
        ActorKind::Ci,
        Outcome::Success,
    )
    .from_request(meta);
    let request = exchange::Request {
        scope: form.scope.as_deref(),
        expires_in: form.expires_in.as_deref(),
    };
    let now = Timestamp::now();
    let issued = match exchange::exchange(state, subject, request, &base, now).await {
        Ok(issued) => issued,
        Err(refusal) => {
            let (code, description) = match refusal {
                Refusal::Invalid(m) => (code, m),
                Refusal::Scope(m) => ("invalid_scope", m),
                Refusal::Throttled(wait) => (
                    code,
                    format!("Too many exchanges for this trust rule; retry in {wait} s."),
                ),
                Refusal::Unavailable => (
                    "temporarily_unavailable",
                    "The server is busy; try again.".into(),
                ),
            };
            return OAuthError::new(code, description).into_response();
        }
    };
    let mut answer = serde_json::json!({
        "access_token": issued.token.expose(),
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": Scope::join(&issued.scopes),
    });
    if grant == Grant::TokenExchange {
        answer["issued_token_type"] = ACCESS_TOKEN_TYPE.into();
    }
    let mut res = Json(answer).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
