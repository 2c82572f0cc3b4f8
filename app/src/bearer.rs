//! Bearer credentials, in one place for every door that takes them (the
//! REST API and MCP over HTTP): reading `Authorization: Bearer`, telling an
//! API key from an OAuth access token by its prefix, authenticating it (one
//! lookup; last use on one interval through one coalescer for both kinds,
//! [`crate::tokens::last_use`]), and what a refusal sets off: the audit
//! entry, the sealed rotation answer a retired predecessor may still fetch,
//! and revoking a token family when a retired member comes back.
//!
//! A door reads the header and the request into a [`Call`], asks [`check`],
//! and maps the [`Verdict`] to its own answer (a 401 with the RFC 6750
//! challenge, its rate limits, its response headers).

use crate::notifications::{outbox::Notice, NoticeKind};
use crate::{
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    federation::authenticate as ci_token,
    oauth::grants,
    request::RequestMeta,
    state::AppState,
    tokens::{
        limit,
        service::{self, AuthFailure, Authenticated},
        task::authenticate as task_token,
    },
    types::{AccountId, Timestamp},
};

/// The credential in an `Authorization` header's value: `Bearer <token>`,
/// the scheme in any case.
pub fn from_header(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What kind of credential a presented string claims to be, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ApiKey,
    OAuthAccess,
    /// A task-scoped token (`preq_tt_`), from a token exchange.
    TaskToken,
    /// A CI token (`preq_ci_`), from a federation exchange.
    CiToken,
}

impl Kind {
    pub fn of(config: &crate::config::Config, presented: &str) -> Kind {
        if grants::is_access_token(config, presented) {
            Kind::OAuthAccess
        } else {
            match presented
                .strip_prefix(config.token_prefix.as_str())
                .and_then(|rest| rest.get(..3))
            {
                Some("tt_") => Kind::TaskToken,
                Some("ci_") => Kind::CiToken,
                _ => Kind::ApiKey,
            }
        }
    }
}

/// The request a credential came with, as the door read it.
pub struct Call<'a> {
    pub meta: &'a RequestMeta,
    pub method: &'a str,
    pub path: &'a str,
    /// A token rotating itself (`POST /api/tokens/self/rotate`): a retired
    /// predecessor may fetch its successor's sealed answer there, and its
    /// reuse there always revokes the family.
    pub rotating: bool,
    /// The request's `Idempotency-Key`, if any.
    pub idempotency_key: Option<&'a str>,
    /// What the call costs a token with a usage limit (1 unless configured
    /// for its operation, `PREQSTATION_USAGE_COSTS`).
    pub cost: i64,
}

/// What the door answers.
#[derive(Debug)]
pub enum Verdict {
    Accepted(Authenticated),
    /// A valid token used from outside its IP allowlist: the call is
    /// refused (403) and the token stays valid. The door records the use
    /// like any other refused call of the token.
    OutsideAllowlist(Authenticated),
    /// A valid token with no calls left of its usage limit (or its
    /// subject's): 429 `USAGE_EXHAUSTED`, retry after the next refill
    /// (`None`: it has none).
    UsageExhausted {
        token: Authenticated,
        retry_after: Option<u64>,
    },
    Refused {
        failure: AuthFailure,
        /// A retired predecessor retrying its own rotation, whose answer is
        /// kept sealed under the same key: the door may replay that answer,
        /// and nothing else.
        replay: Option<RetiredReplay>,
    },
}

/// A retired token whose rotation answer is kept, sealed, under the
/// request's `Idempotency-Key` (docs/api.md, "Rotation").
#[derive(Debug, Clone)]
pub struct RetiredReplay {
    pub token_id: String,
    pub account: String,
    pub prefix: String,
}

/// Checks the credential `presented` on `call`. Revocation is read on this
/// very request (no cache); a refusal is counted, logged and audited here.
pub async fn check(
    state: &AppState,
    presented: Option<&str>,
    call: &Call<'_>,
    now: Timestamp,
) -> Result<Verdict, sqlx::Error> {
    let Some(presented) = presented else {
        state
            .audit
            .push(refusal_event(
                AuditAction::AuthFailed,
                &AuthFailure::Missing,
                call,
            ))
            .await;
        return Ok(refused(AuthFailure::Missing));
    };
    let (ip, user_agent) = (call.meta.ip.as_deref(), call.meta.user_agent.as_deref());
    let outcome = match Kind::of(&state.config, presented) {
        Kind::OAuthAccess => {
            let recent = state.lookups.recent();
            grants::authenticate(&state.db, &state.config, recent, presented, ip, now).await?
        }
        Kind::TaskToken => {
            let recent = state.lookups.recent();
            task_token::authenticate(&state.db, &state.config, recent, presented, ip, now).await?
        }
        Kind::CiToken => {
            let recent = state.lookups.recent();
            ci_token::authenticate(&state.db, &state.config, recent, presented, ip, now).await?
        }
        Kind::ApiKey => {
            let lookups = &state.lookups;
            service::authenticate(
                &state.db,
                lookups,
                &state.config,
                presented,
                ip,
                user_agent,
                now,
            )
            .await?
        }
    };
    let failure = match outcome {
        Ok(token) => {
            // One per `token_used` entry the door will queue: after a clean
            // shutdown the two counts agree.
            metrics::counter!("api_authenticated_requests_total").increment(1);
            if !token.allowed_ips.allows(ip) {
                metrics::counter!("auth_failures_total", "reason" => "ip_not_allowed").increment(1);
                tracing::warn!(
                    token = %token.prefix,
                    ip = ip.unwrap_or("-"),
                    path = call.path,
                    "token used from outside its IP allowlist"
                );
                return Ok(Verdict::OutsideAllowlist(token));
            }
            return charge(state, token, call.cost, now).await;
        }
        Err(f) => f,
    };
    if let Some(replay) = retired_replay(state, &failure, call, now).await {
        return Ok(Verdict::Refused {
            failure,
            replay: Some(replay),
        });
    }
    metrics::counter!("auth_failures_total", "reason" => failure.reason()).increment(1);
    tracing::warn!(
        reason = failure.reason(),
        ip = ip.unwrap_or("-"),
        path = call.path,
        "API authentication failed"
    );
    // A predecessor used after its successor took over is a reuse: the
    // token may have leaked.
    let action = match &failure {
        AuthFailure::Revoked {
            retired: Some(_), ..
        } => AuditAction::TokenReuseDetected,
        _ => AuditAction::AuthFailed,
    };
    let mut event = refusal_event(action, &failure, call);
    if let AuthFailure::Revoked {
        retired: Some(id),
        account,
        prefix,
        ..
    } = &failure
    {
        let revoke = call.rotating || policy_revokes_on_any_reuse(state).await;
        if revoke {
            revoke_family_on_reuse(state, account, id, &event, now).await;
        }
        // Once per retired token, however often it comes back.
        if let Some(owner) = crate::types::AccountId::parse(account) {
            event = event.notify(
                Notice::new(NoticeKind::ReuseDetected, owner)
                    .token(id, "", prefix)
                    .reason("A rotated-out API key")
                    .flag(revoke)
                    .key(format!("reuse:{id}")),
            );
        }
    }
    state.audit.push(event).await;
    Ok(refused(failure))
}

