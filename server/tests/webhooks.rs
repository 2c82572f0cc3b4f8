//! Signed webhooks through the real router over a fresh database (SQLite
//! and PostgreSQL), delivering to a receiver on loopback: signatures checked
//! by the Standard Webhooks library from PyPI (end2end/webhooks/verify.py),
//! order, retries with backoff, Retry-After, 410, a slow endpoint beside a
//! fast one, private addresses, a secret roll, batches, owners.

mod common;

use std::{
    collections::VecDeque,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    notifications::{outbox::Notice, NoticeKind},
    types::{AccountId, Timestamp},
    webhooks::dispatch,
};
use common::{owner, token_with, Owner, TestApp};

/// One answer the receiver gives.
#[derive(Clone, Default)]
struct Reply {
    status: u16,
    delay: Duration,
    retry_after: Option<&'static str>,
}

fn ok() -> Reply {
    Reply {
        status: 200,
        ..Reply::default()
    }
}

fn status(status: u16) -> Reply {
    Reply {
        status,
        ..Reply::default()
    }
}

/// A request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: serde_json::Map<String, serde_json::Value>,
    body: String,
    answered: u16,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers[name].as_str().unwrap()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on loopback: answers from its script (then 200).
#[derive(Clone)]
struct Receiver {
    port: u16,
    script: Arc<Mutex<VecDeque<Reply>>>,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    async fn start(script: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Receiver {
            port,
            script: Arc::new(Mutex::new(script.into())),
            got: Arc::default(),
        };
        let me = r.clone();
        let handler = move |headers: http::HeaderMap, body: String| {
            let me = me.clone();
            async move {
                let reply = me.script.lock().unwrap().pop_front().unwrap_or_else(ok);
                tokio::time::sleep(reply.delay).await;
                let headers = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::json!(v.to_str().unwrap_or(""))))
                    .collect();
                me.got.lock().unwrap().push(Got {
                    headers,
                    body,
                    answered: reply.status,
                });
                let mut res = axum::response::Response::builder().status(reply.status);
                if let Some(ra) = reply.retry_after {
                    res = res.header("retry-after", ra);
                }
                res.body(axum::body::Body::from("ok")).unwrap()
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// The venv `make test` installs `standardwebhooks` into.
fn python() -> String {
    let venv = std::env::var("PREQ_PY_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/preqstation-pyenv",
            std::env::var("HOME").unwrap()
        )
    });
    let py = format!("{venv}/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{py} has no standardwebhooks (make test installs it from end2end/mcp/requirements.txt)"
    );
    py
}

/// Verifies `got` with the Standard Webhooks library under `secret`.
fn verify(app: &TestApp, secret: &str, got: &[Got]) {
    let path = app
        .dir
        .path()
        .join(format!("deliveries-{}.jsonl", uuid::Uuid::now_v7()));
    let lines: Vec<String> = got
        .iter()
        .map(|g| serde_json::json!({"headers": g.headers, "body": g.body}).to_string())
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/webhooks/verify.py");
    let out = Command::new(python())
        .arg(script)
        .arg(secret)
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "standardwebhooks refused: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), format!("verified {}", got.len()));
}

async fn app() -> TestApp {
    TestApp::with_config(|c| c.webhook_allow_hosts = vec!["127.0.0.1".into()]).await
}

