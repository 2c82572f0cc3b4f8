//! The audit log against hostile input: exported cells cannot run as
//! spreadsheet formulas, and anonymous junk is truncated and aggregated
//! before it takes room in the queue or the table.

mod common;

use common::{owner, token_with, TestApp};

#[tokio::test]
async fn csv_export_neutralizes_formulas_and_json_lines_stay_exact() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(&app, &o, "=HYPERLINK(\"http://x\")", &["scope_tasks_read"], "30").await;
    token_with(&app, &o, "@SUM(A1)", &["scope_tasks_read"], "30").await;
    app.flush_audit().await;

    let csv = app
        .get("/settings/audit-logs/export.csv?action=token_created", Some(&o.cookie))
        .await;
    assert_eq!(csv.status, 200);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.body.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let targets: Vec<&str> = rows.iter().map(|r| &r[6]).collect();
    assert_eq!(targets, ["'@SUM(A1)", "'=HYPERLINK(\"http://x\")"]);

    let jsonl = app
        .get("/settings/audit-logs/export.jsonl?action=token_created", Some(&o.cookie))
        .await;
    let first: serde_json::Value =
        serde_json::from_str(jsonl.body.lines().next().unwrap()).unwrap();
    assert_eq!(first["target"], "@SUM(A1)");
}
