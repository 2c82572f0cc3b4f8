//! The audit log against hostile input: exported cells cannot run as
//! spreadsheet formulas, and anonymous junk is truncated and aggregated
//! before it takes room in the queue or the table.

mod common;

use common::{owner, token_with, TestApp};

#[tokio::test]
async fn csv_export_neutralizes_formulas_and_json_lines_stay_exact() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(
        &app,
        &o,
        "=HYPERLINK(\"http://x\")",
        &["scope_tasks_read"],
        "30",
    )
    .await;
    token_with(&app, &o, "@SUM(A1)", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;

    let csv = app
        .get(
            "/settings/audit-logs/export.csv?action=token_created",
            Some(&o.cookie),
        )
        .await;
    assert_eq!(csv.status, 200);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.body.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let targets: Vec<&str> = rows.iter().map(|r| &r[6]).collect();
    assert_eq!(targets, ["'@SUM(A1)", "'=HYPERLINK(\"http://x\")"]);

    let jsonl = app
        .get(
            "/settings/audit-logs/export.jsonl?action=token_created",
            Some(&o.cookie),
        )
        .await;
    let first: serde_json::Value =
        serde_json::from_str(jsonl.body.lines().next().unwrap()).unwrap();
    assert_eq!(first["target"], "@SUM(A1)");
}

/// An hour's worth of junk compressed: 300 anonymous requests with 64 KiB
/// paths and user agents from one address add two short rows, not 300 long
/// ones (the first, and one counting the repeats).
#[tokio::test]
async fn anonymous_junk_is_truncated_and_aggregated() {
    let app = TestApp::with_config(|c| {
        c.api_rate_per_ip = 1_000_000;
    })
    .await;
    let long = "a".repeat(60_000);
    for _ in 0..300 {
        let req = axum::http::Request::get(format!("/api/tasks/{long}"))
            .header("user-agent", format!("junk-{long}"))
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.status, 401);
    }
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'auth_failed'")
            .await,
        2
    );
    let longest = app
        .count(
            "SELECT MAX(LENGTH(details) + LENGTH(COALESCE(user_agent, ''))) FROM audit_events \
             WHERE action = 'auth_failed'",
        )
        .await;
    assert!(longest < 1_000, "paths and user agents are cut: {longest}");
    let (ua, details): (String, String) = sqlx::query_as(
        "SELECT user_agent, details FROM audit_events WHERE action = 'auth_failed' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(ua.ends_with("…[cut]"), "{ua}");
    assert!(details.contains("…[cut]"), "{details}");
    let summary: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'auth_failed' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(summary.contains("\"repeated\":299"), "{summary}");
}

/// Access refused is a security event: a 403 on the API (a missing scope),
/// a member calling an administrator's server function, and the verify
/// limiter's 429.
#[tokio::test]
async fn refusals_are_security_events() {
    let app = TestApp::with_config(|c| c.api_rate_verify = 1).await;
    let admin = owner(&app, "admin@example.com", true).await;
    let read_only = token_with(&app, &admin, "reader", &["scope_tasks_read"], "30").await;
    let res = common::api(
        &app,
        "POST",
        "/api/tasks",
        Some(&read_only),
        Some(
            serde_json::json!({"project_id": "01a226a4-592a-7062-ab20-c33e8f595206", "title": "t"}),
        ),
    )
    .await;
    assert_eq!(res.status, 403);
    for _ in 0..2 {
        common::api(
            &app,
            "POST",
            "/api/tokens/verify",
            Some(&read_only),
            Some(serde_json::json!({"token": "preq_x"})),
        )
        .await;
    }
    let member = owner(&app, "member@example.com", false).await;
    let res = app
        .call(
            "admin/accounts/disable",
            &[
                ("id", "01a226a4-592a-7062-ab20-c33e8f595206"),
                ("disabled", "true"),
            ],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 403);
    app.flush_audit().await;
    let denied = |actor_kind: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'access_denied' AND security = 1 \
             AND actor_kind = '{actor_kind}' AND account_id IS NOT NULL"
        )
    };
    assert_eq!(app.count(&denied("token")).await, 1, "the API's 403");
    assert_eq!(
        app.count(&denied("session")).await,
        1,
        "the member on an admin function"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'rate_limited' AND details LIKE '%verify%'"
        )
        .await,
        1
    );
}

/// Account changes: `account_created` from the admin page is written with
/// the account (one transaction) and shows in both trails; what an admin
/// does to an account shows in that account's own trail.
#[tokio::test]
async fn admin_actions_appear_in_the_accounts_own_trail() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let res = app
        .call(
            "admin/accounts/create",
            &[
                ("email", "dev@example.com"),
                ("role", "member"),
                ("password", common::PASSWORD),
            ],
            Some(&admin.cookie),
        )
        .await;
    assert!(res.status.is_success(), "{}", res.body);
    let dev: String = sqlx::query_scalar("SELECT id FROM accounts WHERE email = 'dev@example.com'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    for (endpoint, form) in [
        (
            "admin/accounts/disable",
            vec![("id", dev.as_str()), ("disabled", "true")],
        ),
        (
            "admin/accounts/disable",
            vec![("id", dev.as_str()), ("disabled", "false")],
        ),
        ("admin/accounts/invalidate", vec![("id", dev.as_str())]),
    ] {
        let res = app.call(endpoint, &form, Some(&admin.cookie)).await;
        assert!(res.status.is_success(), "{endpoint}: {}", res.body);
    }
    app.flush_audit().await;
    let in_trail = |action: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_events WHERE account_id = '{dev}' AND action = '{action}'"
        )
    };
    assert_eq!(app.count(&in_trail("account_created")).await, 1);
    assert_eq!(app.count(&in_trail("account_disabled")).await, 2);
    assert_eq!(app.count(&in_trail("sessions_invalidated")).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'account_created' AND account_id <> ''")
            .await,
        3,
        "setup's admin, and the new member in the admin's trail and its own"
    );
}

/// `audit verify` on a live server: entries appended while it walks are not
/// reported as a truncation; it verifies the head it saw at its start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_while_entries_are_appended_is_intact() {
    use app::audit::{chain, NewEvent};
    let app = TestApp::new().await;
    let event = || {
        NewEvent::new(
            app::audit::AuditAction::TokenUsed,
            app::audit::ActorKind::Token,
            app::audit::Outcome::Success,
        )
        .detail("path", "/api/auth/whoami")
    };
    for _ in 0..5 {
        let batch: Vec<NewEvent> = (0..500).map(|_| event()).collect();
        chain::append_now(
            &app.state.db,
            &app.state.config.keys,
            &batch,
            app::types::Timestamp::now(),
        )
        .await
        .unwrap();
    }
    let db = app.state.db.clone();
    let keys = app.state.config.keys.clone();
    let writer = tokio::spawn(async move {
        for _ in 0..200 {
            let batch: Vec<NewEvent> = (0..5).map(|_| event()).collect();
            chain::append_now(&db, &keys, &batch, app::types::Timestamp::now())
                .await
                .unwrap();
        }
    });
    let mut verdicts = Vec::new();
    while !writer.is_finished() {
        verdicts.push(
            chain::verify(&app.state.db, &app.state.config.keys, 1)
                .await
                .unwrap(),
        );
    }
    writer.await.unwrap();
    verdicts.push(
        chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
    );
    assert!(verdicts.len() > 1, "verified while appending");
    for v in &verdicts {
        assert!(matches!(v, chain::Verdict::Intact { .. }), "{v:?}");
    }
}
