//! `/mcp` through the real router: the Origin rule, the 401 and 403
//! challenges, tools filtered by scope, every tool's happy path and refusal,
//! cross-owner refusals, revocation on the next call, bad arguments as tool
//! errors, both protocol generations, and the audit entries.

mod common;

use axum::{body::Body, http::Request};
use common::{api, owner, project, token_with, Owner, TestApp, TestResponse};
use serde_json::{json, Value};

const HOST: &str = "127.0.0.1:3000";
const LEGACY: &str = "2025-11-25";
const MODERN: &str = "2026-07-28";
const DEFAULT_SCOPES: [&str; 4] = [
    "scope_projects_read",
    "scope_tasks_read",
    "scope_tasks_write",
    "scope_worklogs_write",
];

/// One JSON-RPC request to /mcp, with the headers a client of `version`
/// sends (plus `extra`, which may override them).
async fn mcp(
    app: &TestApp,
    token: Option<&str>,
    version: &str,
    method: &str,
    params: Value,
    extra: &[(&str, &str)],
) -> TestResponse {
    let mut req = Request::post("/mcp")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version);
    if version == MODERN {
        req = req.header("mcp-method", method);
        if method == "tools/call" {
            req = req.header("mcp-name", params["name"].as_str().unwrap_or_default());
        }
    }
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut params = params;
    if version == MODERN {
        // 2026-07-28: every request names its version and capabilities.
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {}
        });
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    // Extra headers replace the defaults above.
    for (k, v) in extra {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    app.send(req).await
}

async fn tool_names(app: &TestApp, token: &str, version: &str) -> Vec<String> {
    let res = mcp(app, Some(token), version, "tools/list", json!({}), &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let mut names: Vec<String> = res.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Calls a tool; returns (isError, structuredContent), or for an error
/// result (isError, the envelope read from its text).
async fn call(app: &TestApp, token: &str, version: &str, tool: &str, args: Value) -> (bool, Value) {
    let res = mcp(
        app,
        Some(token),
        version,
        "tools/call",
        json!({"name": tool, "arguments": args}),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{tool}: {}", res.body);
    let result = res.json()["result"].clone();
    assert!(result.is_object(), "{tool}: {}", res.body);
    let is_error = result["isError"].as_bool().unwrap_or(false);
    if !is_error {
        return (false, result["structuredContent"].clone());
    }
    // An error result carries the envelope as text only: a structuredContent
    // would have to match the tool's output schema (SDK 1.x clients check).
    assert!(
        result.get("structuredContent").is_none(),
        "{tool}: an error result has no structuredContent: {}",
        res.body
    );
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    let envelope: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{tool}: error text is the JSON envelope ({e}): {text}"));
    (true, envelope)
}

async fn setup() -> (TestApp, Owner, String, String) {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "agent", &DEFAULT_SCOPES, "30").await;
    let p = project(&app, &o, "site").await;
    (app, o, token, p)
}

#[tokio::test]
async fn origin_is_checked_when_present() {
    let (app, _, token, _) = setup().await;
    let list = |origin: Option<&'static str>| {
        let app = &app;
        let token = token.clone();
        async move {
            let extra: Vec<(&str, &str)> = origin.map(|o| vec![("origin", o)]).unwrap_or_default();
            mcp(app, Some(&token), LEGACY, "tools/list", json!({}), &extra).await
        }
    };
    assert_eq!(list(None).await.status, 200, "a CLI agent sends no Origin");
    assert_eq!(list(Some("http://127.0.0.1:3000")).await.status, 200);
    for foreign in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:3000.evil.example",
        "http://127.0.0.1:3001",
        "https://127.0.0.1:3000",
    ] {
        let res = list(Some(foreign)).await;
        assert_eq!(res.status, 403, "{foreign}");
        assert_eq!(res.json()["error"]["code"], "FORBIDDEN");
    }
}

