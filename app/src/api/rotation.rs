//! `POST /api/tokens/self/rotate`: a token issues its successor. Honours
//! `Idempotency-Key` so an agent whose response was lost gets the same
//! successor on retry: the answer (it holds the new secret) is kept sealed
//! under the keyring for 10 minutes, and the predecessor may fetch that
//! replay even after it was retired, but use it for nothing else.

use crate::audit::{ActorKind, AuditAction, Outcome};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{
    dto::*,
    extract::{parse_json, read_body, ApiMeta},
    idempotency::{self, Caller, Keep},
    ApiError, TokenAuth,
};
use crate::{
    bearer::RetiredReplay,
    state::AppState,
    tokens::{self, operation::Operation},
    types::Timestamp,
};

/// Issues the calling token's successor (shown once) and retires the caller
/// after the grace period or the successor's first use. Needs
/// `tokens:rotate-self`. A token that was already rotated gets 409, unless
/// it retries with the `Idempotency-Key` of its rotation within 10 minutes:
/// then it gets the same successor again.
#[utoipa::path(post, path = "/api/tokens/self/rotate", tag = "tokens", request_body = RotateRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7E]+$",
            description = "1-255 visible ASCII characters. A retry with the same key and body within 10 minutes returns the same successor (kept encrypted, never in plaintext), even once the caller is retired; the same key with another body is 422")),
    responses((status = 201, body = RotatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["tokens:rotate-self"])))]
pub async fn rotate_self(
    State(state): State<AppState>,
    auth: Result<TokenAuth, ApiError>,
    ApiMeta(meta): ApiMeta,
    req: Request,
) -> Response {
    let retired = req.extensions().get::<RetiredReplay>().cloned();
    let (token, replay_only) = match (auth, retired) {
        (Ok(auth), _) => match auth.require(Operation::RotateOwnToken) {
            Ok(token) => (Some(token.clone()), None),
            Err(e) => return e.into_response(),
        },
        (Err(refusal), Some(retired)) => (None, Some((retired, refusal))),
        (Err(refusal), None) => return refusal.into_response(),
    };
    let token_id = match (&token, &replay_only) {
        (Some(t), _) => t.token_id.clone(),
        (None, Some((r, _))) => r.token_id.clone(),
        (None, None) => return ApiError::Internal.into_response(),
    };
    let headers = req.headers().clone();
    let body = match read_body(req, &state).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let caller = Caller {
        token_id: &token_id,
        keep: Keep::Sealed,
        replay_only: replay_only.as_ref().map(|(_, refusal)| refusal.clone()),
    };
    let res = idempotency::run(
        &state,
        caller,
        &headers,
        "POST /api/tokens/self/rotate",
        &body,
        || async {
            // A replay-only caller never gets here (`run` answers first).
            let token = token.as_ref().ok_or(ApiError::Internal)?;
            let input: RotateRequest = parse_json(&headers, &body)?;
            let grace = input
                .grace
                .map_or(tokens::service::Grace::OneHour, Into::into);
            let base = super::routes::token_event(AuditAction::TokenRotated, token, &meta);
            let now = Timestamp::now();
            let (secret, view) = tokens::service::rotate(
                &state.db,
                &state.config,
                token.account_id,
                &token.token_id,
                grace,
                &base,
                now,
            )
            .await?;
            let answer = RotatedToken {
                token: secret.expose().to_string(),
                id: view.id,
                name: view.name,
                prefix: view.prefix,
                scopes: view.scopes.iter().map(|s| s.as_str().to_string()).collect(),
                created_at: view.created_at.rfc3339(),
                expires_at: view.expires_at.map(|e| e.rfc3339()),
                previous_token_valid_until: Timestamp(now.millis() + grace.secs() * 1000).rfc3339(),
            };
            let value = serde_json::to_value(answer).map_err(|_| ApiError::Internal)?;
            Ok((StatusCode::CREATED, value))
        },
    )
    .await;
    if let Some((retired, _)) = replay_only {
        if res.status().is_success() {
            tracing::info!(token = %retired.prefix, "a retired token fetched its rotation's stored answer");
            state
                .audit
                .push(
                    crate::audit::NewEvent::new(
                        AuditAction::TokenRotationReplayed,
                        ActorKind::Token,
                        Outcome::Success,
                    )
                    .account(retired.account.clone())
                    .actor(retired.prefix.clone())
                    .token(retired.prefix)
                    .from_request(&meta),
                )
                .await;
        }
    }
    res
}
