//! Where clients learn about this server: the protected-resource metadata
//! (RFC 9728) of the REST API and of `/mcp`, the authorization-server
//! metadata (RFC 8414), and the `WWW-Authenticate` challenges that point to
//! them. A door: the documents derive from the configuration and the
//! grantable scopes.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

use crate::{config::Config, state::AppState};

/// The scopes a client may ask for, as the metadata lists them.
pub(super) fn scopes_supported() -> Vec<&'static str> {
    super::grantable_scopes()
        .iter()
        .map(|s| s.as_str())
        .collect()
}

fn metadata(value: serde_json::Value) -> Response {
    let mut res = Json(value).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

fn protected_resource(config: &Config, resource: String) -> Response {
    metadata(serde_json::json!({
        "resource": resource,
        "authorization_servers": [super::issuer(config)],
        "scopes_supported": scopes_supported(),
        "bearer_methods_supported": ["header"],
        "resource_name": "Preqstation",
        "resource_documentation": format!("{}/docs/api", super::issuer(config)),
    }))
}

/// RFC 9728 for the REST API.
pub async fn protected_resource_api(State(state): State<AppState>) -> Response {
    let [api, _] = super::resources(&state.config);
    protected_resource(&state.config, api)
}

/// RFC 9728 for `/mcp`: its `resource` is the URL MCP clients connect to.
pub async fn protected_resource_mcp(State(state): State<AppState>) -> Response {
    let [_, mcp] = super::resources(&state.config);
    protected_resource(&state.config, mcp)
}

/// RFC 8414.
pub async fn authorization_server(State(state): State<AppState>) -> Response {
    let issuer = super::issuer(&state.config);
    metadata(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "registration_endpoint": format!("{issuer}/oauth/register"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", crate::tokens::task::GRANT_TYPE, crate::federation::JWT_BEARER_GRANT],
        "authorization_details_types_supported": [crate::tokens::task::DETAILS_TYPE],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": scopes_supported(),
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{issuer}/docs/api"),
    }))
}

/// Adds where to find the authorization server to the 401 challenges of
/// `/mcp` and `/api/` (RFC 9728 5.1): `resource_metadata` and `scope`.
pub async fn challenge_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Which metadata document applies, decided before the request moves
    // on (no allocation: this layer sees every request).
    let path = req.uri().path();
    let document = if path == "/mcp" || path.starts_with("/mcp/") {
        Some("/.well-known/oauth-protected-resource/mcp")
    } else if path.starts_with("/api/") {
        Some("/.well-known/oauth-protected-resource")
    } else {
        None
    };
    let mut res = next.run(req).await;
    let challenged = match res.status() {
        StatusCode::UNAUTHORIZED => true,
        // MCP authorization, "Runtime Insufficient Scope Errors": the 403
        // challenge carries the metadata too (its scope is already set).
        StatusCode::FORBIDDEN => res.headers().contains_key(header::WWW_AUTHENTICATE),
        _ => false,
    };
    let Some(document) = document.filter(|_| challenged) else {
        return res;
    };
    let metadata = format!("{}{document}", super::issuer(&state.config));
    let current = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(r#"Bearer realm="preqstation""#)
        .to_string();
    let value = if res.status() == StatusCode::FORBIDDEN {
        format!(r#"{current}, resource_metadata="{metadata}""#)
    } else {
        // The scopes a host asks for by default: not `tokens:delegate`,
        // which an owner grants only by ticking it.
        let scope = scopes_supported()
            .into_iter()
            .filter(|s| *s != crate::tokens::Scope::TokensDelegate.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        format!(r#"{current}, resource_metadata="{metadata}", scope="{scope}""#)
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}
