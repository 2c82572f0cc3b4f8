//! Task tokens and usage limits across instances (issue 28), on the real
//! binary over one database (PostgreSQL, or one SQLite file): a subject
//! revoked through one instance ends its task token on the other on the
//! very next request, 1,000 times; and 100 concurrent calls against a limit
//! of 10, split over two instances, get exactly 10 answers.

mod common;

use axum::{body::Body, http::Request};
use common::{binary::start, form_encode, owner, TestApp};
use serde_json::json;

fn whoami(token: &str) -> String {
    format!(
        "GET /api/auth/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

/// A token of `o` through the in-process instance; returns (token, id).
async fn token(
    app: &TestApp,
    cookie: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let mut form = vec![
        ("name", name),
        ("expiry", "30"),
        ("scope_tasks_read", "on"),
        ("scope_tasks_write", "on"),
        ("scope_tokens_delegate", "on"),
    ];
    form.extend_from_slice(extra);
    let res = app.call("tokens/create", &form, Some(cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    (
        v["token"].as_str().unwrap().into(),
        v["view"]["id"].as_str().unwrap().into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_revoked_on_one_instance_ends_its_task_token_on_the_other() {
    // 1,000 exchanges from one address: the per-IP limit out of the way.
    let app = TestApp::with_config(|c| {
        c.api_rate_per_ip = 1_000_000;
        c.api_rate_per_token = 1_000_000;
    })
    .await;
    let o = owner(&app, "orchestrator@example.com", true).await;
    let project = common::project(&app, &o, "fleet").await;
    let (first, _) = token(&app, &o.cookie, "seed", &[]).await;
    let task = common::api(
        &app,
        "POST",
        "/api/tasks",
        Some(&first),
        Some(json!({"project_id": project, "title": "t"})),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let details = json!([{"type": "preqstation_task", "task_id": task}]).to_string();
    let b = start(&app);
    let mut answered = 0;
    for i in 0..1000 {
        let (subject, id) = token(&app, &o.cookie, &format!("s{i}"), &[]).await;
        let res = app
            .send(
                Request::post("/oauth/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(form_encode(&[
                        (
                            "grant_type",
                            "urn:ietf:params:oauth:grant-type:token-exchange",
                        ),
                        ("subject_token", &subject),
                        (
                            "subject_token_type",
                            "urn:ietf:params:oauth:token-type:access_token",
                        ),
                        ("authorization_details", &details),
                    ])))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let child = res.json()["access_token"].as_str().unwrap().to_string();
        if i == 0 {
            // It works on B before its subject goes.
            assert_eq!(common::raw_status(b.port, &whoami(&child)), Some(200));
        }
        let revoked = app
            .call("tokens/revoke", &[("id", &id)], Some(&o.cookie))
            .await;
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        let port = b.port;
        let status = tokio::task::spawn_blocking(move || common::raw_status(port, &whoami(&child)))
            .await
            .unwrap();
        match status {
            Some(401) => {}
            Some(200) => answered += 1,
            other => panic!("iteration {i}: {other:?}"),
        }
    }
    assert_eq!(
        answered, 0,
        "a task token outlived its subject on the other instance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_ten_gives_ten_answers_to_a_hundred_calls_on_two_instances() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (limited, _) = token(&app, &o.cookie, "limited", &[("usage_limit", "10")]).await;
    let (a, b) = (start(&app), start(&app));
    let ports = [a.port, b.port];
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let (port, request) = (ports[i % 2], whoami(&limited));
            std::thread::spawn(move || common::raw_status(port, &request))
        })
        .collect();
    let statuses: Vec<Option<u16>> = calls.into_iter().map(|c| c.join().unwrap()).collect();
    let ok = statuses.iter().filter(|s| **s == Some(200)).count();
    let exhausted = statuses.iter().filter(|s| **s == Some(429)).count();
    assert_eq!((ok, exhausted), (10, 90), "{statuses:?}");
    let left: i64 = app
        .count("SELECT usage_remaining FROM api_tokens WHERE name = 'limited'")
        .await;
    assert_eq!(left, 0);
}
