//! The OAuth endpoints: discovery metadata (RFC 9728, RFC 8414), authorize,
//! token, register (RFC 7591), revoke (RFC 7009), and the consent form's
//! POST. Thin: each calls one function of [`super::flow`],
//! [`super::clients`] or [`super::grants`].

use crate::audit::{ActorKind, AuditAction, Outcome};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

use super::{clients, discovery, flow, OAuthError};
use crate::{state::AppState, tokens::Scope, types::Timestamp, web::RequestMeta};

/// The RFC 6749 5.2 answer: 400 (401 for `invalid_client`, 503 when the
/// database is away), never cached.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut res = (
            status,
            Json(serde_json::json!({
                "error": self.error,
                "error_description": self.description,
            })),
        )
            .into_response();
        res.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        res
    }
}

/// The endpoints clients call (no cookies, so outside the CSRF layer),
/// under the API's per-IP rate limit: anonymous callers can park requests
/// and make the server fetch metadata documents, so they are bounded too.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(discovery::protected_resource_api),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(discovery::protected_resource_mcp),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::authorization_server),
        )
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/register", post(register))
        .route("/oauth/revoke", post(revoke))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            per_ip_limit,
        ))
}

async fn per_ip_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ip = RequestMeta::of(&parts, &state.config.trust_proxy)
        .ip
        .unwrap_or_default();
    if let Some(wait) = state.limits.per_ip.check_ip(&ip).retry_after_secs {
        metrics::counter!("rate_limited_total", "limit" => "oauth_ip").increment(1);
        tracing::warn!(%ip, path = %parts.uri.path(), "OAuth rate limit (per IP) exceeded");
        return too_many(
            wait,
            "Too many requests from this address; try again later.",
        );
    }
    next.run(Request::from_parts(parts, body)).await
}

/// 429 with `Retry-After`, in the OAuth error shape.
fn too_many(wait: u64, message: &str) -> Response {
    let mut res = OAuthError::new("temporarily_unavailable", message).into_response();
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    res
}

/// `redirect_uri` with the answer's parameters, and `iss` (RFC 9207).
fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// An authorization answer's parameters: `params`, then `state` when the
/// client sent one, then `iss` (RFC 9207).
fn answer<'a>(
    params: &[(&'a str, &'a str)],
    state: Option<&'a str>,
    issuer: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut out = params.to_vec();
    if let Some(s) = state {
        out.push(("state", s));
    }
    out.push(("iss", issuer));
    out
}

/// Escapes text for HTML (element content and double-quoted attributes).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// After a Deny: our own page, with a link back to the client.
fn denied_page(client: &str, back: &str) -> Response {
    let client = escape(client);
    let back = escape(back);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access denied</title></head>\
             <body><main><h1>Access denied</h1><p>You denied {client} access. Nothing was shared with it.</p>\
             <p><a href=\"{back}\" rel=\"noreferrer\">Return to the application</a> (it will be told access was \
             denied), or close this tab.</p></main></body></html>"
        ),
    )
        .into_response()
}

/// A page for errors that must not be redirected (an unknown client, a
/// redirect URI that is not the client's).
fn error_page(message: &str) -> Response {
    let escaped = escape(message);
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization refused</title></head>\
             <body><main><h1>This authorization request was refused</h1><p>{escaped}</p>\
             <p>Nothing was shared with the application. Close this tab and try connecting again.</p></main></body></html>"
        ),
    )
        .into_response()
}

/// `GET /oauth/authorize`: checks the request and parks it for consent.
async fn authorize(
    State(state): State<AppState>,
    Query(q): Query<flow::AuthorizeQuery>,
) -> Response {
    let now = Timestamp::now();
    match flow::park(&state.db, &state.config, q, now).await {
        Ok(id) => Redirect::to(&format!("/oauth/consent?request={id}")).into_response(),
        Err(message) => error_page(&message),
    }
}

/// The consent form: `request`, `decision` (allow/deny), `scope` repeated.
#[derive(Debug, Default)]
struct ConsentForm {
    request: String,
    decision: String,
    scope: Vec<String>,
}

impl ConsentForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (k, v) in form_urlencoded::parse(body) {
            match &*k {
                "request" => form.request = v.into_owned(),
                "decision" => form.decision = v.into_owned(),
                "scope" if form.scope.len() < 16 => form.scope.push(v.into_owned()),
                _ => {}
            }
        }
        form
    }
}

