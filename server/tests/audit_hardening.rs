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
