//! `/mcp`: MCP streamable HTTP (rmcp), stateless, serving both protocol
//! generations (2025-11-25 with its `initialize` handshake, 2026-07-28
//! without sessions). In front of rmcp, the same middleware as `/api`
//! (per-IP limit, `token_used`, expiry and rate-limit headers) and a guard:
//! `Origin` must be ours when present (DNS rebinding), the bearer token is
//! authenticated exactly as on the REST API (401 with the RFC 6750
//! challenge), and a `tools/call` outside the token's scopes is 403 with
//! `error="insufficient_scope"`. A tool call then runs its REST route in
//! process ([`InProcess`]), so both doors share one handler per rule.
//!
//! rmcp defaults changed here: `legacy_session_mode` off (no per-client
//! sessions in memory, so any instance answers any request and memory stays
//! bounded), `allowed_hosts` and `allowed_origins` from the public URL
//! instead of localhost-only / unchecked, JSON responses instead of SSE
//! streams (no server-initiated messages here), no SSE keep-alive, and the
//! API's 64 KiB body limit.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, FromRequestParts, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use http::{header, StatusCode};
use rmcp::{
    model::ProtocolVersion,
    service::RequestContext,
    transport::streamable_http_server::{
        session::never::NeverSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    },
    ErrorData, RoleServer,
};
use serde_json::Value;
use tower::ServiceExt;

use super::{
    handler::{Backend, McpServer, RestReply},
    tools::{self, RestCall},
};
use crate::{
    api::{auth::CallCost, meta::ResponseMeta, ApiError, TokenAuth},
    state::AppState,
    tokens::{operation::Denied, service::Authenticated, Scope},
    web::BODY_LIMIT_BYTES,
};

/// Marks a request the MCP door sends to the REST router in process, with
/// the principal the door authenticated on this very request: the route
/// uses it instead of looking the token up again (one lookup per tool call,
/// so revocation is as exact as on any request), and the call was already
/// counted against the rate limits and is audited as the MCP call. A
/// request extension: no client can set it.
#[derive(Debug, Clone)]
pub struct InternalCall(pub Authenticated);

/// The MCP call being served, for its `token_used` audit entry (method and
/// tool name; never the arguments).
#[derive(Debug, Clone, Default)]
pub struct McpCall {
    pub method: String,
    pub tool: Option<String>,
    /// The tool's route status (a failed tool is still HTTP 200).
    pub tool_status: Option<u16>,
    /// The client's own claim of its name and version: a 2026-07-28
    /// request's `_meta["io.modelcontextprotocol/clientInfo"]`, else the
    /// `User-Agent` (a stateless server cannot tie a 2025-11-25 client's
    /// `initialize` to its later calls).
    pub client: Option<String>,
    /// The W3C trace context in the request's `_meta`, when well formed.
    pub traceparent: Option<String>,
}

/// The client's claim of who it is, cut to 128 characters.
fn client_claim(message: &Value, headers: &http::HeaderMap) -> Option<String> {
    let info = &message["params"]["_meta"]["io.modelcontextprotocol/clientInfo"];
    let claim = match (info["name"].as_str(), info["version"].as_str()) {
        (Some(name), Some(version)) => Some(format!("{name}/{version}")),
        (Some(name), None) => Some(name.to_string()),
        _ => headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    claim.map(|c| c.chars().filter(|c| !c.is_control()).take(128).collect())
}

/// `00-<32 hex>-<16 hex>-<2 hex>` (W3C Trace Context, version 00).
fn valid_traceparent(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    matches!(parts.as_slice(), [v, trace, parent, flags]
        if hex(v, 2) && hex(trace, 32) && hex(parent, 16) && hex(flags, 2))
}

/// The `/mcp` route, with its guard and the API's middleware.
pub fn routes(state: &AppState, api: Router) -> Router<AppState> {
    let cfg = &state.config;
    let origin = cfg.public_origin();
    let mut hosts = vec![authority(origin)];
    hosts.push(cfg.listen.to_string());
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(hosts)
        .with_allowed_origins([origin])
        .with_max_request_body_bytes(BODY_LIMIT_BYTES);
    let service = StreamableHttpService::new(
        move || Ok(McpServer::new(InProcess { api: api.clone() })),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", service)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::api::meta::layer,
        ))
}

