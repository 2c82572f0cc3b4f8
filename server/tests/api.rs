//! The agents' REST API through the real router: every route's happy path,
//! error envelope, scope matrix, cross-owner refusals, pagination,
//! idempotency, rate limits and headers.

mod common;

use axum::{body::Body, http::Request};
use common::{api, api_with, owner, project, token_with, TestApp, TestResponse};
use serde_json::{json, Value};

const ALL_SCOPES: [&str; 5] = [
    "scope_projects_read",
    "scope_tasks_read",
    "scope_tasks_write",
    "scope_worklogs_write",
    "scope_tokens_rotate_self",
];

fn code(res: &TestResponse) -> String {
    res.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn an_agent_works_through_projects_tasks_and_work_logs() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let pid = project(&app, &o, "website").await;
    let t = token_with(&app, &o, "agent", &ALL_SCOPES, "30").await;

    let list = api(&app, "GET", "/api/projects", Some(&t), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json()["data"][0]["id"], pid.as_str());
    assert_eq!(list.json()["data"][0]["settings"]["branch"], "main");
    assert!(list.json()["next_cursor"].is_null());
    let one = api(&app, "GET", &format!("/api/projects/{pid}"), Some(&t), None).await;
    assert_eq!(one.json()["settings"]["repo"], "git@x:y.git");

    let created = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(json!({"project_id": pid, "title": "Fix login", "description": "500 on bad input"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let task = created.json();
    assert_eq!(task["status"], "todo");
    assert_eq!(task["created_by"], &t[..12]);
    let tid = task["id"].as_str().unwrap().to_string();

    let patched = api(
        &app,
        "PATCH",
        &format!("/api/tasks/{tid}"),
        Some(&t),
        Some(json!({"status": "in_progress"})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["status"], "in_progress");
    let patched = api(
        &app,
        "PATCH",
        &format!("/api/tasks/{tid}"),
        Some(&t),
        Some(json!({"status": "done", "result": "Fixed in abc123"})),
    )
    .await;
    assert_eq!(patched.json()["result"], "Fixed in abc123");
    let cleared = api(
        &app,
        "PATCH",
        &format!("/api/tasks/{tid}"),
        Some(&t),
        Some(json!({"result": null})),
    )
    .await;
    assert!(cleared.json()["result"].is_null());
    assert_eq!(
        cleared.json()["status"],
        "done",
        "absent fields are left alone"
    );

    let log = api(
        &app,
        "POST",
        &format!("/api/tasks/{tid}/worklogs"),
        Some(&t),
        Some(json!({"message": "Reproduced and fixed", "minutes": 25})),
    )
    .await;
    assert_eq!(log.status, 201, "{}", log.body);
    let logs = api(
        &app,
        "GET",
        &format!("/api/tasks/{tid}/worklogs"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(logs.json()["data"][0]["message"], "Reproduced and fixed");
    assert_eq!(logs.json()["data"][0]["minutes"], 25);

    let got = api(&app, "GET", &format!("/api/tasks/{tid}"), Some(&t), None).await;
    assert_eq!(got.json()["title"], "Fix login");
    let filtered = api(
        &app,
        "GET",
        &format!("/api/tasks?project_id={pid}&status=done"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(filtered.json()["data"].as_array().unwrap().len(), 1);
    let none = api(&app, "GET", "/api/tasks?status=blocked", Some(&t), None).await;
    assert_eq!(none.json()["data"].as_array().unwrap().len(), 0);

    // The owner sees the same in the dashboard.
    let dash = app
        .call(
            "tasks/for-project",
            &[("project_id", &pid)],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(dash.json()[0]["task"]["status"], "done");
    assert_eq!(dash.json()[0]["logs"][0]["message"], "Reproduced and fixed");
}

#[tokio::test]
async fn every_route_enforces_its_scope() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let pid = project(&app, &o, "p").await;
    let full = token_with(&app, &o, "full", &ALL_SCOPES, "30").await;
    let tid = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&full),
        Some(json!({"project_id": pid, "title": "t"})),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", "/api/projects".into(), None, "projects:read"),
        ("GET", format!("/api/projects/{pid}"), None, "projects:read"),
        ("GET", "/api/tasks".into(), None, "tasks:read"),
        ("GET", format!("/api/tasks/{tid}"), None, "tasks:read"),
        (
            "POST",
            "/api/tasks".into(),
            Some(json!({"project_id": pid, "title": "x"})),
            "tasks:write",
        ),
        (
            "PATCH",
            format!("/api/tasks/{tid}"),
            Some(json!({"status": "review"})),
            "tasks:write",
        ),
        (
            "GET",
            format!("/api/tasks/{tid}/worklogs"),
            None,
            "tasks:read",
        ),
        (
            "POST",
            format!("/api/tasks/{tid}/worklogs"),
            Some(json!({"message": "m"})),
            "worklogs:write",
        ),
    ];
    // One token per scope; every route is tried with every token.
    let scope_fields = [
        ("projects:read", "scope_projects_read"),
        ("tasks:read", "scope_tasks_read"),
        ("tasks:write", "scope_tasks_write"),
        ("worklogs:write", "scope_worklogs_write"),
        ("tokens:rotate-self", "scope_tokens_rotate_self"),
    ];
    for (i, (scope, field)) in scope_fields.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            // Stay under the 5-active-token cap.
            for t in app
                .call("tokens/list", &[("status", "active")], Some(&o.cookie))
                .await
                .json()
                .as_array()
                .unwrap()
            {
                if t["name"] != "full" {
                    app.call(
                        "tokens/revoke",
                        &[("id", t["id"].as_str().unwrap())],
                        Some(&o.cookie),
                    )
                    .await;
                }
            }
        }
        let token = token_with(&app, &o, &format!("only-{i}"), &[field], "30").await;
        for (method, path, body, needed) in &routes {
            let res = api(&app, method, path, Some(&token), body.clone()).await;
            if needed == scope {
                assert!(
                    res.status.is_success(),
                    "{scope} on {method} {path}: {} {}",
                    res.status,
                    res.body
                );
            } else {
                assert_eq!(res.status, 403, "{scope} on {method} {path}: {}", res.body);
                assert_eq!(code(&res), "FORBIDDEN");
                assert_eq!(
                    res.header("www-authenticate").unwrap(),
                    format!(
                        r#"Bearer realm="preqstation", error="insufficient_scope", scope="{needed}", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource""#
                    )
                );
            }
        }
        // Routes about the token itself need only a valid token.
        assert_eq!(
            api(&app, "GET", "/api/auth/whoami", Some(&token), None)
                .await
                .status,
            200
        );
        assert_eq!(
            api(&app, "GET", "/api/tokens/self", Some(&token), None)
                .await
                .status,
            200
        );
    }
    // And none of them works without a token.
    for (method, path, body, _) in &routes {
        let res = api(&app, method, path, None, body.clone()).await;
        assert_eq!(res.status, 401, "{method} {path}");
        // RFC 9728: the challenge says where the OAuth metadata is.
        assert_eq!(
            res.header("www-authenticate"),
            Some(
                r#"Bearer realm="preqstation", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource", scope="projects:read tasks:read tasks:write worklogs:write""#
            )
        );
    }
}

#[tokio::test]
async fn another_owners_resources_are_refused() {
    let app = TestApp::new().await;
    let alice = owner(&app, "alice@example.com", true).await;
    let bob = owner(&app, "bob@example.com", false).await;
    let alice_t = token_with(&app, &alice, "a", &ALL_SCOPES, "30").await;
    let bob_t = token_with(&app, &bob, "b", &ALL_SCOPES, "30").await;
    let pid = project(&app, &alice, "secret-project").await;
    let tid = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&alice_t),
        Some(json!({"project_id": pid, "title": "secret"})),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();

    for (method, path, body) in [
        ("GET", format!("/api/projects/{pid}"), None),
        ("GET", format!("/api/tasks/{tid}"), None),
        (
            "PATCH",
            format!("/api/tasks/{tid}"),
            Some(json!({"status": "done"})),
        ),
        ("GET", format!("/api/tasks/{tid}/worklogs"), None),
        (
            "POST",
            format!("/api/tasks/{tid}/worklogs"),
            Some(json!({"message": "x"})),
        ),
        (
            "POST",
            "/api/tasks".to_string(),
            Some(json!({"project_id": pid, "title": "intrusion"})),
        ),
        ("GET", format!("/api/tasks?project_id={pid}"), None),
    ] {
        let res = api(&app, method, &path, Some(&bob_t), body).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.body);
        assert_eq!(
            res.json(),
            json!({"error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}})
        );
    }
    // A project nobody has: 404, also when listing its tasks (the project is
    // looked up only when the page comes back empty).
    let nobody = "0190f3a4-0000-7000-8000-000000000000";
    let res = api(
        &app,
        "GET",
        &format!("/api/tasks?project_id={nobody}"),
        Some(&bob_t),
        None,
    )
    .await;
    assert_eq!(
        (res.status.as_u16(), code(&res)),
        (404, "NOT_FOUND".to_string())
    );
    // The owner's own project with nothing in that status: an empty page.
    let res = api(
        &app,
        "GET",
        &format!("/api/tasks?project_id={pid}&status=blocked"),
        Some(&alice_t),
        None,
    )
    .await;
    assert_eq!(
        (res.status.as_u16(), res.json()["data"].clone()),
        (200, json!([]))
    );
    // Lists never include them, and nothing was changed.
    assert_eq!(
        api(&app, "GET", "/api/projects", Some(&bob_t), None)
            .await
            .json()["data"],
        json!([])
    );
    assert_eq!(
        api(&app, "GET", "/api/tasks", Some(&bob_t), None)
            .await
            .json()["data"],
        json!([])
    );
    assert_eq!(
        api(
            &app,
            "GET",
            &format!("/api/tasks/{tid}"),
            Some(&alice_t),
            None
        )
        .await
        .json()["status"],
        "todo"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM work_logs").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 1);
    // The dashboard's server functions refuse too.
    assert_eq!(
        app.call("projects/get", &[("id", &pid)], Some(&bob.cookie))
            .await
            .status,
        404
    );
    assert_eq!(
        app.call(
            "tasks/status",
            &[("id", &tid), ("status", "done")],
            Some(&bob.cookie)
        )
        .await
        .status,
        404
    );
    // Unknown ids are 404.
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        api(
            &app,
            "GET",
            &format!("/api/tasks/{unknown}"),
            Some(&bob_t),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        api(&app, "GET", "/api/tasks/not-a-uuid", Some(&bob_t), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn pagination_is_stable_and_bounded() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let pid = project(&app, &o, "p").await;
    let t = token_with(&app, &o, "agent", &ALL_SCOPES, "30").await;
    let mut ids = vec![];
    for i in 0..5 {
        let res = api(
            &app,
            "POST",
            "/api/tasks",
            Some(&t),
            Some(json!({"project_id": pid, "title": format!("task {i}")})),
        )
        .await;
        ids.push(res.json()["id"].as_str().unwrap().to_string());
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/tasks?limit=2&cursor={c}"),
            None => "/api/tasks?limit=2".to_string(),
        };
        let page = api(&app, "GET", &path, Some(&t), None).await.json();
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|d| d["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every task once, in creation order");
    // Exactly a page's worth: no empty trailing page.
    let page = api(&app, "GET", "/api/tasks?limit=5", Some(&t), None)
        .await
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    assert!(page["next_cursor"].is_null());
    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=zzz",
        "cursor=%FF",
        "status=nope",
    ] {
        let res = api(&app, "GET", &format!("/api/tasks?{bad}"), Some(&t), None).await;
        assert!(
            matches!(res.status.as_u16(), 400 | 422),
            "{bad}: {}",
            res.status
        );
        assert!(!code(&res).is_empty());
    }
}

#[tokio::test]
async fn bad_bodies_get_the_envelope_never_a_500() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let pid = project(&app, &o, "p").await;
    let t = token_with(&app, &o, "agent", &ALL_SCOPES, "30").await;
    let post = |ctype: Option<&'static str>, body: Vec<u8>| {
        let mut req = Request::post("/api/tasks").header("authorization", format!("Bearer {t}"));
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        req.body(Body::from(body)).unwrap()
    };
    let res = app
        .send(post(Some("text/plain"), br#"{"title":"x"}"#.to_vec()))
        .await;
    assert_eq!(
        (res.status.as_u16(), code(&res).as_str()),
        (415, "UNSUPPORTED_MEDIA_TYPE")
    );
    let res = app.send(post(None, br#"{"title":"x"}"#.to_vec())).await;
    assert_eq!(res.status, 415);
    let res = app
        .send(post(Some("application/json"), b"{not json".to_vec()))
        .await;
    assert_eq!(
        (res.status.as_u16(), code(&res).as_str()),
        (400, "BAD_REQUEST")
    );
    let res = app
        .send(post(Some("application/json"), vec![0xff, 0xfe]))
        .await;
    assert_eq!(res.status, 400);
    let res = app
        .send(post(
            Some("application/json"),
            br#"{"project_id": 5, "title": "x"}"#.to_vec(),
        ))
        .await;
    assert_eq!(
        (res.status.as_u16(), code(&res).as_str()),
        (422, "VALIDATION_FAILED")
    );
    assert_eq!(res.json()["error"]["field"], "project_id");
    let res = app
        .send(post(
            Some("application/json"),
            format!(r#"{{"project_id": "{pid}", "title": "  "}}"#).into_bytes(),
        ))
        .await;
    assert_eq!(res.json()["error"]["field"], "title");
    let res = app
        .send(post(
            Some("application/json"),
            format!(r#"{{"project_id": "{pid}", "title": "x", "extra": 1}}"#).into_bytes(),
        ))
        .await;
    assert_eq!(res.status, 422);
    let res = app
        .send(post(
            Some("application/json"),
            br#"{"project_id": "nope", "title": "x"}"#.to_vec(),
        ))
        .await;
    assert_eq!(res.json()["error"]["field"], "project_id");
    let big = format!(
        r#"{{"project_id": "{pid}", "title": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    let res = app
        .send(post(Some("application/json"), big.into_bytes()))
        .await;
    assert_eq!(
        (res.status.as_u16(), code(&res).as_str()),
        (413, "PAYLOAD_TOO_LARGE")
    );
    let res = api(
        &app,
        "PATCH",
        &format!("/api/tasks/{}", uuid::Uuid::now_v7()),
        Some(&t),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status, 422);
    let res = api(&app, "PUT", "/api/tasks", Some(&t), Some(json!({}))).await;
    assert_eq!(
        (res.status.as_u16(), code(&res).as_str()),
        (405, "METHOD_NOT_ALLOWED")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 0);
}

#[tokio::test]
async fn idempotency_keys_prevent_duplicates() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let pid = project(&app, &o, "p").await;
    let t = token_with(&app, &o, "agent", &ALL_SCOPES, "30").await;
    let body = json!({"project_id": pid, "title": "once"});
    let key = [("idempotency-key", "retry-123")];
    let first = api_with(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(body.clone()),
        &key,
    )
    .await;
    assert_eq!(first.status, 201);
    let again = api_with(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(body.clone()),
        &key,
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json(), first.json());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 1);
    let different = api_with(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(json!({"project_id": pid, "title": "other"})),
        &key,
    )
    .await;
    assert_eq!(different.status, 422);
    assert_eq!(different.json()["error"]["field"], "Idempotency-Key");
    // Another token's identical key is independent.
    let t2 = token_with(&app, &o, "agent2", &ALL_SCOPES, "30").await;
    assert_eq!(
        api_with(
            &app,
            "POST",
            "/api/tasks",
            Some(&t2),
            Some(body.clone()),
            &key
        )
        .await
        .status,
        201
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 2);
    // A failed request is not remembered.
    let bad = api_with(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(json!({"project_id": pid, "title": ""})),
        &[("idempotency-key", "k2")],
    )
    .await;
    assert_eq!(bad.status, 422);
    let fixed = api_with(
        &app,
        "POST",
        "/api/tasks",
        Some(&t),
        Some(json!({"project_id": pid, "title": ""})),
        &[("idempotency-key", "k2")],
    )
    .await;
    assert_eq!(fixed.status, 422);
    assert!(fixed.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn headers_on_every_api_response() {
    let app = TestApp::with_config(|c| c.api_rate_per_token = 3).await;
    let o = owner(&app, "owner@example.com", true).await;
    let expiring = token_with(&app, &o, "expiring", &ALL_SCOPES, "7").await;
    let forever = token_with(&app, &o, "forever", &ALL_SCOPES, "never").await;

    let res = api_with(
        &app,
        "GET",
        "/api/auth/whoami",
        Some(&expiring),
        None,
        &[("x-request-id", "agent-run-42")],
    )
    .await;
    assert_eq!(res.header("x-request-id"), Some("agent-run-42"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert!(res
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let exp = res.header("preqstation-token-expiration").unwrap();
    assert_eq!(exp, res.json()["token"]["expires_at"].as_str().unwrap());
    assert_eq!(res.header("ratelimit-policy"), Some(r#""token";q=3;w=60"#));
    assert!(res
        .header("ratelimit")
        .unwrap()
        .starts_with(r#""token";r=2;t="#));

    let res = api_with(
        &app,
        "GET",
        "/api/auth/whoami",
        Some(&forever),
        None,
        &[("x-request-id", "bad id with spaces")],
    )
    .await;
    assert!(res.header("preqstation-token-expiration").is_none());
    let generated = res.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());

    api(&app, "GET", "/api/auth/whoami", Some(&expiring), None).await;
    api(&app, "GET", "/api/auth/whoami", Some(&expiring), None).await;
    let limited = api(&app, "GET", "/api/auth/whoami", Some(&expiring), None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(code(&limited), "RATE_LIMITED");
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        limited.header("ratelimit-policy"),
        Some(r#""token";q=3;w=60"#)
    );
    assert!(limited
        .header("ratelimit")
        .unwrap()
        .starts_with(r#""token";r=0;"#));
    // Other tokens are unaffected.
    assert_eq!(
        api(&app, "GET", "/api/auth/whoami", Some(&forever), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn per_ip_limit_applies_before_authentication() {
    let app = TestApp::with_config(|c| c.api_rate_per_ip = 2).await;
    for _ in 0..2 {
        assert_eq!(
            api(&app, "GET", "/api/auth/whoami", None, None)
                .await
                .status,
            401
        );
    }
    let res = api(&app, "GET", "/api/auth/whoami", None, None).await;
    assert_eq!(res.status, 429);
    assert_eq!(res.header("ratelimit-policy"), Some(r#""ip";q=2;w=60"#));
}

#[tokio::test]
async fn the_calling_token_can_inspect_verify_and_revoke_itself() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let other = owner(&app, "other@example.com", false).await;
    let t = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    let sibling = token_with(&app, &o, "sibling", &["scope_tasks_read"], "90").await;
    let foreign = token_with(&app, &other, "foreign", &["scope_tasks_read"], "30").await;

    let me = api(&app, "GET", "/api/tokens/self", Some(&t), None)
        .await
        .json();
    assert_eq!(me["name"], "agent");
    assert_eq!(me["prefix"], &t[..12]);
    assert_eq!(me["scopes"], json!(["tasks:read"]));
    assert!(me["last_used_at"].is_string());

    let v = api(
        &app,
        "POST",
        "/api/tokens/verify",
        Some(&t),
        Some(json!({"token": sibling})),
    )
    .await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.json()["valid"], true);
    assert_eq!(v.json()["status"], "active");
    assert_eq!(v.json()["name"], "sibling");
    let unknown = app::tokens::format::generate("preq_").unwrap();
    let a = api(
        &app,
        "POST",
        "/api/tokens/verify",
        Some(&t),
        Some(json!({"token": foreign})),
    )
    .await
    .json();
    let b = api(
        &app,
        "POST",
        "/api/tokens/verify",
        Some(&t),
        Some(json!({"token": unknown.expose()})),
    )
    .await
    .json();
    let c = api(
        &app,
        "POST",
        "/api/tokens/verify",
        Some(&t),
        Some(json!({"token": "garbage"})),
    )
    .await
    .json();
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(a["status"], "invalid");
    // Verifying does not count as using the sibling.
    let listed = app.call("tokens/list", &[], Some(&o.cookie)).await.json();
    let sib = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "sibling")
        .unwrap();
    assert!(sib["last_used_at"].is_null());
    // Rate-limited (10 per minute per token by default).
    let mut last = 200;
    for _ in 0..12 {
        last = api(
            &app,
            "POST",
            "/api/tokens/verify",
            Some(&t),
            Some(json!({"token": sibling})),
        )
        .await
        .status
        .as_u16();
    }
    assert_eq!(last, 429);

    let res = api(&app, "DELETE", "/api/tokens/self", Some(&t), None).await;
    assert_eq!(res.status, 204);
    assert_eq!(
        api(&app, "GET", "/api/tokens/self", Some(&t), None)
            .await
            .status,
        401
    );
    assert_eq!(
        api(&app, "GET", "/api/tokens/self", Some(&sibling), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_openapi_document_and_reference_page() {
    let app = TestApp::new().await;
    let doc = app.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/auth/whoami",
        "/api/tokens/self",
        "/api/tokens/verify",
        "/api/projects",
        "/api/projects/{id}",
        "/api/tasks",
        "/api/tasks/{id}",
        "/api/tasks/{id}/worklogs",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let page = app.get("/docs/api", None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/api/tasks/{id}/worklogs"));
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "no external assets"
    );
}
