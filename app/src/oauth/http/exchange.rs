//! The token-exchange branch of `POST /oauth/token` (RFC 8693): the subject
//! token is the credential (no `client_id` needed), authenticated through
//! `bearer::check` like any API call (its revocation, allowlist, usage
//! limit and audit), limited per subject, then
//! `tokens::task::exchange::exchange` mints the task token. Answers follow
//! RFC 8693 2.2 and RFC 9396 section 7.

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use crate::{
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    bearer::{self, Verdict},
    oauth::OAuthError,
    state::AppState,
    tokens::{
        operation::Operation,
        task::{
            exchange::{self, Refusal},
            ACCESS_TOKEN_TYPE, DETAILS_TYPE,
        },
        Scope,
    },
    types::Timestamp,
    web::RequestMeta,
};

/// The form fields of an exchange. No `Debug`: it holds the subject token.
#[derive(Default, Deserialize)]
pub(super) struct ExchangeForm {
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    authorization_details: Option<String>,
    expires_in: Option<String>,
    usage_limit: Option<String>,
    client_id: Option<String>,
}

fn invalid(description: &str) -> Response {
    OAuthError::new("invalid_request", description).into_response()
}

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
pub(super) async fn exchange(state: &AppState, meta: &RequestMeta, body: &[u8]) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<ExchangeForm>(body) else {
        return invalid("The body must be application/x-www-form-urlencoded.");
    };
    let Some(subject) = form.subject_token.as_deref().filter(|s| !s.is_empty()) else {
        return invalid("subject_token is required.");
    };
    if form.subject_token_type.as_deref() != Some(ACCESS_TOKEN_TYPE) {
        return invalid(&format!("subject_token_type must be {ACCESS_TOKEN_TYPE}."));
    }
    if form
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return invalid(&format!(
            "requested_token_type can only be {ACCESS_TOKEN_TYPE}."
        ));
    }
    let now = Timestamp::now();
    let call = bearer::Call {
        meta,
        method: "POST",
        path: "/oauth/token",
        rotating: false,
        idempotency_key: None,
        cost: state
            .config
            .usage_costs
            .cost(Some(Operation::ExchangeToken)),
    };
    let verdict = match bearer::check(state, Some(subject), &call, now).await {
        Ok(v) => v,
        Err(e) => return OAuthError::db(e).into_response(),
    };
    let token = match verdict {
        Verdict::Accepted(token) => token,
        Verdict::OutsideAllowlist(_) => {
            return invalid("The subject token is not allowed from this IP address.")
        }
        Verdict::UsageExhausted { .. } => {
            return invalid("The subject token used up its usage limit.")
        }
        Verdict::Refused { failure, .. } => {
            return invalid(&format!(
                "The subject token is not usable ({}).",
                failure.reason().replace('_', " ")
            ))
        }
    };
    if state
        .limits
        .exchange
        .check(&token.token_id)
        .retry_after_secs
        .is_some()
    {
        metrics::counter!("rate_limited_total", "limit" => "exchange").increment(1);
        return invalid("Too many exchanges for this subject token; retry in a minute.");
    }
    let base = NewEvent::new(
        AuditAction::TaskTokenIssued,
        if token.oauth {
            ActorKind::OauthClient
        } else {
            ActorKind::Token
        },
        Outcome::Success,
    )
    .from_request(meta);
    let request = exchange::Request {
        scope: form.scope.as_deref(),
        resource: form.resource.as_deref(),
        authorization_details: form.authorization_details.as_deref(),
        expires_in: form.expires_in.as_deref(),
        usage_limit: form.usage_limit.as_deref(),
        client_id: form.client_id.as_deref(),
    };
    let issued =
        match exchange::exchange(&state.db, &state.config, &token, request, &base, now).await {
            Ok(issued) => issued,
            Err(refusal) => {
                let (code, description) = match refusal {
                    Refusal::Request(m) => ("invalid_request", m),
                    Refusal::Client(m) => ("invalid_client", m),
                    Refusal::Scope(m) => ("invalid_scope", m),
                    Refusal::Target(m) => ("invalid_target", m),
                    Refusal::Task(m) => ("invalid_authorization_details", m),
                    Refusal::Unavailable => (
                        "temporarily_unavailable",
                        "The server is busy; try again.".into(),
                    ),
                };
                tracing::info!(subject = %token.prefix, code, "token exchange refused");
                return OAuthError::new(code, description).into_response();
            }
        };
    tracing::info!(subject = %token.prefix, task = %issued.task_id, "task token issued");
    let mut res = Json(serde_json::json!({
        "access_token": issued.token.expose(),
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": Scope::join(&issued.scopes),
        "authorization_details": [{
            "type": DETAILS_TYPE,
            "task_id": issued.task_id,
            "project_id": issued.project_id,
        }],
    }))
    .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
