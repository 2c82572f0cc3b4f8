//! Per-request state the API writes into its response headers after the
//! handler ran: the token's expiry (`Preqstation-Token-Expiration`) and the
//! rate-limit state. The middleware inserts an empty slot; the
//! authentication extractor fills it.

use crate::audit::{ActorKind, AuditAction, Outcome};
use std::sync::{Arc, Mutex};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{HeaderName, HeaderValue};

use super::{limits::RateState, ApiError};
use crate::{state::AppState, types::Timestamp, web::RequestMeta};

#[derive(Debug, Default)]
pub struct MetaInner {
    pub token_expires_at: Option<Timestamp>,
    pub rate: Option<RateState>,
    /// The authenticated token, for the `token_used` audit event.
    pub token: Option<UsedToken>,
    /// Set by the MCP door: the JSON-RPC method and tool of this request.
    pub mcp: Option<crate::mcp::http::McpCall>,
    /// Calls left of the token's usage limit (`Preqstation-Usage-Remaining`).
    pub usage_remaining: Option<i64>,
}

/// Who called, as the `token_used` entry records it.
#[derive(Debug, Clone)]
pub struct UsedToken {
    pub account: String,
    /// The API key's id, or the OAuth grant's: whose call the rollup counts.
    pub credential: String,
    pub prefix: String,
    /// First request from this IP.
    pub new_ip: bool,
    /// An OAuth access token: its client's name (the entry's actor is then
    /// the client, acting for the account).
    pub oauth_client: Option<String>,
    /// A task token: the actor chain (RFC 8693 `act`), the task token
    /// acting for its subject.
    pub act: Option<serde_json::Value>,
    /// A CI token: the CI identity in one line, and its `act` detail.
    pub ci: Option<(String, serde_json::Value)>,
}

#[derive(Debug, Clone, Default)]
pub struct ResponseMeta(pub Arc<Mutex<MetaInner>>);

impl ResponseMeta {
    pub fn set(&self, f: impl FnOnce(&mut MetaInner)) {
        if let Ok(mut inner) = self.0.lock() {
            f(&mut inner);
        }
    }
}

