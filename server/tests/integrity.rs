//! Data integrity under concurrency: two agents updating different fields of
//! one task at the same moment both land (no lost update).

mod common;

use common::{api, owner, project, token_with, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn concurrent_patches_of_different_fields_both_land() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let scopes = ["scope_tasks_read", "scope_tasks_write"];
    let token = token_with(&app, &o, "agent", &scopes, "30").await;
    let p = project(&app, &o, "site").await;
    let res = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&token),
        Some(json!({"project_id": p, "title": "t"})),
    )
    .await;
    let id = res.json()["id"].as_str().unwrap().to_string();
    let path = format!("/api/tasks/{id}");
    for i in 0..20 {
        let status = if i % 2 == 0 { "in_progress" } else { "review" };
        let result = format!("result {i}");
        let (a, b) = tokio::join!(
            api(
                &app,
                "PATCH",
                &path,
                Some(&token),
                Some(json!({"status": status}))
            ),
            api(
                &app,
                "PATCH",
                &path,
                Some(&token),
                Some(json!({"result": result}))
            ),
        );
        assert_eq!(
            (a.status.as_u16(), b.status.as_u16()),
            (200, 200),
            "{} {}",
            a.body,
            b.body
        );
        let now = api(&app, "GET", &path, Some(&token), None).await.json();
        assert_eq!(
            now["status"], status,
            "round {i}: the status update was lost"
        );
        assert_eq!(
            now["result"],
            result.as_str(),
            "round {i}: the result update was lost"
        );
    }
    // A PATCH still answers with the task as stored, and null clears.
    let res = api(
        &app,
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"result": null})),
    )
    .await;
    assert_eq!(res.json()["result"], Value::Null);
    assert_eq!(res.json()["status"], "review");
}
