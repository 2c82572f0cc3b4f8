//! Settings > API Keys' list (`tokens/page`): active tokens by default, a
//! count for every status, 50 rows a page, and a status that agrees with
//! the badge whether or not the sweep has run.

mod common;

use common::{owner, token_with, TestApp};
use serde_json::Value;

async fn page(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> Value {
    let res = app.call("tokens/page", form, Some(cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

async fn revoke_by_prefix(app: &TestApp, cookie: &str, token: &str) {
    let id: String = sqlx::query_scalar(&format!(
        "SELECT id FROM api_tokens WHERE prefix = '{}'",
        &token[..12]
    ))
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    let res = app
        .call("tokens/revoke", &[("id", &id)], Some(cookie))
        .await;
    assert!(res.status.is_success(), "{}", res.body);
}

#[tokio::test]
async fn the_list_shows_active_tokens_counts_the_rest_and_pages_by_fifty() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    // 53 revoked, 2 active.
    for i in 0..53 {
        let t = token_with(&app, &o, &format!("old-{i}"), &["scope_tasks_read"], "30").await;
        revoke_by_prefix(&app, &o.cookie, &t).await;
    }
    token_with(&app, &o, "ci", &["scope_tasks_read"], "30").await;
    token_with(&app, &o, "laptop", &["scope_tasks_read"], "30").await;

    let first = page(&app, &o.cookie, &[]).await;
    assert_eq!(first["counts"]["active"], 2);
    assert_eq!(first["counts"]["revoked"], 53);
    assert_eq!(first["counts"]["expired"], 0);
    let names: Vec<&str> = first["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["laptop", "ci"], "active only, newest first");

    let revoked = page(&app, &o.cookie, &[("status", "revoked")]).await;
    assert_eq!(revoked["tokens"].as_array().unwrap().len(), 50);
    assert_eq!(
        (revoked["page"].as_u64(), revoked["pages"].as_u64()),
        (Some(1), Some(2))
    );
    let second = page(&app, &o.cookie, &[("status", "revoked"), ("page", "2")]).await;
    assert_eq!(second["tokens"].as_array().unwrap().len(), 3);
    assert_eq!(second["tokens"][2]["name"], "old-0");
    let past = page(&app, &o.cookie, &[("status", "all"), ("page", "99")]).await;
    assert_eq!(past["page"], 2, "a page past the end is the last one");
    assert_eq!(past["tokens"].as_array().unwrap().len(), 5);

    let bad = app
        .call("tokens/page", &[("status", "bogus")], Some(&o.cookie))
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(app.call("tokens/page", &[], None).await.status, 401);
}

#[tokio::test]
async fn a_rotated_token_past_its_grace_is_not_active_before_the_sweep() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let t = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    let id: String = sqlx::query_scalar(&format!(
        "SELECT id FROM api_tokens WHERE prefix = '{}'",
        &t[..12]
    ))
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    let res = app
        .call(
            "tokens/rotate",
            &[("id", &id), ("grace", "1h")],
            Some(&o.cookie),
        )
        .await;
    assert!(res.status.is_success(), "{}", res.body);
    // The grace ends (no sweep runs): the predecessor's badge says Revoked,
    // and the Active filter agrees.
    sqlx::query(&format!(
        "UPDATE api_tokens SET grace_until = 1 WHERE id = '{id}'"
    ))
    .execute(&app.state.db)
    .await
    .unwrap();
    let active = page(&app, &o.cookie, &[]).await;
    let listed: Vec<&str> = active["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["active"], "only the successor");
    assert_eq!(active["counts"]["active"], 1);
    assert_eq!(active["counts"]["revoked"], 1);
    let revoked = page(&app, &o.cookie, &[("status", "revoked")]).await;
    assert_eq!(revoked["tokens"][0]["id"], id.as_str());
    assert_eq!(revoked["tokens"][0]["status"], "revoked");
}
