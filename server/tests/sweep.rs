//! Nothing grows forever: the sweep deletes ended sessions, idempotency keys
//! past their 24 hours and the seen-IP rows of tokens that stopped working a
//! day ago, and leaves everything still in use alone.

mod common;

use app::types::Timestamp;
use common::{api, owner, token_with, TestApp, PASSWORD};

async fn whoami(app: &TestApp, token: &str) -> u16 {
    api(app, "GET", "/api/auth/whoami", Some(token), None)
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn the_sweep_removes_what_can_never_be_used_and_nothing_else() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    // Sessions: the owner's (in use), one signed out, one idle past Max-Age.
    let signed_out = app
        .login("owner@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    assert!(app
        .call("logout", &[], Some(&signed_out))
        .await
        .status
        .is_success());
    let idle = app
        .login("owner@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let day_ms = 86_400_000;
    // The newest session is the idle one: age it past the idle timeout.
    sqlx::query(&format!(
        "UPDATE sessions SET last_seen_at = last_seen_at - {} WHERE created_at = (SELECT MAX(created_at) FROM sessions)",
        2 * day_ms
    ))
    .execute(&app.state.db)
    .await
    .unwrap();

    // Tokens: one still working, one revoked two days ago; both used once.
    let live = token_with(&app, &o, "live", &["scope_tasks_read"], "30").await;
    let gone = token_with(&app, &o, "gone", &["scope_tasks_read"], "30").await;
    assert_eq!(whoami(&app, &live).await, 200);
    assert_eq!(whoami(&app, &gone).await, 200);
    sqlx::query(&format!(
        "UPDATE api_tokens SET revoked_at = {}, revoked_by = account_id WHERE name = 'gone'",
        Timestamp::now().millis() - 2 * day_ms
    ))
    .execute(&app.state.db)
    .await
    .unwrap();

    // Idempotency keys: one from two days ago (its token long gone), one fresh.
    for (key, age) in [("old", 2 * day_ms), ("fresh", 0)] {
        sqlx::query(
            "INSERT INTO idempotency_keys (token_id, idem_key, request_hash, status, body, created_at, expires_at) \
             VALUES ('no-such-token', $1, 'h', 201, '{}', $2, $3)",
        )
        .bind(key)
        .bind(Timestamp::now().millis() - age)
        .bind(Timestamp::now().millis() - age + day_ms)
        .execute(&app.state.db)
        .await
        .unwrap();
    }

    let before_sessions = app.count("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(before_sessions, 3);
    let swept = app::maintenance::sweep(&app.state, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(swept.sessions, 2, "the signed-out and the idle session");
    assert_eq!(swept.idempotency_keys, 1);
    assert_eq!(swept.token_ips, 1, "the revoked token's seen IP");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(
        app.get("/", Some(&o.cookie)).await.status,
        200,
        "the session in use stays"
    );
    assert_eq!(app.get("/", Some(&idle)).await.status, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'fresh'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM token_ips").await,
        1,
        "the live token's row stays"
    );
    assert_eq!(whoami(&app, &live).await, 200);

    // A second sweep finds nothing more.
    let again = app::maintenance::sweep(&app.state, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        (again.sessions, again.idempotency_keys, again.token_ips),
        (0, 0, 0)
    );
}
