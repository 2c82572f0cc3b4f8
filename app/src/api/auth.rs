//! Bearer authentication as an axum extractor: a handler that takes
//! [`TokenAuth`] only runs for a valid, unexpired, unrevoked token, and every
//! refusal is an [`ApiError`] 401 with the RFC 6750 challenge.

use crate::audit::{ActorKind, AuditAction, Outcome};
use axum::{extract::FromRequestParts, http::request::Parts};
use http::header::AUTHORIZATION;

use super::ApiError;
use crate::{
    state::AppState,
    tokens::{
        service::{self, AuthFailure, Authenticated},
        Scope,
    },
    types::Timestamp,
    web::RequestMeta,
};

/// The authenticated calling token.
#[derive(Debug, Clone)]
pub struct TokenAuth(pub Authenticated);

impl TokenAuth {
    /// Proves the token holds `scope`, or refuses with 403 `insufficient_scope`.
    pub fn require(&self, scope: Scope) -> Result<&Authenticated, ApiError> {
        if self.0.scopes.contains(&scope) {
            Ok(&self.0)
        } else {
            Err(insufficient_scope(&self.0, scope))
        }
    }
}

/// The 403 for `token` lacking `needed`. An OAuth client is told to ask for
/// what its grant has plus `needed` (it re-authorizes with exactly that
/// list); an API key's owner, for `needed` (keys are not re-authorized).
pub fn insufficient_scope(token: &Authenticated, needed: Scope) -> ApiError {
    let mut ask = if token.oauth {
        token.scopes.clone()
    } else {
        Vec::new()
    };
    if !ask.contains(&needed) {
        ask.push(needed);
    }
    ApiError::InsufficientScope { needed, ask }
}

/// The request's full path (the nested API router strips `/api`).
fn full_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string())
}

impl FromRequestParts<AppState> for TokenAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(crate::mcp::http::InternalCall(token)) = parts
            .extensions
            .get::<crate::mcp::http::InternalCall>()
            .cloned()
        {
            // An MCP tool call's route: the door authenticated this request
            // (one lookup), counted it and audits it.
            parts.extensions.insert(token.clone());
            return Ok(TokenAuth(token));
        }
        let meta = RequestMeta::of(parts, &state.config.trust_proxy);
        let Some(presented) = bearer(parts) else {
            state
                .audit
                .push(
                    crate::audit::NewEvent::new(
                        AuditAction::AuthFailed,
                        ActorKind::Anonymous,
                        Outcome::Failure,
                    )
                    .from_request(&meta)
                    .detail("reason", "missing")
                    .detail("method", parts.method.as_str())
                    .detail("path", full_path(parts)),
                )
                .await;
            return Err(failure(&AuthFailure::Missing));
        };
        let now = Timestamp::now();
        let outcome = service::authenticate(
            &state.db,
            &state.lookups,
            &state.config,
            presented,
            meta.ip.as_deref(),
            meta.user_agent.as_deref(),
            now,
        )
        .await
        .map_err(|e| ApiError::db("token authentication", e))?;
        match outcome {
            Ok(token) => {
                // One per `token_used` entry the API layer will queue: after
                // a clean shutdown the two counts agree (issue 11's P4).
                metrics::counter!("api_authenticated_requests_total").increment(1);
                let rate = state.limits.per_token.check(&token.token_id);
                if let Some(meta) = parts.extensions.get::<super::meta::ResponseMeta>() {
                    meta.set(|m| {
                        m.token_expires_at = token.expires_at;
                        m.rate = Some(rate.clone());
                        m.token = Some(super::meta::UsedToken {
                            account: token.account_id.to_string(),
                            prefix: token.prefix.clone(),
                            new_ip: token.new_ip,
                            oauth_client: token.oauth.then(|| token.name.clone()),
                        });
                    });
                }
                if rate.retry_after_secs.is_some() {
                    return Err(token_rate_limited(
                        state,
                        &token,
                        &meta,
                        "token",
                        &full_path(parts),
                        rate,
                    )
                    .await);
                }
                parts.extensions.insert(token.clone());
                Ok(TokenAuth(token))
            }
            Err(f) => {
                if let Some(replay) = retired_replay(state, parts, &f, now).await {
                    // The predecessor retrying its own rotation: the handler
                    // may hand back the stored answer, and nothing else.
                    parts.extensions.insert(replay);
                    return Err(failure(&f));
                }
                metrics::counter!("auth_failures_total", "reason" => f.reason()).increment(1);
                tracing::warn!(
                    reason = f.reason(),
                    ip = meta.ip.as_deref().unwrap_or("-"),
                    path = %full_path(parts),
                    "API authentication failed"
                );
                // A predecessor used after its successor took over is a
                // reuse: the token may have leaked.
                let action = match &f {
                    AuthFailure::Revoked {
                        retired: Some(_), ..
                    } => AuditAction::TokenReuseDetected,
                    _ => AuditAction::AuthFailed,
                };
                let mut event =
                    crate::audit::NewEvent::new(action, ActorKind::Anonymous, Outcome::Failure)
                        .from_request(&meta)
                        .detail("reason", f.reason())
                        .detail("method", parts.method.as_str())
                        .detail("path", full_path(parts));
                if let AuthFailure::Expired {
                    prefix, account, ..
                }
                | AuthFailure::Revoked {
                    prefix, account, ..
                } = &f
                {
                    event = event
                        .token(prefix.clone())
                        .actor(prefix.clone())
                        .account(account.clone())
                        .security(true);
                }
                if let AuthFailure::Revoked {
                    retired: Some(id),
                    account,
                    ..
                } = &f
                {
                    let rotating =
                        parts.method == axum::http::Method::POST && full_path(parts) == ROTATE_PATH;
                    if rotating || policy_revokes_on_any_reuse(state).await {
                        revoke_family_on_reuse(state, account, id, &event, now).await;
                    }
                }
                state.audit.push(event).await;
                Err(failure(&f))
            }
        }
    }
}

