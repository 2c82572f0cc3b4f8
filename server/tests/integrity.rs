//! Data integrity under concurrency: two agents updating different fields of
//! one task at the same moment both land (no lost update), and the database
//! keeps a task with its project's owner.

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

/// The database itself refuses a task filed under another owner's project,
/// and a work log on another owner's task, whatever the services do.
#[tokio::test]
async fn the_database_keeps_tasks_and_logs_with_their_owner() {
    let app = TestApp::new().await;
    let a = owner(&app, "a@example.com", true).await;
    let b = owner(&app, "b@example.com", false).await;
    let theirs = project(&app, &b, "theirs").await;
    let mine = project(&app, &a, "mine").await;
    let account = |email: &'static str| {
        let db = app.state.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(&format!(
                "SELECT id FROM accounts WHERE email = '{email}'"
            ))
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let (a_id, b_id) = (
        account("a@example.com").await,
        account("b@example.com").await,
    );
    let insert_task = |id: &str, account: &str, project: &str| {
        format!(
            "INSERT INTO tasks (id, account_id, project_id, title, status, created_at, updated_at) \
             VALUES ('{id}', '{account}', '{project}', 't', 'todo', 0, 0)"
        )
    };
    let foreign = sqlx::query(&insert_task("t-foreign", &a_id, &theirs))
        .execute(&app.state.db)
        .await;
    assert!(foreign.is_err(), "a task under another owner's project");
    sqlx::query(&insert_task("t-mine", &a_id, &mine))
        .execute(&app.state.db)
        .await
        .unwrap();
    let log = sqlx::query(&format!(
        "INSERT INTO work_logs (id, account_id, task_id, message, created_at) \
         VALUES ('l-foreign', '{b_id}', 't-mine', 'm', 0)"
    ))
    .execute(&app.state.db)
    .await;
    assert!(log.is_err(), "a work log on another owner's task");
}
