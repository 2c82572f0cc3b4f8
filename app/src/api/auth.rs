//! Bearer authentication as an axum extractor: a handler that takes
//! [`TokenAuth`] only runs for a valid, unexpired, unrevoked token, and every
//! refusal is an [`ApiError`] 401 with the RFC 6750 challenge. The checking
//! is [`crate::bearer`]'s; this door reads the request, applies the token's
//! rate limit and maps the verdict.

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, Method},
};
use http::header::AUTHORIZATION;

use super::ApiError;
use crate::{
    audit::{ActorKind, AuditAction, Outcome},
    bearer::{self, Verdict},
    state::AppState,
    tokens::{
        operation::{Denied, Operation, OUTSIDE_TASK},
        service::{AuthFailure, Authenticated},
        Scope,
    },
    types::Timestamp,
    web::RequestMeta,
};

/// The authenticated calling token.
#[derive(Debug, Clone)]
pub struct TokenAuth(pub Authenticated);

impl TokenAuth {
    /// Proves the token may take `op` (its scope, a task token's
    /// confinement), or refuses with 403: `insufficient_scope` for a missing
    /// scope, `FORBIDDEN` for a task token outside its task.
    pub fn require(&self, op: Operation) -> Result<&Authenticated, ApiError> {
        match self.0.allow(op) {
            Ok(()) => Ok(&self.0),
            Err(denied) => Err(refuse(&self.0, denied)),
        }
    }
}

/// The 403 for an operation `token` may not take.
pub fn refuse(token: &Authenticated, denied: Denied) -> ApiError {
    match denied {
        Denied::Scope(scope) => insufficient_scope(token, scope),
        Denied::OutsideTask => ApiError::Forbidden(OUTSIDE_TASK.into()),
    }
}

/// The operation a REST request asks for, by method and path (what its
/// cost is under `PREQSTATION_USAGE_COSTS`).
pub fn route_operation(method: &Method, path: &str) -> Option<Operation> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let op = match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "auth", "whoami"]) => Operation::Whoami,
        ("GET", ["api", "tokens", "self"]) => Operation::GetTokenInfo,
        ("DELETE", ["api", "tokens", "self"]) => Operation::RevokeOwnToken,
        ("POST", ["api", "tokens", "self", "rotate"]) => Operation::RotateOwnToken,
        ("POST", ["api", "tokens", "verify"]) => Operation::VerifyToken,
        ("GET", ["api", "projects"]) => Operation::ListProjects,
        ("GET", ["api", "projects", _]) => Operation::GetProject,
        ("GET", ["api", "tasks"]) => Operation::ListTasks,
        ("POST", ["api", "tasks"]) => Operation::CreateTask,
        ("GET", ["api", "tasks", _]) => Operation::GetTask,
        ("PATCH", ["api", "tasks", _]) => Operation::UpdateTask,
        ("POST", ["api", "tasks", _, "worklogs"]) => Operation::AddWorkLog,
        ("GET", ["api", "tasks", _, "worklogs"]) => Operation::ListWorkLogs,
        _ => return None,
    };
    Some(op)
}

/// What the MCP door already knows a request costs (its tool's operation),
/// set before it authenticates.
#[derive(Debug, Clone, Copy)]
pub struct CallCost(pub i64);

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

    /// Reads the request for [`bearer::check`] and maps its verdict: the
    /// token's rate limit and response headers, or a 401.
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
        let path = full_path(parts);
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let costs = &state.config.usage_costs;
        let cost = match parts.extensions.get::<CallCost>() {
            Some(c) => c.0,
            None if costs.is_uniform() => 1,
            None => costs.cost(route_operation(&parts.method, &path)),
        };
        let call = bearer::Call {
            meta: &meta,
            method: parts.method.as_str(),
            path: &path,
            rotating: parts.method == Method::POST && path == ROTATE_PATH,
            idempotency_key: header(IDEMPOTENCY_KEY),
            cost,
        };
        let presented = header(AUTHORIZATION.as_str()).and_then(bearer::from_header);
        let verdict = bearer::check(state, presented, &call, Timestamp::now())
            .await
            .map_err(|e| ApiError::db("token authentication", e))?;
        let (token, allowed, exhausted) = match verdict {
            Verdict::Accepted(token) => (token, true, None),
            Verdict::OutsideAllowlist(token) => (token, false, None),
            Verdict::UsageExhausted { token, retry_after } => (token, true, Some(retry_after)),
            Verdict::Refused { failure, replay } => {
                if let Some(replay) = replay {
                    // The handler may hand back the stored answer, and
                    // nothing else.
                    parts.extensions.insert(replay);
                }
                return Err(refusal(&failure));
            }
        };
        let mut rate = state.limits.per_token.check(&token.token_id);
        if let Some(task) = &token.task {
            // A task token's calls count against its subject's rate too.
            rate = state
                .limits
                .per_token
                .check(&task.subject_id)
                .min_by_remaining(rate);
        }
        if let Some(meta) = parts.extensions.get::<super::meta::ResponseMeta>() {
            meta.set(|m| {
                m.token_expires_at = token.expires_at;
                m.rate = Some(rate.clone());
                m.usage_remaining = token.usage_remaining;
                m.token = Some(super::meta::UsedToken {
                    account: token.account_id.to_string(),
                    credential: token.token_id.clone(),
                    prefix: token.prefix.clone(),
                    new_ip: token.new_ip,
                    oauth_client: token.oauth.then(|| token.name.clone()),
                    act: token.task.as_ref().map(|t| t.act(&token.prefix)),
                    ci: token
                        .ci
                        .as_ref()
                        .map(|c| (c.actor.clone(), c.act(&token.prefix))),
                });
            });
        }
        if !allowed {
            // Recorded as the token's refused use (`access_denied`, a
            // security event, and `token_used`) by the API layer.
            return Err(ApiError::Forbidden(NOT_FROM_THIS_IP.into()));
        }
        if let Some(retry_after) = exhausted {
            tracing::warn!(token = %token.prefix, %path, "usage limit exhausted");
            state
                .audit
                .push(
                    crate::audit::NewEvent::new(
                        AuditAction::UsageExhausted,
                        ActorKind::Token,
                        Outcome::Failure,
                    )
                    .account(token.account_id)
                    .actor(token.prefix.clone())
                    .token(token.prefix.clone())
                    .from_request(&meta)
                    .detail("path", &path)
                    .detail("retry_after", retry_after),
                )
                .await;
            return Err(ApiError::UsageExhausted { retry_after });
        }
        if rate.retry_after_secs.is_some() {
            return Err(token_rate_limited(state, &token, &meta, "token", &path, rate).await);
        }
        parts.extensions.insert(token.clone());
        Ok(TokenAuth(token))
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

/// Where a token rotates itself (its reuse there always revokes the family).
const ROTATE_PATH: &str = "/api/tokens/self/rotate";
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The 403 for a token used from outside its IP allowlist.
pub const NOT_FROM_THIS_IP: &str = "Token not allowed from this IP";

/// The 401 for a refused credential, with its message.
fn refusal(f: &AuthFailure) -> ApiError {
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
