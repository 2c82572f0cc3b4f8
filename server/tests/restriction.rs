//! A token limited to some projects, through the real router: its lists
//! leave the other projects out, and a read or write of their resources is
//! 403, on REST and MCP alike; bad selections are refused by the field; the
//! restriction changes later and survives rotation.

mod common;

use axum::{body::Body, http::Request};
use common::{api, owner, project, Owner, TestApp};
use serde_json::{json, Value};

const SCOPES: [(&str, &str); 4] = [
    ("scope_projects_read", "on"),
    ("scope_tasks_read", "on"),
    ("scope_tasks_write", "on"),
    ("scope_worklogs_write", "on"),
];

/// Creates a token; `projects` limits it (`None`: every project).
async fn token(
    app: &TestApp,
    o: &Owner,
    name: &str,
    projects: Option<&[&str]>,
) -> common::TestResponse {
    let mut form: Vec<(&str, &str)> = vec![("name", name), ("expiry", "30")];
    form.extend_from_slice(&SCOPES);
    match projects {
        None => form.push(("reach", "all")),
        Some(ids) => {
            form.push(("reach", "selected"));
            for id in ids {
                form.push(("project_ids[]", id));
            }
        }
    }
    app.call("tokens/create", &form, Some(&o.cookie)).await
}

async fn new_task(app: &TestApp, token: &str, project: &str) -> (u16, Value) {
    let res = api(
        app,
        "POST",
        "/api/tasks",
        Some(token),
        Some(json!({"project_id": project, "title": "t"})),
    )
    .await;
    (res.status.as_u16(), res.json())
}