/// `POST /oauth/decision`: Allow or Deny, then back to the client.
pub async fn consent(State(state): State<AppState>, req: Request) -> Response {
    let Some(crate::web::session::MaybeSession(Some(session))) = req
        .extensions()
        .get::<crate::web::session::MaybeSession>()
        .cloned()
    else {
        return Redirect::to("/login").into_response();
    };
    let (parts, body) = req.into_parts();
    let meta = RequestMeta::of(&parts, &state.config.trust_proxy);
    let body = match axum::body::to_bytes(body, crate::web::BODY_LIMIT_BYTES).await {
        Ok(b) => b,
        Err(_) => return error_page("The form could not be read."),
    };
    let form = ConsentForm::parse(&body);
    let now = Timestamp::now();
    let pending = match flow::take(&state.db, &form.request, now).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return error_page(
                "This authorization request has expired or was already answered. Start again from the application.",
            )
        }
        Err(e) => return error_page(&OAuthError::db(e).description),
    };
    let issuer = super::issuer(&state.config);
    let client =
        match super::clients::resolve(&state.db, &state.config, &pending.client_id, now).await {
            Ok(c) => c,
            Err(e) => return error_page(&e.description),
        };
    let allowed: Vec<Scope> = pending
        .scopes
        .iter()
        .copied()
        .filter(|s| form.scope.iter().any(|f| f == s.as_str()))
        .collect();
    let base = crate::audit::NewEvent::new(
        AuditAction::OauthGrantCreated,
        ActorKind::Session,
        Outcome::Success,
    )
    .account(session.user.id)
    .actor(session.user.email.clone())
    .from_request(&meta);
    if form.decision != "allow" || allowed.is_empty() {
        let event = base
            .with_action(AuditAction::OauthConsentDenied)
            .detail("client", &client.name);
        state.audit.push(event).await;
        let to = redirect_to(
            &pending.redirect_uri,
            &answer(
                &[
                    ("error", "access_denied"),
                    ("error_description", "The owner denied access."),
                ],
                pending.state.as_deref(),
                &issuer,
            ),
        );
        // Every client here registered itself (dynamically or by a metadata
        // document): a Deny lands on our page, and the person decides
        // whether to follow the link back, rather than being sent on to a
        // URI anyone could have registered.
        return denied_page(&client.name, &to);
    }
    let approval = flow::Approval {
        account: session.user.id,
        request: &pending,
        client: &client,
        scopes: &allowed,
    };
    match flow::approve(&state.db, &state.config.keys, approval, &base, now).await {
        Ok(code) => Redirect::to(&redirect_to(
            &pending.redirect_uri,
            &answer(
                &[("code", code.as_str())],
                pending.state.as_deref(),
                &issuer,
            ),
        ))
        .into_response(),
        Err(e) => error_page(&OAuthError::db(e).description),
    }
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    resource: Option<String>,
}

/// `POST /oauth/token`.
async fn token(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
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
    let now = Timestamp::now();
    let missing = |f: &str| OAuthError::new("invalid_request", format!("{f} is required."));
    let Some(client_id) = form.client_id.as_deref() else {
        return OAuthError::new("invalid_client", "client_id is required (a public client).")
            .into_response();
    };
    if let Err(e) = super::clients::resolve(&state.db, &state.config, client_id, now).await {
        return e.into_response();
    }
    if let Some(r) = form.resource.as_deref() {
        if !super::resources(&state.config).iter().any(|x| x == r) {
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
            super::refresh::refresh(&state.db, &state.config, client_id, refresh, now).await
        }
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "Only authorization_code and refresh_token.",
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

/// `POST /oauth/register` (RFC 7591), limited per IP.
async fn register(State(state): State<AppState>, req: Request) -> Response {
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

#[derive(Debug, Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token existed.
async fn revoke(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let form: RevokeForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            return OAuthError::new("invalid_request", "Form-encoded token expected.")
                .into_response()
        }
    };
    let (Some(token), Some(client_id)) = (form.token, form.client_id) else {
        return OAuthError::new("invalid_request", "token and client_id are required.")
            .into_response();
    };
    match super::revocation::revoke_presented(
        &state.db,
        &state.config,
        &client_id,
        &token,
        Timestamp::now(),
    )
    .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => OAuthError::db(e).into_response(),
    }
}
