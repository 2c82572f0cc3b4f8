//! Task-scoped tokens through the real router (issue 28): the RFC 8693
//! exchange at `/oauth/token` and each refusal, confinement to one task on
//! REST and MCP, the cascade (subject revoked or rotated, task done, owner
//! revokes), usage limits with their 429 and notifications, and the actor
//! chain in the audit log and its export.

mod common;

use axum::{body::Body, http::Request};
use common::{api, form_encode, owner, project, Owner, TestApp, TestResponse};
use serde_json::{json, Value};

const DELEGATE: [&str; 5] = [
    "scope_projects_read",
    "scope_tasks_read",
    "scope_tasks_write",
    "scope_worklogs_write",
    "scope_tokens_delegate",
];
const TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A new token with `scopes` and extra form fields; returns (token, id).
async fn token(
    app: &TestApp,
    o: &Owner,
    name: &str,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> (String, String) {
    let mut form = vec![("name", name), ("expiry", "30")];
    for s in scopes {
        form.push((s, "on"));
    }
    form.extend_from_slice(extra);
    let res = app.call("tokens/create", &form, Some(&o.cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    (
        v["token"].as_str().unwrap().to_string(),
        v["view"]["id"].as_str().unwrap().to_string(),
    )
}

async fn task(app: &TestApp, token: &str, project: &str, title: &str) -> String {
    let res = api(
        app,
        "POST",
        "/api/tasks",
        Some(token),
        Some(json!({"project_id": project, "title": title})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()["id"].as_str().unwrap().to_string()
}

fn details(task: &str) -> String {
    json!([{"type": "preqstation_task", "task_id": task}]).to_string()
}

/// `POST /oauth/token` with the exchange's fields and `extra`.
async fn exchange(
    app: &TestApp,
    subject: &str,
    task: &str,
    extra: &[(&str, &str)],
) -> TestResponse {
    let d = details(task);
    let mut form = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", TOKEN_TYPE),
        ("authorization_details", d.as_str()),
    ];
    form.extend_from_slice(extra);
    app.send(
        Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form_encode(&form)))
            .unwrap(),
    )
    .await
}

/// A task token for `task`, from `subject`.
async fn child(app: &TestApp, subject: &str, task: &str) -> String {
    let res = exchange(app, subject, task, &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["access_token"].as_str().unwrap().to_string()
}

/// An owner with a project, a task in it, another task, and a delegating token.
struct World {
    app: TestApp,
    o: Owner,
    project: String,
    task: String,
    other_task: String,
    subject: String,
    subject_id: String,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let o = owner(&app, "orchestrator@example.com", true).await;
    let project = project(&app, &o, "fleet").await;
    let (subject, subject_id) = token(&app, &o, "claude-code-prod", &DELEGATE, &[]).await;
    let task = task(&app, &subject, &project, "Fix the flaky test").await;
    let other_task = self::task(&app, &subject, &project, "Something else").await;
    World {
        app,
        o,
        project,
        task,
        other_task,
        subject,
        subject_id,
    }
}

#[tokio::test]
async fn the_exchange_answers_as_rfc_8693_says() {
    let w = world().await;
    let res = exchange(&w.app, &w.subject, &w.task, &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let v = res.json();
    let issued = v["access_token"].as_str().unwrap();
    assert!(issued.starts_with("preq_tt_"), "{issued}");
    assert_eq!(issued.len(), "preq_tt_".len() + 38);
    assert!(issued["preq_tt_".len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(v["issued_token_type"], TOKEN_TYPE);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900);
    assert_eq!(
        v["scope"],
        "projects:read tasks:read tasks:write worklogs:write"
    );
    assert_eq!(v["authorization_details"][0]["type"], "preqstation_task");
    assert_eq!(v["authorization_details"][0]["task_id"], w.task.as_str());
    assert!(v.get("refresh_token").is_none());

    // Narrower scope and a longer life, capped by the policy (a day).
    let res = exchange(
        &w.app,
        &w.subject,
        &w.task,
        &[("scope", "tasks:read"), ("expires_in", "999999")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["scope"], "tasks:read");
    assert_eq!(res.json()["expires_in"], 86_400);

    // The metadata names the grant and the details type.
    let meta = w
        .app
        .get("/.well-known/oauth-authorization-server", None)
        .await
        .json();
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == GRANT));
    assert_eq!(
        meta["authorization_details_types_supported"],
        json!(["preqstation_task"])
    );

    // whoami names the task and the subject.
    let me = api(&w.app, "GET", "/api/auth/whoami", Some(issued), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["token"]["task"]["task_id"], w.task.as_str());
    assert_eq!(me.json()["token"]["task"]["acting_for"], &w.subject[..12]);
}

#[tokio::test]
async fn each_refusal_has_its_error_code() {
    let w = world().await;
    let app = &w.app;
    let code = |r: &TestResponse| {
        (
            r.status.as_u16(),
            r.json()["error"].as_str().unwrap_or_default().to_string(),
        )
    };

    // Without tokens:delegate.
    let (plain, _) = token(app, &w.o, "plain", &["scope_tasks_read"], &[]).await;
    assert_eq!(
        code(&exchange(app, &plain, &w.task, &[]).await),
        (400, "invalid_request".into())
    );
    // Not a token at all; a wrong subject_token_type.
    assert_eq!(
        code(&exchange(app, "preq_nope", &w.task, &[]).await),
        (400, "invalid_request".into())
    );
    let wrong_type = exchange(
        app,
        &w.subject,
        &w.task,
        &[("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")],
    )
    .await;
    assert_eq!(code(&wrong_type).0, 400);
    // A task token cannot exchange again.
    let tt = child(app, &w.subject, &w.task).await;
    assert_eq!(
        code(&exchange(app, &tt, &w.task, &[]).await),
        (400, "invalid_request".into())
    );
    // Bad, unknown, foreign and finished tasks.
    let bad = app
        .send(
            Request::post("/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form_encode(&[
                    ("grant_type", GRANT),
                    ("subject_token", &w.subject),
                    ("subject_token_type", TOKEN_TYPE),
                    ("authorization_details", r#"[{"type":"other"}]"#),
                ])))
                .unwrap(),
        )
        .await;
    assert_eq!(code(&bad), (400, "invalid_authorization_details".into()));
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        code(&exchange(app, &w.subject, &unknown, &[]).await),
        (400, "invalid_authorization_details".into())
    );
    let stranger = owner(app, "stranger@example.com", false).await;
    let their_project = project(app, &stranger, "theirs").await;
    let (their_token, _) = token(app, &stranger, "t", &DELEGATE, &[]).await;
    let their_task = task(app, &their_token, &their_project, "theirs").await;
    assert_eq!(
        code(&exchange(app, &w.subject, &their_task, &[]).await),
        (400, "invalid_authorization_details".into())
    );
    let done = api(
        app,
        "PATCH",
        &format!("/api/tasks/{}", w.other_task),
        Some(&w.subject),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(done.status, 200);
    assert_eq!(
        code(&exchange(app, &w.subject, &w.other_task, &[]).await),
        (400, "invalid_authorization_details".into())
    );
    // A scope the subject does not hold, or a task token cannot have.
    assert_eq!(
        code(&exchange(app, &w.subject, &w.task, &[("scope", "tokens:delegate")]).await),
        (400, "invalid_scope".into())
    );
    assert_eq!(
        code(&exchange(app, &plain, &w.task, &[("scope", "tasks:write")]).await).0,
        400
    );
    // An unknown resource.
    assert_eq!(
        code(
            &exchange(
                app,
                &w.subject,
                &w.task,
                &[("resource", "https://elsewhere.example")]
            )
            .await
        ),
        (400, "invalid_target".into())
    );
    assert_eq!(
        code(
            &exchange(
                app,
                &w.subject,
                &w.task,
                &[("resource", "http://127.0.0.1:3000/mcp")]
            )
            .await
        )
        .0,
        200
    );
    // A bad expires_in; a revoked subject.
    assert_eq!(
        code(&exchange(app, &w.subject, &w.task, &[("expires_in", "-5")]).await),
        (400, "invalid_request".into())
    );
    let res = app
        .call("tokens/revoke", &[("id", &w.subject_id)], Some(&w.o.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let revoked = exchange(app, &w.subject, &w.task, &[]).await;
    assert_eq!(code(&revoked), (400, "invalid_request".into()));
    assert!(revoked.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}

#[tokio::test]
async fn a_task_token_reaches_its_task_and_nothing_else() {
    let w = world().await;
    let app = &w.app;
    let tt = child(app, &w.subject, &w.task).await;
    let t = &w.task;
    for (method, path, body, want) in [
        ("GET", format!("/api/tasks/{t}"), None, 200),
        (
            "PATCH",
            format!("/api/tasks/{t}"),
            Some(json!({"status": "in_progress"})),
            200,
        ),
        (
            "POST",
            format!("/api/tasks/{t}/worklogs"),
            Some(json!({"message": "started"})),
            201,
        ),
        ("GET", format!("/api/tasks/{t}/worklogs"), None, 200),
        ("GET", format!("/api/projects/{}", w.project), None, 200),
        ("GET", "/api/tokens/self".into(), None, 200),
        ("GET", format!("/api/tasks/{}", w.other_task), None, 403),
        (
            "PATCH",
            format!("/api/tasks/{}", w.other_task),
            Some(json!({"status": "done"})),
            403,
        ),
        (
            "POST",
            format!("/api/tasks/{}/worklogs", w.other_task),
            Some(json!({"message": "x"})),
            403,
        ),
        ("GET", "/api/tasks".into(), None, 403),
        ("GET", "/api/projects".into(), None, 403),
        (
            "POST",
            "/api/tasks".into(),
            Some(json!({"project_id": w.project, "title": "more"})),
            403,
        ),
        (
            "POST",
            "/api/tokens/verify".into(),
            Some(json!({"token": w.subject})),
            403,
        ),
        ("POST", "/api/tokens/self/rotate".into(), None, 403),
    ] {
        let res = api(app, method, &path, Some(&tt), body).await;
        assert_eq!(res.status.as_u16(), want, "{method} {path}: {}", res.body);
        if want == 403 {
            assert_eq!(res.json()["error"]["code"], "FORBIDDEN", "{path}");
        }
    }
    // The other task was not touched.
    let other = api(
        app,
        "GET",
        &format!("/api/tasks/{}", w.other_task),
        Some(&w.subject),
        None,
    )
    .await;
    assert_eq!(other.json()["status"], "todo");

    // MCP lists only its tools; a tool outside them is a tool error.
    let list = common::mcp(app, &tt, "tools/list", json!({})).await;
    let mut names: Vec<String> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add_work_log",
            "get_project",
            "get_task",
            "get_token_info",
            "list_work_logs",
            "revoke_own_token",
            "update_task",
            "whoami"
        ]
    );
    let call = common::mcp(
        app,
        &tt,
        "tools/call",
        json!({"name": "list_tasks", "arguments": {}}),
    )
    .await;
    assert_eq!(call["result"]["isError"], true, "{call}");
    let text = call["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap()["error"]["code"],
        "FORBIDDEN",
        "{call}"
    );
    let call = common::mcp(
        app,
        &tt,
        "tools/call",
        json!({"name": "get_task", "arguments": {"id": w.task}}),
    )
    .await;
    assert_eq!(call["result"]["isError"], false, "{call}");
}

#[tokio::test]
async fn it_dies_with_its_task_its_subject_and_its_owners_word() {
    let w = world().await;
    let app = &w.app;
    let whoami = |t: String| async move {
        api(app, "GET", "/api/auth/whoami", Some(&t), None)
            .await
            .status
            .as_u16()
    };

    // Its task done (by the task token itself): its next call is 401.
    let tt = child(app, &w.subject, &w.task).await;
    let done = api(
        app,
        "PATCH",
        &format!("/api/tasks/{}", w.task),
        Some(&tt),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(whoami(tt.clone()).await, 401);

    // Revoked by its owner, one and all; the subject's page lists the live ones.
    let (a, b, c) = (
        child(app, &w.subject, &w.other_task).await,
        child(app, &w.subject, &w.other_task).await,
        child(app, &w.subject, &w.other_task).await,
    );
    let page = app
        .call("tokens/detail", &[("id", &w.subject_id)], Some(&w.o.cookie))
        .await
        .json();
    let live = page["task_tokens"].as_array().unwrap();
    assert_eq!(live.len(), 3, "{page}");
    let a_id = live
        .iter()
        .find(|t| a.starts_with(t["prefix"].as_str().unwrap()))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .call(
            "tokens/task-tokens/revoke",
            &[("id", &a_id), ("subject", &w.subject_id)],
            Some(&w.o.cookie),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.body.as_str()), (200, "1"));
    assert_eq!(whoami(a).await, 401);
    assert_eq!(whoami(b.clone()).await, 200);
    // Another owner cannot revoke them.
    let stranger = owner(app, "stranger@example.com", false).await;
    let res = app
        .call(
            "tokens/task-tokens/revoke",
            &[("subject", &w.subject_id)],
            Some(&stranger.cookie),
        )
        .await;
    assert_eq!(res.body, "0");
    let res = app
        .call(
            "tokens/task-tokens/revoke",
            &[("subject", &w.subject_id)],
            Some(&w.o.cookie),
        )
        .await;
    assert_eq!(res.body, "2");
    assert_eq!(whoami(b).await, 401);
    assert_eq!(whoami(c).await, 401);

    // Its subject rotated, then revoked.
    let d = child(app, &w.subject, &w.other_task).await;
    let rotated = api(
        app,
        "POST",
        "/api/tokens/self/rotate",
        Some(&w.subject),
        None,
    )
    .await;
    assert_eq!(
        rotated.status, 403,
        "the subject has no tokens:rotate-self: {}",
        rotated.body
    );
    let res = app
        .call(
            "tokens/rotate",
            &[("id", &w.subject_id), ("grace", "1h")],
            Some(&w.o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(whoami(d).await, 401);
    let successor = res.json()["token"].as_str().unwrap().to_string();
    let e = child(app, &successor, &w.other_task).await;
    assert_eq!(whoami(e.clone()).await, 200);
    let successor_id = res.json()["view"]["id"].as_str().unwrap().to_string();
    app.call("tokens/revoke", &[("id", &successor_id)], Some(&w.o.cookie))
        .await;
    assert_eq!(whoami(e).await, 401);

    // It revokes itself.
    let (s2, _) = token(app, &w.o, "second", &DELEGATE, &[]).await;
    let f = child(app, &s2, &w.other_task).await;
    assert_eq!(
        api(app, "DELETE", "/api/tokens/self", Some(&f), None)
            .await
            .status,
        204
    );
    assert_eq!(whoami(f).await, 401);
}

#[tokio::test]
async fn usage_limits_refuse_past_the_limit_and_notify() {
    let w = world().await;
    let app = &w.app;
    let (limited, limited_id) = token(
        app,
        &w.o,
        "limited",
        &["scope_tasks_read"],
        &[("usage_limit", "10")],
    )
    .await;
    for left in (0..10).rev() {
        let res = api(app, "GET", "/api/auth/whoami", Some(&limited), None).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(
            res.header("preqstation-usage-remaining"),
            Some(left.to_string().as_str())
        );
    }
    let out = api(app, "GET", "/api/auth/whoami", Some(&limited), None).await;
    assert_eq!(out.status, 429);
    assert_eq!(out.json()["error"]["code"], "USAGE_EXHAUSTED");
    assert_eq!(out.header("retry-after"), None, "no refill, no Retry-After");
    assert_eq!(out.header("preqstation-usage-remaining"), Some("0"));
    // Unlimited tokens carry no header.
    let free = api(app, "GET", "/api/auth/whoami", Some(&w.subject), None).await;
    assert_eq!(free.header("preqstation-usage-remaining"), None);

    let kinds = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT kind FROM notifications WHERE channel = 'in_app' ORDER BY created_at",
            )
            .fetch_all(&db)
            .await
            .unwrap();
            rows.into_iter().map(|(k,)| k).collect::<Vec<_>>()
        }
    };
    let k = kinds(app).await;
    assert_eq!(k.iter().filter(|k| *k == "usage_low").count(), 1, "{k:?}");
    assert_eq!(
        k.iter().filter(|k| *k == "usage_exhausted").count(),
        1,
        "{k:?}"
    );

    // The owner raises it, with a daily refill: the page shows it.
    let res = app
        .call(
            "tokens/usage-limit",
            &[
                ("id", &limited_id),
                ("usage_limit", "2"),
                ("usage_refill_period", "day"),
            ],
            Some(&w.o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let bad = app
        .call(
            "tokens/usage-limit",
            &[("id", &limited_id), ("usage_limit", "lots")],
            Some(&w.o.cookie),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("usage_limit"), "{}", bad.body);
    for _ in 0..2 {
        assert_eq!(
            api(app, "GET", "/api/auth/whoami", Some(&limited), None)
                .await
                .status,
            200
        );
    }
    let out = api(app, "GET", "/api/auth/whoami", Some(&limited), None).await;
    assert_eq!(out.status, 429);
    let retry: u64 = out.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    let page = app
        .call("tokens/detail", &[("id", &limited_id)], Some(&w.o.cookie))
        .await
        .json();
    assert_eq!(page["usage"]["remaining"], 0, "{page}");

    // A task token's calls count against its subject's limit too.
    let (capped, _) = token(app, &w.o, "capped", &DELEGATE, &[("usage_limit", "3")]).await;
    let tt = child(app, &capped, &w.task).await; // the exchange is one call
    assert_eq!(
        api(app, "GET", "/api/auth/whoami", Some(&tt), None)
            .await
            .status,
        200
    );
    assert_eq!(
        api(app, "GET", "/api/auth/whoami", Some(&capped), None)
            .await
            .status,
        200
    );
    let out = api(app, "GET", "/api/auth/whoami", Some(&tt), None).await;
    assert_eq!(out.status, 429, "{}", out.body);
    // And a task token can have its own.
    let (s3, _) = token(app, &w.o, "s3", &DELEGATE, &[]).await;
    let res = exchange(app, &s3, &w.task, &[("usage_limit", "1")]).await;
    let own = res.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        api(app, "GET", "/api/auth/whoami", Some(&own), None)
            .await
            .status,
        200
    );
    assert_eq!(
        api(app, "GET", "/api/auth/whoami", Some(&own), None)
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn the_audit_names_the_agent_and_the_token_it_acts_for() {
    let w = world().await;
    let app = &w.app;
    let tt = child(app, &w.subject, &w.task).await;
    let res = api(
        app,
        "GET",
        &format!("/api/tasks/{}", w.task),
        Some(&tt),
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    let meta = json!({
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "io.modelcontextprotocol/clientInfo": {"name": "sub-agent", "version": "1.2.3"}
    });
    let args = json!({"name": "get_task", "arguments": {"id": w.task}, "_meta": meta});
    let res = common::mcp(app, &tt, "tools/call", args).await;
    assert_eq!(res["result"]["isError"], false, "{res}");
    app.flush_audit().await;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT actor_kind, actor, token_prefix, details FROM audit_events WHERE action = 'token_used' AND token_prefix LIKE 'preq_tt_%' ORDER BY seq",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (kind, actor, prefix, details) = &rows[0];
    assert_eq!(kind, "task_token");
    assert_eq!(
        actor,
        &format!("{prefix} for claude-code-prod ({}…)", &w.subject[..12])
    );
    let d: Value = serde_json::from_str(details).unwrap();
    assert_eq!(d["act"]["sub"], prefix.as_str());
    assert_eq!(d["act"]["act"]["sub"], &w.subject[..12]);
    let mcp: Value = serde_json::from_str(&rows[1].3).unwrap();
    assert_eq!(mcp["mcp_client"], "sub-agent/1.2.3");
    assert_eq!(
        mcp["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    // The issue is audited, and the export carries the chain.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'task_token_issued'")
            .await,
        1
    );
    let csv = app
        .get("/settings/audit-logs/export.csv", Some(&w.o.cookie))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.body.contains("for claude-code-prod"), "{}", csv.body);
}

/// `tokens:delegate` is opt-in for OAuth clients too.
#[tokio::test]
async fn a_request_without_scope_never_gets_tokens_delegate() {
    // A request without `scope` does not get tokens:delegate; the 401
    // challenge does not list it.
    let app = TestApp::new().await;
    let res = api(&app, "GET", "/api/auth/whoami", None, None).await;
    let challenge = res
        .header("www-authenticate")
        .unwrap_or_default()
        .to_string();
    assert!(!challenge.contains("tokens:delegate"), "{challenge}");
    assert!(!app::oauth::flow::parse_scopes(None)
        .unwrap()
        .contains(&app::tokens::Scope::TokensDelegate));
    assert!(app::oauth::flow::parse_scopes(Some("tokens:delegate"))
        .unwrap()
        .contains(&app::tokens::Scope::TokensDelegate));
}

/// An OAuth access token may be the subject when its grant holds
/// `tokens:delegate` (ticked on the consent page); a `client_id` sent must
/// be its own client's; the task token dies with the grant.
#[tokio::test]
async fn an_oauth_subject_exchanges_and_its_task_token_ends_with_the_grant() {
    use common::oauth;
    let w = world().await;
    let app = &w.app;
    let client_id = oauth::client(app).await;
    let scope = [("scope", "tasks:read tasks:write tokens:delegate")];
    let res = oauth::get(app, &oauth::authorize_url(&client_id, &scope)).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let request = oauth::query_of(res.header("location").unwrap())["request"].clone();
    let granted = ["tasks:read", "tasks:write", "tokens:delegate"];
    let res = oauth::decide(app, &w.o, &request, "allow", &granted).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let code = oauth::query_of(res.header("location").unwrap())["code"].clone();
    let res = oauth::exchange(app, &client_id, &code, oauth::VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let access = res.json()["access_token"].as_str().unwrap().to_string();

    let foreign = exchange(
        app,
        &access,
        &w.task,
        &[("client_id", "https://elsewhere.example/c.json")],
    )
    .await;
    assert_eq!(foreign.status, 401, "{}", foreign.body);
    assert_eq!(foreign.json()["error"], "invalid_client");
    let res = exchange(app, &access, &w.task, &[("client_id", &client_id)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["scope"], "tasks:read tasks:write");
    let tt = res.json()["access_token"].as_str().unwrap().to_string();
    let me = api(app, "GET", "/api/auth/whoami", Some(&tt), None).await;
    assert_eq!(me.status, 200, "{}", me.body);

    // The connected app's page lists it.
    let apps = app
        .call("oauth/connected-apps", &[], Some(&w.o.cookie))
        .await
        .json();
    let grant = apps[0]["id"].as_str().unwrap().to_string();
    let page = app
        .call("oauth/app-detail", &[("id", &grant)], Some(&w.o.cookie))
        .await
        .json();
    assert_eq!(
        page["task_tokens"].as_array().map(Vec::len),
        Some(1),
        "{page}"
    );
    assert_eq!(page["task_tokens"][0]["prefix"], &tt[..12]);

    // The client revokes its grant (RFC 7009): the task token goes with it.
    let res = oauth::post_form(
        app,
        "/oauth/revoke",
        &[("token", &access), ("client_id", &client_id)],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let me = api(app, "GET", "/api/auth/whoami", Some(&tt), None).await;
    assert_eq!(me.status, 401, "{}", me.body);
}