#[tokio::test]
async fn unauthenticated_requests_get_the_bearer_challenge() {
    let app = TestApp::new().await;
    owner(&app, "owner@example.com", true).await;
    let res = mcp(&app, None, LEGACY, "tools/list", json!({}), &[]).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some(
            r#"Bearer realm="preqstation", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp", scope="projects:read tasks:read tasks:write worklogs:write""#
        )
    );
    assert_eq!(res.json()["error"]["code"], "UNAUTHORIZED");
    let res = mcp(
        &app,
        Some("preq_nope"),
        LEGACY,
        "tools/list",
        json!({}),
        &[],
    )
    .await;
    assert_eq!(res.status, 401);
    assert!(res
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn tools_are_listed_by_scope_in_both_generations() {
    let (app, o, token, _) = setup().await;
    for version in [LEGACY, MODERN] {
        let names = tool_names(&app, &token, version).await;
        assert_eq!(
            names,
            [
                "add_work_log",
                "create_task",
                "get_project",
                "get_task",
                "get_token_info",
                "list_projects",
                "list_tasks",
                "list_work_logs",
                "revoke_own_token",
                "update_task",
                "verify_token",
                "whoami"
            ]
        );
    }
    let reader = token_with(&app, &o, "reader", &["scope_projects_read"], "30").await;
    assert_eq!(
        tool_names(&app, &reader, MODERN).await,
        [
            "get_project",
            "get_token_info",
            "list_projects",
            "revoke_own_token",
            "verify_token",
            "whoami"
        ]
    );
    // The list differs per token: a shared cache must not keep it.
    let res = mcp(&app, Some(&reader), MODERN, "tools/list", json!({}), &[]).await;
    assert_eq!(
        res.json()["result"]["cacheScope"],
        "private",
        "{}",
        res.body
    );
    let tool = &res.json()["result"]["tools"][0];
    assert!(tool["inputSchema"]["type"] == "object" && tool["outputSchema"]["type"] == "object");
    assert!(tool["annotations"]["readOnlyHint"].is_boolean());
}

#[tokio::test]
async fn a_call_outside_the_scopes_is_refused_with_the_scope_challenge() {
    let (app, o, _, p) = setup().await;
    let reader = token_with(&app, &o, "reader", &["scope_projects_read"], "30").await;
    let tasks_only = token_with(&app, &o, "tasks", &["scope_tasks_read"], "30").await;
    for (token, tool, args, scope) in [
        (
            &reader,
            "create_task",
            json!({"project_id": p, "title": "x"}),
            "tasks:write",
        ),
        (&reader, "list_tasks", json!({}), "tasks:read"),
        (&reader, "get_task", json!({"id": p}), "tasks:read"),
        (
            &reader,
            "update_task",
            json!({"id": p, "status": "done"}),
            "tasks:write",
        ),
        (
            &reader,
            "add_work_log",
            json!({"id": p, "message": "m"}),
            "worklogs:write",
        ),
        (&reader, "list_work_logs", json!({"id": p}), "tasks:read"),
        (&tasks_only, "list_projects", json!({}), "projects:read"),
        (
            &tasks_only,
            "get_project",
            json!({"id": p}),
            "projects:read",
        ),
    ] {
        for version in [LEGACY, MODERN] {
            let res = mcp(
                &app,
                Some(token),
                version,
                "tools/call",
                json!({"name": tool, "arguments": args}),
                &[],
            )
            .await;
            assert_eq!(res.status, 403, "{tool} {version}: {}", res.body);
            assert_eq!(
                res.header("www-authenticate").unwrap(),
                format!(
                    r#"Bearer realm="preqstation", error="insufficient_scope", scope="{scope}", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp""#
                ),
                "an API key is told the scope it lacks, and where the metadata is"
            );
        }
    }
}

#[tokio::test]
async fn every_tool_does_what_its_route_does() {
    let (app, _, token, p) = setup().await;
    for version in [LEGACY, MODERN] {
        let (err, who) = call(&app, &token, version, "whoami", json!({})).await;
        assert!(!err, "{who}");
        assert_eq!(who["account"]["email"], "owner@example.com");
        let (_, me) = call(&app, &token, version, "get_token_info", json!({})).await;
        assert_eq!(me["name"], "agent");
        let (_, v) = call(
            &app,
            &token,
            version,
            "verify_token",
            json!({"token": token}),
        )
        .await;
        assert_eq!(v["valid"], true);
        let (_, projects) =
            call(&app, &token, version, "list_projects", json!({"limit": 10})).await;
        assert_eq!(projects["data"][0]["id"], p.as_str(), "{projects}");
        let (_, one) = call(&app, &token, version, "get_project", json!({"id": p})).await;
        assert_eq!(one["name"], "site");

        let (err, task) = call(
            &app,
            &token,
            version,
            "create_task",
            json!({"project_id": p, "title": "Ship it", "idempotency_key": format!("k-{version}")}),
        )
        .await;
        assert!(!err, "{task}");
        let id = task["id"].as_str().unwrap().to_string();
        let (_, again) = call(
            &app,
            &token,
            version,
            "create_task",
            json!({"project_id": p, "title": "Ship it", "idempotency_key": format!("k-{version}")}),
        )
        .await;
        assert_eq!(
            again["id"],
            id.as_str(),
            "a retry with the same key is the same task"
        );
        let (_, listed) = call(
            &app,
            &token,
            version,
            "list_tasks",
            json!({"project_id": p, "status": "todo"}),
        )
        .await;
        assert!(listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str()));
        let (_, got) = call(&app, &token, version, "get_task", json!({"id": id})).await;
        assert_eq!(got["title"], "Ship it");
        let (_, updated) = call(
            &app,
            &token,
            version,
            "update_task",
            json!({"id": id, "status": "done", "result": "merged"}),
        )
        .await;
        assert_eq!(
            (updated["status"].as_str(), updated["result"].as_str()),
            (Some("done"), Some("merged"))
        );
        let (err, log) = call(
            &app,
            &token,
            version,
            "add_work_log",
            json!({"id": id, "message": "wrote it", "minutes": 5}),
        )
        .await;
        assert!(!err, "{log}");
        let (_, logs) = call(&app, &token, version, "list_work_logs", json!({"id": id})).await;
        assert_eq!(logs["data"][0]["message"], "wrote it", "{logs}");

        // The same task through REST.
        let res = api(&app, "GET", &format!("/api/tasks/{id}"), Some(&token), None).await;
        assert_eq!(res.json()["status"], "done");
    }

    let (err, revoked) = call(&app, &token, MODERN, "revoke_own_token", json!({})).await;
    assert!(!err, "{revoked}");
    let res = mcp(&app, Some(&token), MODERN, "tools/list", json!({}), &[]).await;
    assert_eq!(res.status, 401, "revoked on the very next call");
}