/// `host[:port]` of an origin.
fn authority(origin: &str) -> String {
    origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin)
        .to_string()
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Origin, authentication and scope, before rmcp sees the request.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ours = state.config.public_origin();
        if origin.to_str().map(|o| o != ours).unwrap_or(true) {
            tracing::warn!(origin = ?origin, "MCP request from a foreign Origin refused");
            return refuse(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "Requests from this Origin are not allowed.",
            );
        }
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(b) => b,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    let message: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // A tool call costs its operation's cost; any other message 1.
    let op = (message["method"] == "tools/call")
        .then(|| message["params"]["name"].as_str())
        .flatten()
        .and_then(tools::find)
        .map(|t| t.op);
    parts
        .extensions
        .insert(CallCost(state.config.usage_costs.cost(op)));
    let token = match TokenAuth::from_request_parts(&mut parts, &state).await {
        Ok(TokenAuth(t)) => t,
        Err(e) => return e.into_response(),
    };
    if let Some(refusal) = unsupported_version(&parts.headers, &message) {
        return refusal;
    }
    let call = McpCall {
        method: message["method"]
            .as_str()
            .unwrap_or("-")
            .chars()
            .take(64)
            .collect(),
        tool: (message["method"] == "tools/call")
            .then(|| message["params"]["name"].as_str())
            .flatten()
            .map(|n| n.chars().take(64).collect()),
        tool_status: None,
        client: client_claim(&message, &parts.headers),
        traceparent: message["params"]["_meta"]["traceparent"]
            .as_str()
            .filter(|t| valid_traceparent(t))
            .map(str::to_string),
    };
    if let Some(meta) = parts.extensions.get::<ResponseMeta>() {
        meta.set(|m| m.mcp = Some(call.clone()));
    }
    if let Some(tool) = call.tool.as_deref().and_then(tools::find) {
        // A missing scope is answered at the HTTP level, so the host can
        // ask the owner for it (step-up); a task token's call outside its
        // task is the tool's error (FORBIDDEN), from the handler.
        if let Err(denied @ Denied::Scope(_)) = token.allow(tool.op) {
            tracing::warn!(token = %token.prefix, tool = tool.spec.name, "MCP tool call outside the token's scopes");
            return crate::api::auth::refuse(&token, denied).into_response();
        }
    }
    parts.extensions.insert(token);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// 2026-07-28: an unsupported `MCP-Protocol-Version` is 400 with the
/// versions we serve (rmcp answers a bare 400 without them).
fn unsupported_version(headers: &http::HeaderMap, message: &Value) -> Option<Response> {
    let requested = headers.get("mcp-protocol-version")?.to_str().unwrap_or("");
    let known = ProtocolVersion::KNOWN_VERSIONS;
    if known.iter().any(|v| v.as_str() == requested) {
        return None;
    }
    let error = ErrorData::unsupported_protocol_version(
        serde_json::from_value(Value::from(requested)).unwrap_or_default(),
        known,
    );
    let body = serde_json::json!({"jsonrpc": "2.0", "id": message.get("id").cloned().unwrap_or(Value::Null), "error": error});
    Some((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
}

/// Runs a tool's REST route in this process, as the calling token.
pub struct InProcess {
    api: Router,
}

fn parts(ctx: &RequestContext<RoleServer>) -> Option<&http::request::Parts> {
    ctx.extensions.get::<http::request::Parts>()
}

impl Backend for InProcess {
    fn grant(&self, ctx: &RequestContext<RoleServer>) -> Option<(Vec<Scope>, bool)> {
        parts(ctx)?
            .extensions
            .get::<Authenticated>()
            .map(|t| (t.scopes.clone(), t.task.is_some()))
    }

    async fn send(&self, call: RestCall, ctx: &RequestContext<RoleServer>) -> RestReply {
        let mut req = Request::builder().method(call.method).uri(&call.uri);
        if let Some(p) = parts(ctx) {
            for name in [
                header::AUTHORIZATION,
                header::USER_AGENT,
                // Whichever forwarding header the operator trusts, so the
                // route sees the same client IP as the guard did.
                header::HeaderName::from_static("x-forwarded-for"),
                header::FORWARDED,
                header::HeaderName::from_static("x-real-ip"),
            ] {
                for v in p.headers.get_all(&name) {
                    req = req.header(&name, v);
                }
            }
        }
        if let Some(key) = call.idempotency_key.as_deref() {
            req = req.header("idempotency-key", key);
        }
        let body = match &call.body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let Ok(mut req) = req.body(body) else {
            return internal_error();
        };
        if let Some(p) = parts(ctx) {
            let ext = req.extensions_mut();
            if let Some(c) = p.extensions.get::<ConnectInfo<SocketAddr>>() {
                ext.insert(*c);
            }
            if let Some(m) = p.extensions.get::<crate::web::RequestMeta>() {
                ext.insert(m.clone());
            }
            if let Some(r) = p.extensions.get::<crate::web::request_id::RequestId>() {
                ext.insert(r.clone());
            }
        }
        let Some(principal) = parts(ctx).and_then(|p| p.extensions.get::<Authenticated>().cloned())
        else {
            return internal_error();
        };
        req.extensions_mut().insert(InternalCall(principal));
        let Ok(res) = self.api.clone().oneshot(req).await;
        let status = res.status().as_u16();
        let body = match axum::body::to_bytes(res.into_body(), 4 * 1024 * 1024).await {
            Ok(b) if b.is_empty() => Value::Null,
            Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
            Err(_) => return internal_error(),
        };
        RestReply { status, body }
    }

    fn record(&self, ctx: &RequestContext<RoleServer>, _tool: &str, status: u16) {
        if let Some(meta) = parts(ctx).and_then(|p| p.extensions.get::<ResponseMeta>()) {
            meta.set(|m| {
                if let Some(call) = m.mcp.as_mut() {
                    call.tool_status = Some(status);
                }
            });
        }
    }
}

fn internal_error() -> RestReply {
    RestReply {
        status: 500,
        body: serde_json::json!({"error": {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side."}}),
    }
}
