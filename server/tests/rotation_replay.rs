//! `POST /api/tokens/self/rotate` with `Idempotency-Key` (issue 13): a retry
//! after a lost response gets the same successor, kept sealed (never in
//! plaintext) for 10 minutes, and a retired predecessor may fetch that
//! replay but nothing else.

mod common;

use common::{api, api_with, owner, token_with, TestApp, TestResponse};
use serde_json::json;

const SCOPES: [&str; 2] = ["scope_tasks_read", "scope_tokens_rotate_self"];

async fn rotate(app: &TestApp, token: &str, key: &str, grace: &str) -> TestResponse {
    api_with(
        app,
        "POST",
        "/api/tokens/self/rotate",
        Some(token),
        Some(json!({ "grace": grace })),
        &[("idempotency-key", key)],
    )
    .await
}

async fn whoami(app: &TestApp, token: &str) -> u16 {
    api(app, "GET", "/api/auth/whoami", Some(token), None)
        .await
        .status
        .as_u16()
}

async fn events(app: &TestApp, action: &str) -> i64 {
    app.flush_audit().await;
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
    ))
    .await
}

async fn setup() -> (TestApp, String) {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let a = token_with(&app, &o, "agent", &SCOPES, "30").await;
    (app, a)
}

#[tokio::test]
async fn a_retry_in_grace_gets_the_same_successor_from_a_sealed_answer() {
    let (app, a) = setup().await;
    let first = rotate(&app, &a, "rotate-1", "1h").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let b = first.json()["token"].as_str().unwrap().to_string();
    let again = rotate(&app, &a, "rotate-1", "1h").await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["token"].as_str(), Some(b.as_str()));
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens").await,
        2,
        "no third token"
    );

    // Stored sealed, for 10 minutes, and the secret is nowhere in plaintext.
    use sqlx::Row;
    let row = sqlx::query("SELECT body, expires_at - created_at AS ttl FROM idempotency_keys")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let body: String = row.get("body");
    assert!(body.starts_with("sealed:k1."), "{body}");
    assert!(
        !body.contains(&b[12..]),
        "the secret is not stored in plaintext"
    );
    assert_eq!(row.get::<i64, _>("ttl"), 600_000);

    // The same key with another body is 422; without a key it is a 409.
    assert_eq!(rotate(&app, &a, "rotate-1", "24h").await.status, 422);
    let plain = api(
        &app,
        "POST",
        "/api/tokens/self/rotate",
        Some(&a),
        Some(json!({"grace": "1h"})),
    )
    .await;
    assert_eq!(plain.status, 409, "{}", plain.body);
}

#[tokio::test]
async fn a_retired_predecessor_may_fetch_its_replay_and_nothing_else() {
    let (app, a) = setup().await;
    // No grace: A is retired the moment B exists.
    let first = rotate(&app, &a, "k-1", "none").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let b = first.json()["token"].as_str().unwrap().to_string();

    let again = rotate(&app, &a, "k-1", "none").await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["token"].as_str(), Some(b.as_str()));
    assert_eq!(events(&app, "token_rotation_replayed").await, 1);
    assert_eq!(
        events(&app, "token_reuse_detected").await,
        0,
        "a replay is not a reuse"
    );
    assert_eq!(whoami(&app, &b).await, 200, "the family is intact");

    // Another body under the same key: 422, still no reuse.
    assert_eq!(rotate(&app, &a, "k-1", "24h").await.status, 422);
    // Anything else A does is a reuse: another endpoint…
    assert_eq!(whoami(&app, &a).await, 401);
    assert_eq!(events(&app, "token_reuse_detected").await, 1);
    assert_eq!(whoami(&app, &b).await, 200);
    // …or a rotation under another key, which revokes the family.
    assert_eq!(rotate(&app, &a, "k-2", "none").await.status, 401);
    assert_eq!(whoami(&app, &b).await, 401, "family revoked");
}

#[tokio::test]
async fn after_ten_minutes_the_replay_is_gone_and_a_retry_is_a_reuse() {
    let (app, a) = setup().await;
    let first = rotate(&app, &a, "k-1", "none").await;
    assert_eq!(first.status, 201);
    let b = first.json()["token"].as_str().unwrap().to_string();
    sqlx::query("UPDATE idempotency_keys SET expires_at = expires_at - 600001")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rotate(&app, &a, "k-1", "none").await.status, 401);
    assert_eq!(
        whoami(&app, &b).await,
        401,
        "a retired token rotated: family revoked"
    );
    // And the sweep removes expired answers.
    app::maintenance::sweep(&app.state, app::types::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
}

#[tokio::test]
async fn a_sealed_answer_opens_only_in_its_own_row() {
    let (app, a) = setup().await;
    assert_eq!(rotate(&app, &a, "k-1", "1h").await.status, 201);
    // Move the sealed answer to another key of the same token: it does
    // not open there (the row is the associated data), and nothing leaks.
    sqlx::query("UPDATE idempotency_keys SET idem_key = 'k-2'")
        .execute(&app.state.db)
        .await
        .unwrap();
    let moved = rotate(&app, &a, "k-2", "1h").await;
    assert_eq!(moved.status, 409, "{}", moved.body);
    assert!(!moved.body.contains("preq_"), "{}", moved.body);
}