/// Spends the call's cost from the token's usage limit (and a task
/// token's subject's), when it has one; a token without pays nothing.
async fn charge(
    state: &AppState,
    mut token: Authenticated,
    cost: i64,
    now: Timestamp,
) -> Result<Verdict, sqlx::Error> {
    let subject_limited = token.task.as_ref().is_some_and(|t| t.subject_limited);
    if !token.limited && !subject_limited {
        return Ok(Verdict::Accepted(token));
    }
    match limit::charge(&state.db, &token, cost, now).await? {
        limit::Charge::Left(left) => {
            token.usage_remaining = left;
            Ok(Verdict::Accepted(token))
        }
        limit::Charge::Exhausted { retry_after } => {
            metrics::counter!("usage_exhausted_total").increment(1);
            token.usage_remaining = Some(0);
            Ok(Verdict::UsageExhausted { token, retry_after })
        }
    }
}

fn refused(failure: AuthFailure) -> Verdict {
    Verdict::Refused {
        failure,
        replay: None,
    }
}

/// The audit entry for a refused credential: anonymous, with the reason;
/// a known token (expired, revoked) is named and the entry is a security
/// event.
fn refusal_event(action: AuditAction, failure: &AuthFailure, call: &Call<'_>) -> NewEvent {
    let mut event = NewEvent::new(action, ActorKind::Anonymous, Outcome::Failure)
        .from_request(call.meta)
        .detail("reason", failure.reason())
        .detail("method", call.method)
        .detail("path", call.path);
    if let AuthFailure::Expired {
        prefix,
        account,
        credential,
        ..
    }
    | AuthFailure::Revoked {
        prefix,
        account,
        credential,
        ..
    } = failure
    {
        event = event
            .call(credential.clone(), 401)
            .token(prefix.clone())
            .actor(prefix.clone())
            .account(account.clone())
            .security(true);
    }
    event
}

/// The retired predecessor of a rotation asking again, under the key its
/// successor's answer is kept sealed.
async fn retired_replay(
    state: &AppState,
    failure: &AuthFailure,
    call: &Call<'_>,
    now: Timestamp,
) -> Option<RetiredReplay> {
    let AuthFailure::Revoked {
        retired: Some(id),
        account,
        prefix,
        ..
    } = failure
    else {
        return None;
    };
    let key = call.idempotency_key.filter(|_| call.rotating)?;
    match has_sealed_answer(state, id, key, now).await {
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

/// True when `token_id` has a finished, unexpired sealed answer under `key`
/// (the idempotency store keeps a rotation's answer sealed, see
/// `api::idempotency`).
async fn has_sealed_answer(
    state: &AppState,
    token_id: &str,
    key: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 AS one FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2 \
         AND status > 0 AND expires_at >= $3 AND body LIKE 'sealed:%'",
    )
    .bind(token_id)
    .bind(key)
    .bind(now.millis())
    .fetch_optional(&state.db)
    .await?;
    Ok(row.is_some())
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

/// A retired predecessor came back: whoever holds it is not the agent that
/// rotated it. Every working member of its family is revoked.
async fn revoke_family_on_reuse(
    state: &AppState,
    account: &str,
    retired_id: &str,
    event: &NewEvent,
    now: Timestamp,
) {
    let Some(owner) = AccountId::parse(account) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_bearer_scheme_in_any_case() {
        assert_eq!(from_header("Bearer preq_abc"), Some("preq_abc"));
        assert_eq!(from_header("bearer  preq_abc "), Some("preq_abc"));
        assert_eq!(from_header("Basic dXNlcjpwYXNz"), None);
        assert_eq!(from_header("Bearer "), None);
        assert_eq!(from_header("Bearer"), None);
    }
}