/// The API's own middleware: the per-IP limit before anything else, then
/// the response headers from [`ResponseMeta`].
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // A tool call the MCP door runs in process was limited and is audited
    // there, as one request.
    if req
        .extensions()
        .get::<crate::mcp::http::InternalCall>()
        .is_some()
    {
        return next.run(req).await;
    }
    let request =
        RequestMeta::from_parts(req.headers(), req.extensions(), &state.config.trust_proxy);
    let ip = request.ip.clone().unwrap_or_else(|| "unknown".into());
    let method = req.method().to_string();
    // Inside the nested /api router the URI is relative; log the full path.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let ip_state = state.limits.per_ip.check(&crate::request::rate_key(&ip));
    if ip_state.retry_after_secs.is_some() {
        metrics::counter!("rate_limited_total", "limit" => "ip").increment(1);
        tracing::warn!(%ip, %path, "API rate limit (per IP) exceeded");
        state
            .audit
            .push(
                crate::audit::NewEvent::new(
                    AuditAction::RateLimited,
                    ActorKind::Anonymous,
                    Outcome::Failure,
                )
                .from_request(&request)
                .detail("limit", "ip")
                .detail("method", &method)
                .detail("path", &path)
                .security(true),
            )
            .await;
        return ApiError::RateLimited(ip_state).into_response();
    }
    // The room for this request's `token_used` entry, taken before the
    // handler runs: when the writer cannot keep up (or the database is
    // away), the request waits here and then gets a 503, with nothing done
    // and nothing to record, instead of the queue growing or an entry being
    // dropped after the fact.
    let Some(room) = state.audit.reserve().await else {
        return ApiError::Unavailable.into_response();
    };
    let meta = ResponseMeta::default();
    req.extensions_mut().insert(meta.clone());
    // Extractors read it from here instead of parsing the headers again.
    req.extensions_mut().insert(request.clone());
    let mut res = next.run(req).await;

    let (expires, rate, token, mcp, usage) = match meta.0.lock() {
        Ok(inner) => (
            inner.token_expires_at,
            inner.rate.clone(),
            inner.token.clone(),
            inner.mcp.clone(),
            inner.usage_remaining,
        ),
        Err(_) => (None, None, None, None, None),
    };
    if let Some(UsedToken {
        account,
        credential,
        prefix,
        new_ip,
        oauth_client,
        act,
        ci,
    }) = token
    {
        let http_status = res.status().as_u16();
        // A failed tool call is HTTP 200 at /mcp: its route's status counts.
        let status = mcp
            .as_ref()
            .and_then(|m| m.tool_status)
            .unwrap_or(http_status);
        // Access refused (a missing scope, another owner's resource) is a
        // security event of its own (ASVS 5.0 16.3.2).
        if status == 403 {
            tracing::warn!(token = %prefix, %method, %path, "access refused");
            state
                .audit
                .push(
                    crate::audit::NewEvent::new(
                        AuditAction::AccessDenied,
                        ActorKind::Token,
                        Outcome::Failure,
                    )
                    .account(account.clone())
                    .actor(prefix.clone())
                    .token(prefix.clone())
                    .from_request(&request)
                    .detail("method", &method)
                    .detail("path", &path)
                    .detail("status", status)
                    .security(true),
                )
                .await;
        }
        let mut event = crate::audit::NewEvent::new(
            AuditAction::TokenUsed,
            match (&oauth_client, &act, &ci) {
                (_, _, Some(_)) => ActorKind::Ci,
                (_, Some(_), None) => ActorKind::TaskToken,
                (Some(_), None, None) => ActorKind::OauthClient,
                (None, None, None) => ActorKind::Token,
            },
            Outcome::of_status(status),
        );
        if let Some(client) = &oauth_client {
            event = event.detail("client", client);
        }
        let mut actor = prefix.clone();
        if let Some(act) = act {
            if let (Some(name), Some(subject)) =
                (act["act"]["name"].as_str(), act["act"]["sub"].as_str())
            {
                actor = format!("{prefix} for {name} ({subject}…)");
            }
            event = event.detail("act", act);
        }
        if let Some((identity, act)) = ci {
            actor = format!("{prefix} for {identity}");
            event = event.detail("act", act);
        }
        if let Some(m) = &mcp {
            event = event.detail("mcp_method", &m.method);
            if let Some(tool) = &m.tool {
                event = event.detail("tool", tool);
            }
            if let Some(client) = &m.client {
                event = event.detail("mcp_client", client);
            }
            if let Some(trace) = &m.traceparent {
                event = event.detail("traceparent", trace);
            }
        }
        room.send(
            event
                .call(credential, status)
                .account(account)
                .actor(actor)
                .token(prefix)
                .from_request(&request)
                .detail("method", &method)
                .detail("path", &path)
                .detail("status", status)
                .detail("new_ip", new_ip)
                .security(new_ip),
        );
    }
    let rate = rate.unwrap_or(ip_state);
    let headers = res.headers_mut();
    if let Some(left) = usage {
        headers.insert(
            HeaderName::from_static("preqstation-usage-remaining"),
            HeaderValue::from(left.max(0)),
        );
    }
    if let Some(at) = expires {
        if let Ok(v) = HeaderValue::from_str(&at.rfc3339()) {
            headers.insert(HeaderName::from_static("preqstation-token-expiration"), v);
        }
    }
    if !headers.contains_key("ratelimit") {
        if let (Ok(p), Ok(l)) = (
            HeaderValue::from_str(&rate.policy_header()),
            HeaderValue::from_str(&rate.limit_header()),
        ) {
            headers.insert(HeaderName::from_static("ratelimit-policy"), p);
            headers.insert(HeaderName::from_static("ratelimit"), l);
        }
    }
    res
}
