//! OAuth helpers shared by the OAuth test files: a registered client, the
//! authorization request, the consent form, the code exchange.

use axum::{body::Body, http::Request};
use serde_json::{json, Value};

use super::{Owner, TestApp, TestResponse, ORIGIN};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "http://127.0.0.1:4711/callback";
pub const MCP: &str = "http://127.0.0.1:3000/mcp";

pub async fn get(app: &TestApp, path: &str) -> TestResponse {
    app.get(path, None).await
}

pub async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> TestResponse {
    let body = super::form_encode(form);
    app.send(
        Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

pub async fn register(app: &TestApp, body: Value) -> TestResponse {
    app.send(
        Request::post("/oauth/register")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

pub async fn client(app: &TestApp) -> String {
    let res = register(
        app,
        json!({"client_name": "Test host", "redirect_uris": [REDIRECT]}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()["client_id"].as_str().unwrap().to_string()
}

pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub fn authorize_url(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz-state"),
        ("resource", MCP),
        ("scope", "projects:read tasks:read"),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    format!("/oauth/authorize?{}", super::form_encode(&params))
}

/// GET /oauth/authorize: the parked request's id (from the consent redirect).
pub async fn park(app: &TestApp, client_id: &str) -> String {
    let res = get(app, &authorize_url(client_id, &[])).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let location = res.header("location").unwrap().to_string();
    assert!(
        location.starts_with("/oauth/consent?request="),
        "{location}"
    );
    query_of(&location)["request"].clone()
}

/// The consent form's POST, as the browser sends it.
pub async fn decide(
    app: &TestApp,
    o: &Owner,
    request: &str,
    decision: &str,
    scopes: &[&str],
) -> TestResponse {
    let mut form = vec![("request", request), ("decision", decision)];
    for s in scopes {
        form.push(("scope", s));
    }
    app.send(
        Request::post("/oauth/decision")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", ORIGIN)
            .header("cookie", &o.cookie)
            .body(Body::from(super::form_encode(&form)))
            .unwrap(),
    )
    .await
}

/// Registration, consent (Allow), and the code from the redirect.
pub async fn code(app: &TestApp, o: &Owner) -> (String, String) {
    let client_id = client(app).await;
    let request = park(app, &client_id).await;
    let res = decide(app, o, &request, "allow", &["projects:read", "tasks:read"]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let q = query_of(res.header("location").unwrap());
    assert!(res.header("location").unwrap().starts_with(REDIRECT));
    assert_eq!(q["state"], "xyz-state");
    assert_eq!(q["iss"], "http://127.0.0.1:3000");
    (client_id, q["code"].clone())
}

pub async fn exchange(app: &TestApp, client_id: &str, code: &str, verifier: &str) -> TestResponse {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("resource", MCP),
        ],
    )
    .await
}

pub async fn whoami(app: &TestApp, token: &str) -> TestResponse {
    super::api(app, "GET", "/api/auth/whoami", Some(token), None).await
}

pub async fn tools_list(app: &TestApp, token: &str) -> TestResponse {
    mcp_post(
        app,
        token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
    )
    .await
}

/// `tools/call` over `/mcp` (2025-11-25) with `token`.
pub async fn tools_call(app: &TestApp, token: &str, tool: &str, args: Value) -> TestResponse {
    mcp_post(
        app,
        token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}),
    )
    .await
}

async fn mcp_post(app: &TestApp, token: &str, message: Value) -> TestResponse {
    app.send(
        Request::post("/mcp")
            .header("host", "127.0.0.1:3000")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(message.to_string()))
            .unwrap(),
    )
    .await
}

pub async fn events(app: &TestApp, action: &str) -> i64 {
    app.flush_audit().await;
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
    ))
    .await
}

/// The "Return to the application" link of the page a Deny shows.
pub fn denied_link(page: &str) -> String {
    let start = page.find("<a href=\"").expect("a link back") + 9;
    let end = start + page[start..].find('"').expect("the link's end");
    page[start..end].replace("&amp;", "&")
}