/// Refuses a request over one of a token's own limits (`token`, `verify`):
/// counted, logged and audited as a security event, like every rate-limit
/// refusal.
pub async fn token_rate_limited(
    state: &AppState,
    token: &Authenticated,
    meta: &RequestMeta,
    limit: &'static str,
    path: &str,
    rate: super::limits::RateState,
) -> ApiError {
    metrics::counter!("rate_limited_total", "limit" => limit).increment(1);
    tracing::warn!(token = %token.prefix, limit, %path, "API rate limit exceeded");
    state
        .audit
        .push(
            crate::audit::NewEvent::new(
                AuditAction::RateLimited,
                ActorKind::Token,
                Outcome::Failure,
            )
            .account(token.account_id)
            .actor(token.prefix.clone())
            .token(token.prefix.clone())
            .from_request(meta)
            .detail("limit", limit)
            .detail("path", path)
            .security(true),
        )
        .await;
    ApiError::RateLimited(rate)
}

/// A retired token whose rotation answer is kept, sealed, under the
/// request's `Idempotency-Key` (docs/api.md, "Rotation").
#[derive(Debug, Clone)]
pub struct RetiredReplay {
    pub token_id: String,
    pub account: String,
    pub prefix: String,
}

const ROTATE_PATH: &str = "/api/tokens/self/rotate";

async fn retired_replay(
    state: &AppState,
    parts: &Parts,
    f: &AuthFailure,
    now: Timestamp,
) -> Option<RetiredReplay> {
    let AuthFailure::Revoked {
        retired: Some(id),
        account,
        prefix,
    } = f
    else {
        return None;
    };
    if parts.method != axum::http::Method::POST || full_path(parts) != ROTATE_PATH {
        return None;
    }
    match super::idempotency::has_sealed_answer(state, id, &parts.headers, now).await {
        Ok(true) => Some(RetiredReplay {
            token_id: id.clone(),
            account: account.clone(),
            prefix: prefix.clone(),
        }),
        Ok(false) => None,
        Err(e) => {
            tracing::error!(error = %e, "could not look up a rotation replay");
            None
        }
    }
}

/// The admin policy's opt-in: any use of a retired token revokes its family.
async fn policy_revokes_on_any_reuse(state: &AppState) -> bool {
    match crate::tokens::policy::load(&state.db).await {
        Ok(p) => p.revoke_family_on_reuse,
        Err(e) => {
            tracing::error!(error = %e, "could not read the token policy");
            false
        }
    }
}

/// A retired predecessor asked for a successor: whoever holds it is not the
/// agent that rotated it. Every working member of its family is revoked.
async fn revoke_family_on_reuse(
    state: &AppState,
    account: &str,
    retired_id: &str,
    event: &crate::audit::NewEvent,
    now: Timestamp,
) {
    let Some(owner) = crate::types::AccountId::parse(account) else {
        return;
    };
    match service::revoke_on_reuse(&state.db, &state.config.keys, owner, retired_id, event, now)
        .await
    {
        Ok(n) => tracing::warn!(
            account,
            revoked = n,
            "retired token presented: family revoked"
        ),
        Err(e) => {
            tracing::error!(error = %e, account, "could not revoke the family of a reused token")
        }
    }
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn failure(f: &AuthFailure) -> ApiError {
    let (message, invalid_token) = match f {
        AuthFailure::Missing => ("Missing or invalid authorization header".to_string(), false),
        AuthFailure::Malformed => (
            "Invalid token: it is not a Preqstation API token.".to_string(),
            true,
        ),
        AuthFailure::BadChecksum => (
            "Invalid token: the checksum does not match (mistyped or truncated?).".to_string(),
            true,
        ),
        AuthFailure::Unknown => ("Invalid token.".to_string(), true),
        AuthFailure::Expired { prefix, at, .. } => {
            (format!("Token {prefix} expired at {}.", at.rfc3339()), true)
        }
        AuthFailure::Revoked { prefix, .. } => (format!("Token {prefix} has been revoked."), true),
        AuthFailure::WrongAudience { prefix, .. } => (
            format!("Token {prefix} was issued for another server (audience)."),
            true,
        ),
    };
    ApiError::Unauthorized {
        message,
        invalid_token,
    }
}