/// One MCP tool call (2025-11-25); returns (isError, the result's text).
async fn tool(app: &TestApp, token: &str, name: &str, args: Value) -> (bool, String) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": name, "arguments": args}});
    let req = Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let result = res.json()["result"].clone();
    (
        result["isError"].as_bool().unwrap_or(false),
        result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_restricted_token_reaches_only_its_projects_on_rest_and_mcp() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (a, b) = (
        project(&app, &o, "alpha").await,
        project(&app, &o, "beta").await,
    );
    let full = token(&app, &o, "full", None).await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = token(&app, &o, "alpha-only", Some(&[&a])).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["view"]["projects"][0]["name"], "alpha");
    let limited = res.json()["token"].as_str().unwrap().to_string();

    // The unrestricted token makes a task in each project.
    let (_, task_a) = new_task(&app, &full, &a).await;
    let (_, task_b) = new_task(&app, &full, &b).await;
    let (task_a, task_b) = (
        task_a["id"].as_str().unwrap(),
        task_b["id"].as_str().unwrap(),
    );

    // Lists leave the other project out.
    let res = api(&app, "GET", "/api/projects", Some(&limited), None).await;
    let names: Vec<String> = res.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alpha"]);
    let res = api(&app, "GET", "/api/tasks", Some(&limited), None).await;
    let ids: Vec<String> = res.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [task_a]);

    // Reads and writes of the other project's resources are 403.
    let forbidden = [
        ("GET", format!("/api/projects/{b}"), None),
        ("GET", format!("/api/tasks?project_id={b}"), None),
        ("GET", format!("/api/tasks/{task_b}"), None),
        (
            "PATCH",
            format!("/api/tasks/{task_b}"),
            Some(json!({"status": "done"})),
        ),
        ("GET", format!("/api/tasks/{task_b}/worklogs"), None),
        (
            "POST",
            format!("/api/tasks/{task_b}/worklogs"),
            Some(json!({"message": "m"})),
        ),
        (
            "POST",
            "/api/tasks".to_string(),
            Some(json!({"project_id": b, "title": "t"})),
        ),
    ];
    for (method, path, body) in forbidden {
        let res = api(&app, method, &path, Some(&limited), body).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], "FORBIDDEN");
    }
    // Its own project works.
    assert_eq!(new_task(&app, &limited, &a).await.0, 201);
    let res = api(
        &app,
        "PATCH",
        &format!("/api/tasks/{task_a}"),
        Some(&limited),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);

    // MCP: the same rule, as tool results.
    let (is_error, text) = tool(&app, &limited, "list_projects", json!({})).await;
    assert!(!is_error, "{text}");
    assert!(text.contains("alpha") && !text.contains("beta"), "{text}");
    let (is_error, text) = tool(&app, &limited, "get_task", json!({"id": task_b})).await;
    assert!(is_error, "{text}");
    assert!(text.contains("FORBIDDEN"), "{text}");
    let (is_error, text) = tool(&app, &limited, "get_task", json!({"id": task_a})).await;
    assert!(!is_error, "{text}");

    // The unrestricted token and the dashboard still see both.
    let res = api(&app, "GET", "/api/projects", Some(&full), None).await;
    assert_eq!(res.json()["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_selections_are_refused_by_the_field() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let other = owner(&app, "other@example.com", false).await;
    let theirs = project(&app, &other, "theirs").await;
    for (ids, says) in [
        (vec![], "at least one project"),
        (vec![theirs.as_str()], "No such project"),
        (vec!["not-a-project"], "No such project"),
    ] {
        let res = token(&app, &o, "bad", Some(&ids)).await;
        assert_eq!(res.status, 422, "{ids:?}: {}", res.body);
        assert_eq!(res.json()["Field"]["field"], "projects", "{}", res.body);
        let message = res.json()["Field"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{ids:?}: {message}");
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing was created");
}

#[tokio::test]
async fn the_restriction_changes_later_and_survives_rotation() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (a, b) = (
        project(&app, &o, "alpha").await,
        project(&app, &o, "beta").await,
    );
    let res = token(&app, &o, "agent", None).await;
    let secret = res.json()["token"].as_str().unwrap().to_string();
    let id = res.json()["view"]["id"].as_str().unwrap().to_string();
    let visible = |secret: String| {
        let app = &app;
        async move {
            api(app, "GET", "/api/projects", Some(&secret), None)
                .await
                .json()["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(visible(secret.clone()).await, 2);

    let res = app
        .call(
            "tokens/projects",
            &[("id", &id), ("reach", "selected"), ("project_ids[]", &b)],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(visible(secret.clone()).await, 1, "the next request sees it");
    let res = api(
        &app,
        "GET",
        &format!("/api/projects/{a}"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(res.status, 403);

    // The successor keeps the restriction.
    let res = app
        .call(
            "tokens/rotate",
            &[("id", &id), ("grace", "0")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let successor = res.json()["token"].as_str().unwrap().to_string();
    let successor_id = res.json()["view"]["id"].as_str().unwrap().to_string();
    assert_eq!(visible(successor.clone()).await, 1);

    // Back to every project; the changes are audited.
    let res = app
        .call(
            "tokens/projects",
            &[("id", &successor_id), ("reach", "all")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(visible(successor).await, 2);
    app.flush_audit().await;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'token_updated' AND security = 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn a_connected_app_limited_on_the_consent_page_sees_only_those_projects() {
    use common::oauth::{client, exchange, park, query_of, VERIFIER};
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let mine = project(&app, &o, "mine").await;
    let other = project(&app, &o, "other").await;
    let client_id = client(&app).await;

    // A project of someone else's (or made up) is refused, and no grant is made.
    let request = park(&app, &client_id).await;
    let bogus = uuid::Uuid::new_v4().to_string();
    let form = [
        ("request", request.as_str()),
        ("decision", "allow"),
        ("scope", "projects:read"),
        ("scope", "tasks:read"),
        ("reach", "selected"),
        ("project_ids[]", bogus.as_str()),
    ];
    let refused = decide_form(&app, &o, &form).await;
    assert_eq!(refused.status, 400, "an error page");
    assert!(
        refused.body.contains("No such project."),
        "{}",
        refused.body
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_grants").await, 0);

    let request = park(&app, &client_id).await;
    let form = [
        ("request", request.as_str()),
        ("decision", "allow"),
        ("scope", "projects:read"),
        ("scope", "tasks:read"),
        ("reach", "selected"),
        ("project_ids[]", mine.as_str()),
    ];
    let res = decide_form(&app, &o, &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let code = query_of(res.header("location").unwrap())["code"].clone();
    let tokens = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let access = tokens.json()["access_token"].as_str().unwrap().to_string();

    let listed = api(&app, "GET", "/api/projects", Some(&access), None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let body = listed.json();
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mine"]);
    let forbidden = api(
        &app,
        "GET",
        &format!("/api/projects/{other}"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert_eq!(
        api(
            &app,
            "GET",
            &format!("/api/projects/{mine}"),
            Some(&access),
            None
        )
        .await
        .status,
        200
    );
}

/// The consent form's POST with any fields, as the browser sends it.
async fn decide_form(app: &TestApp, o: &Owner, form: &[(&str, &str)]) -> common::TestResponse {
    app.send(
        Request::post("/oauth/decision")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", common::ORIGIN)
            .header("cookie", &o.cookie)
            .body(Body::from(common::form_encode(form)))
            .unwrap(),
    )
    .await
}