#[tokio::test]
async fn bad_arguments_and_foreign_ids_are_tool_errors() {
    let (app, _, token, p) = setup().await;
    let stranger = owner(&app, "stranger@example.com", false).await;
    let theirs = project(&app, &stranger, "theirs").await;
    for (tool, args, code) in [
        ("get_task", json!({}), "VALIDATION_FAILED"),
        ("whoami", json!({"unexpected": 1}), "VALIDATION_FAILED"),
        (
            "create_task",
            json!({"project_id": p, "title": ""}),
            "VALIDATION_FAILED",
        ),
        (
            "create_task",
            json!({"project_id": p, "title": 42}),
            "VALIDATION_FAILED",
        ),
        (
            "update_task",
            json!({"id": p, "status": "sideways"}),
            "VALIDATION_FAILED",
        ),
        ("list_tasks", json!({"limit": 0}), "VALIDATION_FAILED"),
        ("get_task", json!({"id": "not-a-uuid"}), "NOT_FOUND"),
        ("get_project", json!({"id": theirs}), "FORBIDDEN"),
        (
            "create_task",
            json!({"project_id": theirs, "title": "x"}),
            "FORBIDDEN",
        ),
    ] {
        let (err, body) = call(&app, &token, LEGACY, tool, args.clone()).await;
        assert!(err, "{tool} {args}: {body}");
        assert_eq!(body["error"]["code"], code, "{tool} {args}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // An unknown tool and a malformed message are protocol errors, not 500s.
    let res = mcp(
        &app,
        Some(&token),
        LEGACY,
        "tools/call",
        json!({"name": "rotate_token"}),
        &[],
    )
    .await;
    assert!(
        res.status.as_u16() < 500 && res.json()["error"].is_object(),
        "{}",
        res.body
    );
    let res = app
        .send(
            Request::post("/mcp")
                .header("host", HOST)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert!(res.status.as_u16() < 500, "{} {}", res.status, res.body);
}

#[tokio::test]
async fn modern_protocol_headers_must_match_the_body() {
    let (app, _, token, _) = setup().await;
    let res = mcp(
        &app,
        Some(&token),
        MODERN,
        "tools/list",
        json!({}),
        &[("mcp-method", "tools/call")],
    )
    .await;
    assert_eq!(res.status, 400, "{}", res.body);
    let res = mcp(
        &app,
        Some(&token),
        MODERN,
        "tools/call",
        json!({"name": "whoami", "arguments": {}}),
        &[("mcp-name", "list_tasks")],
    )
    .await;
    assert_eq!(
        res.status, 400,
        "Mcp-Name must name the called tool: {}",
        res.body
    );
    let res = mcp(
        &app,
        Some(&token),
        "1999-01-01",
        "tools/list",
        json!({}),
        &[],
    )
    .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(
        res.body.contains(MODERN) && res.body.contains(LEGACY),
        "names the supported versions: {}",
        res.body
    );
    let res = mcp(&app, Some(&token), MODERN, "tools/list", json!({}), &[]).await;
    assert!(
        res.json()["result"]["resultType"].is_string(),
        "{}",
        res.body
    );
    assert!(res
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    // Only POST: no server-initiated stream here.
    let res = app
        .send(
            Request::get("/mcp")
                .header("host", HOST)
                .header("accept", "text/event-stream")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 405, "{}", res.body);
    // A notification is accepted with 202 and no body.
    let res = app
        .send(
            Request::post("/mcp")
                .header("host", HOST)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", LEGACY)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(
                    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.body);
    assert!(res.body.is_empty());
    // A token in the query string is never accepted.
    let res = app
        .send(
            Request::post(format!("/mcp?access_token={token}"))
                .header("host", HOST)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(Body::from(
                    r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 401);
    // A Host that is not ours (DNS rebinding) is refused by rmcp itself.
    let res = mcp(
        &app,
        Some(&token),
        LEGACY,
        "tools/list",
        json!({}),
        &[("host", "evil.example")],
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.body);
    let res = mcp(
        &app,
        Some(&token),
        MODERN,
        "server/discover",
        json!({}),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // A 2025-11-25 client's handshake is answered without a session.
    let res = mcp(&app, Some(&token), LEGACY, "initialize", json!({
        "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}
    }), &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["result"]["protocolVersion"], LEGACY);
    assert!(res.header("mcp-session-id").is_none());
}

#[tokio::test]
async fn tool_calls_are_audited_without_their_arguments() {
    let (app, _, token, p) = setup().await;
    let (err, _) = call(
        &app,
        &token,
        LEGACY,
        "create_task",
        json!({"project_id": p, "title": "A secret plan 7f3a"}),
    )
    .await;
    assert!(!err);
    let (err, _) = call(&app, &token, LEGACY, "get_task", json!({"id": p})).await;
    assert!(err, "a project id is no task");
    app.flush_audit().await;
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT outcome, details FROM audit_events WHERE action = 'token_used' ORDER BY seq",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    let events: Vec<(String, Value)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("outcome"),
                serde_json::from_str(&r.get::<String, _>("details")).unwrap(),
            )
        })
        .collect();
    assert_eq!(events.len(), 2, "one entry per MCP request: {events:?}");
    assert_eq!(events[0].0, "success");
    assert_eq!(events[0].1["tool"], "create_task");
    assert_eq!(events[0].1["mcp_method"], "tools/call");
    assert_eq!(events[0].1["path"], "/mcp");
    assert_eq!(
        events[1].0, "failure",
        "the tool failed, though HTTP said 200"
    );
    assert_eq!(events[1].1["status"], 404);
    let all = app
        .count("SELECT COUNT(*) FROM audit_events WHERE details LIKE '%secret plan%'")
        .await;
    assert_eq!(all, 0, "arguments never reach the audit log");
}

#[tokio::test]
async fn a_tool_call_looks_its_token_up_once() {
    let (app, _, token, p) = setup().await;
    for version in [LEGACY, MODERN] {
        let before = app.state.lookups.asked();
        let (err, _) = call(
            &app,
            &token,
            version,
            "list_tasks",
            json!({"project_id": p}),
        )
        .await;
        assert!(!err);
        assert_eq!(
            app.state.lookups.asked() - before,
            1,
            "{version}: the guard's lookup is the route's principal"
        );
    }
}
