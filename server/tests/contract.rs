//! The API contract: `/api/openapi.json` says exactly what the server
//! accepts. Each case here is a request a client generated from the document
//! could send (or one the document now rules out), and what the server says.

mod common;

use common::{api, owner, project, token_with, TestApp};
use serde_json::{json, Value};

const SCOPES: [&str; 4] = [
    "scope_projects_read",
    "scope_tasks_read",
    "scope_tasks_write",
    "scope_worklogs_write",
];

fn param<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{method} {path} declares {name}"))
}

#[tokio::test]
async fn the_document_declares_the_servers_limits_and_headers() {
    let app = TestApp::new().await;
    let doc = app.get("/api/openapi.json", None).await.json();

    let limit = &param(&doc, "/api/tasks", "get", "limit")["schema"];
    assert_eq!(limit["minimum"], 1);
    assert_eq!(limit["maximum"], 100);
    let key = &param(&doc, "/api/tasks", "post", "Idempotency-Key")["schema"];
    assert_eq!(key["maxLength"], 255);
    assert_eq!(key["minLength"], 1);
    assert!(key["pattern"].is_string());
    let cursor = &param(&doc, "/api/projects", "get", "cursor")["schema"];
    assert_eq!(cursor["pattern"], app::types::CURSOR_PATTERN);
    assert_eq!(
        param(&doc, "/api/tasks", "get", "project_id")["schema"]["format"],
        "uuid"
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["UpdateTask"]["minProperties"], 1);
    assert!(schemas["UpdateTask"]["maxProperties"].is_null());
    assert_eq!(
        schemas["CreateTask"]["properties"]["project_id"]["format"],
        "uuid"
    );

    let responses = &doc["paths"]["/api/tasks"]["get"]["responses"];
    for h in [
        "X-Request-Id",
        "RateLimit",
        "RateLimit-Policy",
        "Preqstation-Token-Expiration",
    ] {
        assert!(
            responses["200"]["headers"][h].is_object(),
            "200 declares {h}"
        );
    }
    assert!(responses["401"]["headers"]["WWW-Authenticate"].is_object());
    assert!(responses["429"]["headers"]["Retry-After"].is_object());
    assert!(responses["503"]["headers"]["Retry-After"].is_object());
}

#[tokio::test]
async fn schema_valid_requests_are_accepted_and_invalid_ones_refused() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let pid = project(&app, &o, "site").await;
    let t = token_with(&app, &o, "agent", &SCOPES, "30").await;
    let task = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(json!({"project_id": pid, "title": "t"})),
    )
    .await
    .json();
    let tid = task["id"].as_str().unwrap();
    let logs = format!("/api/tasks/{tid}/worklogs");

    // 68.0 is an integer by JSON Schema's rules; 68.5 is not.
    let log = api(
        &app,
        "POST",
        &logs,
        Some(&t),
        Some(json!({"message": "m", "minutes": 68.0})),
    )
    .await;
    assert_eq!(log.status, 201, "{}", log.body);
    assert_eq!(log.json()["minutes"], 68);
    let half = api(
        &app,
        "POST",
        &logs,
        Some(&t),
        Some(json!({"message": "m", "minutes": 68.5})),
    )
    .await;
    assert_eq!(half.status, 422, "{}", half.body);
    assert_eq!(half.json()["error"]["field"], "minutes");

    let patch = format!("/api/tasks/{tid}");
    for (body, field) in [
        (json!({}), "body"),
        (json!([null, null]), "body"),
        (json!({"status": null}), "status"),
    ] {
        let res = api(&app, "PATCH", &patch, Some(&t), Some(body.clone())).await;
        assert_eq!(res.status, 422, "{body}: {}", res.body);
        assert_eq!(res.json()["error"]["field"], field, "{body}");
    }
    let cleared = api(
        &app,
        "PATCH",
        &patch,
        Some(&t),
        Some(json!({"result": null})),
    )
    .await;
    assert_eq!(cleared.status, 200, "result: null clears the result");

    let bad_project = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(json!({"project_id": "", "title": "t"})),
    )
    .await;
    assert_eq!(bad_project.status, 422);
    for query in [
        "project_id=",
        "project_id=nope",
        "status=",
        "limit=",
        "limit=0",
        "limit=101",
    ] {
        let res = api(&app, "GET", &format!("/api/tasks?{query}"), Some(&t), None).await;
        assert_eq!(res.status, 422, "{query}: {}", res.body);
    }
    let first = api(&app, "GET", "/api/tasks?cursor=", Some(&t), None).await;
    assert_eq!(first.status, 200, "an empty cursor is the first page");
}

#[tokio::test]
async fn every_cursor_of_the_declared_shape_is_accepted() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let t = token_with(&app, &o, "agent", &SCOPES, "30").await;
    for n in 0..3 {
        project(&app, &o, &format!("p{n}")).await;
    }
    let page = api(&app, "GET", "/api/projects?limit=2", Some(&t), None)
        .await
        .json();
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let pattern = regex_lite(&cursor);
    assert!(pattern, "{cursor} matches the declared pattern");
    let next = api(
        &app,
        "GET",
        &format!("/api/projects?cursor={cursor}"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(next.json()["data"].as_array().unwrap().len(), 1);
    // Any string of that shape names a position, even one past every id.
    for cursor in [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "_____________________w",
        "01a226a4-61ce-705a-900",
    ] {
        let res = api(
            &app,
            "GET",
            &format!("/api/projects?cursor={cursor}"),
            Some(&t),
            None,
        )
        .await;
        let expect = if regex_lite(cursor) { 200 } else { 422 };
        assert_eq!(res.status, expect, "{cursor}: {}", res.body);
    }
}

/// `^([A-Za-z0-9_-]{21}[AQgw])?$` without a regex dependency.
fn regex_lite(s: &str) -> bool {
    let b = s.as_bytes();
    s.is_empty()
        || (b.len() == 22
            && b[..21]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
            && b"AQgw".contains(&b[21]))
}