/// Registers an endpoint; returns (id, secret).
async fn endpoint(app: &TestApp, o: &Owner, url: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut form = vec![("url", url)];
    form.extend_from_slice(extra);
    let res = app.call("webhooks/create", &form, Some(&o.cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let j = res.json();
    (
        j["endpoint"]["id"].as_str().unwrap().to_string(),
        j["secret"].as_str().unwrap().to_string(),
    )
}

async fn account_id(app: &TestApp, email: &str) -> AccountId {
    let id: String = sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    AccountId::parse(&id).unwrap()
}

async fn run(app: &TestApp, at: Timestamp) -> u64 {
    dispatch::run_due(&app.state, at).await.unwrap()
}

async fn delivery_states(app: &TestApp, endpoint: &str) -> Vec<(i64, String, i64)> {
    sqlx::query_as(
        "SELECT seq, state, attempts FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq",
    )
    .bind(endpoint)
    .fetch_all(&app.state.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn deliveries_are_signed_as_standard_webhooks_verify_them_and_come_in_order() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![]).await;
    let (id, secret) = endpoint(
        &app,
        &admin,
        &rx.url(),
        &[
            ("events", "audit.token_created"),
            ("all_notifications", "on"),
        ],
    )
    .await;
    assert!(secret.starts_with("whsec_"));
    // Nothing from before the endpoint existed.
    assert_eq!(run(&app, Timestamp::now()).await, 0);
    token_with(&app, &admin, "one", &["scope_tasks_read"], "30").await;
    token_with(&app, &admin, "two", &["scope_tasks_read"], "30").await;
    let me = account_id(&app, "admin@example.com").await;
    app::notifications::outbox::enqueue_now(
        &app.state.db,
        &Notice::new(NoticeKind::TokenExpired, me).token("t1", "three", "preq_abcdefg"),
        "test:expired:t1",
        Timestamp::now(),
    )
    .await
    .unwrap();
    app.flush_audit().await;
    assert_eq!(run(&app, Timestamp::now()).await, 3);
    let got = rx.got();
    assert_eq!(got.len(), 3);
    let types: Vec<String> = got
        .iter()
        .map(|g| g.json()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "audit.token_created",
            "audit.token_created",
            "notification.token_expired"
        ]
    );
    for (i, g) in got.iter().enumerate() {
        let body = g.json();
        assert_eq!(body["sequence"], i as i64 + 1);
        assert_eq!(g.header("webhook-sequence"), (i + 1).to_string());
        assert!(g.header("webhook-id").starts_with("msg_"));
        assert!(g.header("webhook-signature").starts_with("v1,"));
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(g.header("content-type"), "application/json");
    }
    assert_eq!(got[0].json()["data"]["action"], "token_created");
    assert_eq!(got[0].json()["data"]["account_id"], me.to_string());
    assert_eq!(
        got[2].json()["data"]["details"]["token"]["prefix"],
        "preq_abcdefg"
    );
    assert!(!got.iter().any(|g| g.body.contains(&secret[6..])));
    verify(&app, &secret, &got);
    // The log shows them delivered with their answer.
    let log = app
        .call("webhooks/deliveries", &[("id", &id)], Some(&admin.cookie))
        .await
        .json();
    assert_eq!(log.as_array().unwrap().len(), 3);
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["last_status"], 200);
    // The event types asked for and nothing else: a revoke is not sent.
    assert_eq!(run(&app, Timestamp::now()).await, 0);
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_with_backoff_and_each_event_once_in_order() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![status(500), status(502)]).await;
    let (id, secret) = endpoint(
        &app,
        &admin,
        &rx.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    token_with(&app, &admin, "first", &["scope_tasks_read"], "30").await;
    token_with(&app, &admin, "second", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    let t0 = Timestamp::now();
    assert_eq!(run(&app, t0).await, 0);
    assert_eq!(
        delivery_states(&app, &id).await,
        [(1, "pending".into(), 1), (2, "pending".into(), 0)]
    );
    let next: i64 = sqlx::query_scalar(
        "SELECT next_attempt_at FROM webhook_deliveries WHERE endpoint_id = $1 AND seq = 1",
    )
    .bind(&id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(
        (4_000..=6_000).contains(&(next - t0.millis())),
        "first retry after ~5 s, got {}",
        next - t0.millis()
    );
    // Not due yet: nothing is sent, the second event waits behind the first.
    assert_eq!(run(&app, t0.plus_secs(1)).await, 0);
    assert_eq!(rx.got().len(), 1);
    assert_eq!(run(&app, t0.plus_secs(7)).await, 0);
    let next2: i64 = sqlx::query_scalar(
        "SELECT next_attempt_at FROM webhook_deliveries WHERE endpoint_id = $1 AND seq = 1",
    )
    .bind(&id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(
        (8_000..=12_000).contains(&(next2 - t0.plus_secs(7).millis())),
        "second retry after ~10 s"
    );
    assert_eq!(run(&app, t0.plus_secs(3600)).await, 2);
    let got = rx.got();
    let seen: Vec<(String, u16, i64)> = got
        .iter()
        .map(|g| {
            (
                g.header("webhook-id").to_string(),
                g.answered,
                g.json()["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 4);
    // The same id on every attempt of the first; delivered once each, in order.
    assert_eq!(seen[0].0, seen[1].0);
    assert_eq!(seen[1].0, seen[2].0);
    assert_eq!(
        [seen[0].1, seen[1].1, seen[2].1, seen[3].1],
        [500, 502, 200, 200]
    );
    assert_eq!([seen[2].2, seen[3].2], [1, 2]);
    assert_ne!(seen[2].0, seen[3].0);
    verify(&app, &secret, &got);
    assert_eq!(
        delivery_states(&app, &id).await,
        [(1, "delivered".into(), 3), (2, "delivered".into(), 1)]
    );
    // Failing since the first failure, cleared by the success.
    let failing: Option<i64> =
        sqlx::query_scalar("SELECT failing_since FROM webhook_endpoints WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(failing, None);
}

#[tokio::test]
async fn retry_after_is_honoured_gone_disables_and_a_day_of_failure_gives_up() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![
        Reply {
            status: 429,
            retry_after: Some("120"),
            ..Reply::default()
        },
        status(500),
        status(410),
    ])
    .await;
    let (id, _) = endpoint(
        &app,
        &admin,
        &rx.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    token_with(&app, &admin, "first", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    let t0 = Timestamp::now();
    run(&app, t0).await;
    let next: i64 =
        sqlx::query_scalar("SELECT next_attempt_at FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(&id)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(next - t0.millis(), 120_000, "Retry-After: 120");
    // After 24 hours of attempts the delivery is given up.
    run(&app, t0.plus_secs(121)).await;
    run(&app, t0.plus_secs(121 + 86_400)).await;
    assert_eq!(delivery_states(&app, &id).await, [(1, "failed".into(), 2)]);
    // The next event meets a 410: the endpoint is disabled, its owner told.
    token_with(&app, &admin, "second", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    run(&app, t0.plus_secs(86_500)).await;
    let view = app
        .call("webhooks/list", &[], Some(&admin.cookie))
        .await
        .json();
    assert_eq!(view[0]["enabled"], false);
    assert_eq!(view[0]["disabled_reason"], "it answered 410 Gone");
    assert_eq!(app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'webhook_disabled' AND channel = 'in_app'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'webhook_disabled' AND actor_kind = 'system'").await, 1);
    // Disabled: nothing more is sent.
    token_with(&app, &admin, "third", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    run(&app, t0.plus_secs(90_000)).await;
    assert_eq!(rx.got().len(), 3);
}

#[tokio::test]
async fn three_days_without_a_success_disable_the_endpoint() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![status(503); 40]).await;
    let (id, _) = endpoint(
        &app,
        &admin,
        &rx.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    token_with(&app, &admin, "first", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    let t0 = Timestamp::now();
    run(&app, t0).await;
    run(&app, t0.plus_secs(2 * 86_400)).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_endpoints WHERE state = 'active'")
            .await,
        1
    );
    token_with(&app, &admin, "second", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    run(&app, t0.plus_secs(3 * 86_400 + 60)).await;
    let reason: Option<String> =
        sqlx::query_scalar("SELECT disabled_reason FROM webhook_endpoints WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("no delivery succeeded for 3 days"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'webhook_disabled'")
            .await,
        2,
        "in-app and email rows"
    );
}

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_another() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let slow = Receiver::start(vec![Reply {
        status: 200,
        delay: Duration::from_secs(8),
        ..Reply::default()
    }])
    .await;
    let fast = Receiver::start(vec![]).await;
    endpoint(
        &app,
        &admin,
        &slow.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    endpoint(
        &app,
        &admin,
        &fast.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    dispatch::spawn(app.state.clone());
    let started = Instant::now();
    token_with(&app, &admin, "first", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    while fast.got().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the fast endpoint got nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The fast one was served while the slow one's answer was still coming.
    assert!(
        slow.got().is_empty(),
        "the slow endpoint answered first: it held up the other"
    );
    while slow.got().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the slow endpoint got nothing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn private_addresses_are_refused_when_saved_and_on_every_attempt() {
    let app =
        TestApp::with_config(|c| c.webhook_allow_hosts = vec!["allowed.invalid".into()]).await;
    let admin = owner(&app, "admin@example.com", true).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
    ] {
        let res = app
            .call(
                "webhooks/create",
                &[("url", url), ("all_audit", "on")],
                Some(&admin.cookie),
            )
            .await;
        assert_eq!(res.status, 422, "{url}: {}", res.body);
        assert!(
            res.body.contains("private or reserved"),
            "{url}: {}",
            res.body
        );
        assert!(
            res.body.contains("\"url\""),
            "by the url field: {}",
            res.body
        );
    }
    for (url, words) in [
        ("http://hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("not a url", "not a URL"),
    ] {
        let res = app
            .call(
                "webhooks/create",
                &[("url", url), ("all_audit", "on")],
                Some(&admin.cookie),
            )
            .await;
        assert_eq!(res.status, 422, "{url}");
        assert!(res.body.contains(words), "{url}: {}", res.body);
    }
    // A name that resolved publicly when saved and privately now (DNS
    // rebinding) is refused at the attempt: here, the row pointed at
    // localhost behind the form's back.
    let rx = Receiver::start(vec![]).await;
    let (id, _) = endpoint(
        &app,
        &admin,
        "http://allowed.invalid/hook",
        &[("all_audit", "on")],
    )
    .await;
    sqlx::query("UPDATE webhook_endpoints SET url = $1 WHERE id = $2")
        .bind(format!("https://localhost:{}/hook", rx.port))
        .bind(&id)
        .execute(&app.state.db)
        .await
        .unwrap();
    token_with(&app, &admin, "first", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    run(&app, Timestamp::now()).await;
    assert!(rx.got().is_empty());
    let err: Option<String> = sqlx::query_scalar(
        "SELECT last_error FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq LIMIT 1",
    )
    .bind(&id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(err.unwrap_or_default().contains("private or reserved"));
}

#[tokio::test]
async fn a_rolled_secret_signs_beside_the_new_one_for_a_day() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![]).await;
    let (id, old) = endpoint(
        &app,
        &admin,
        &rx.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    let res = app
        .call("webhooks/roll-secret", &[("id", &id)], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let new = res.json()["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(res.json()["endpoint"]["old_secret_until"].is_i64());
    token_with(&app, &admin, "first", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    let t0 = Timestamp::now();
    run(&app, t0).await;
    let got = rx.got();
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    verify(&app, &old, &got);
    verify(&app, &new, &got);
    // A day later, only the new secret signs.
    token_with(&app, &admin, "second", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    run(&app, t0.plus_secs(86_401)).await;
    let got = rx.got();
    let last = &got[1..];
    assert_eq!(last[0].header("webhook-signature").split(' ').count(), 1);
    verify(&app, &new, last);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'webhook_secret_rolled'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_batching_endpoint_gets_one_signed_array() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![]).await;
    let (_, secret) = endpoint(
        &app,
        &admin,
        &rx.url(),
        &[("events", "audit.token_created"), ("batch_size", "10")],
    )
    .await;
    for name in ["a", "b", "c"] {
        token_with(&app, &admin, name, &["scope_tasks_read"], "30").await;
    }
    app.flush_audit().await;
    assert_eq!(run(&app, Timestamp::now()).await, 3);
    let got = rx.got();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    let seqs: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    verify(&app, &secret, &got);
}

#[tokio::test]
async fn owners_see_and_get_only_their_own_and_admins_may_take_every_account() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let rx_member = Receiver::start(vec![]).await;
    let rx_all = Receiver::start(vec![]).await;
    let (member_ep, _) = endpoint(
        &app,
        &member,
        &rx_member.url(),
        &[("events", "audit.token_created")],
    )
    .await;
    // A member cannot ask for every account's events.
    let res = app
        .call(
            "webhooks/create",
            &[
                ("url", &rx_all.url()),
                ("all_audit", "on"),
                ("all_accounts", "on"),
            ],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    let (admin_ep, _) = endpoint(
        &app,
        &admin,
        &rx_all.url(),
        &[("events", "audit.token_created"), ("all_accounts", "on")],
    )
    .await;
    // The member neither sees nor touches the admin's endpoint.
    let list = app
        .call("webhooks/list", &[], Some(&member.cookie))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    for (endpoint, form) in [
        ("webhooks/deliveries", vec![("id", admin_ep.as_str())]),
        ("webhooks/delete", vec![("id", admin_ep.as_str())]),
        ("webhooks/test", vec![("id", admin_ep.as_str())]),
        ("webhooks/roll-secret", vec![("id", admin_ep.as_str())]),
    ] {
        let res = app.call(endpoint, &form, Some(&member.cookie)).await;
        assert_eq!(res.status, 404, "{endpoint}: {}", res.body);
    }
    // The admin sees both, the member's with its owner.
    let list = app
        .call("webhooks/list", &[], Some(&admin.cookie))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == member_ep.as_str() && e["owner_email"] == "member@example.com"));
    token_with(&app, &admin, "admins", &["scope_tasks_read"], "30").await;
    token_with(&app, &member, "members", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;
    run(&app, Timestamp::now()).await;
    let owners = |rx: &Receiver| -> Vec<String> {
        rx.got()
            .iter()
            .map(|g| g.json()["data"]["account_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (a, m) = (
        account_id(&app, "admin@example.com").await.to_string(),
        account_id(&app, "member@example.com").await.to_string(),
    );
    assert_eq!(owners(&rx_member), std::slice::from_ref(&m));
    assert_eq!(owners(&rx_all), [a, m]);
    // Bad input is answered by the field.
    let res = app
        .call(
            "webhooks/create",
            &[("url", &rx_all.url()), ("events", "audit.nope")],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("not an event type"), "{}", res.body);
    let res = app
        .call(
            "webhooks/create",
            &[
                ("url", &rx_all.url()),
                ("all_audit", "on"),
                ("batch_size", "1000"),
            ],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("batch_size"), "{}", res.body);
}

#[tokio::test]
async fn test_events_resends_and_the_log() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let rx = Receiver::start(vec![status(500)]).await;
    let (id, secret) = endpoint(&app, &admin, &rx.url(), &[("all_notifications", "on")]).await;
    dispatch::spawn(app.state.clone());
    let res = app
        .call("webhooks/test", &[("id", &id)], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let d = res.json();
    assert_eq!(d["event_type"], "webhook.test");
    assert_eq!(d["last_status"], 500);
    assert_eq!(d["state"], "pending");
    let res = app
        .call(
            "webhooks/resend",
            &[("id", &id), ("delivery", d["id"].as_str().unwrap())],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["state"], "delivered");
    assert_eq!(res.json()["last_status"], 200);
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    verify(&app, &secret, &got);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'webhook_resent'")
            .await,
        2
    );
    // Disabled endpoints take no test event; deleting removes the log.
    let res = app
        .call(
            "webhooks/enable",
            &[("id", &id), ("enabled", "false")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .call("webhooks/test", &[("id", &id)], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 409, "{}", res.body);
    let res = app
        .call("webhooks/delete", &[("id", &id)], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        0
    );
}
