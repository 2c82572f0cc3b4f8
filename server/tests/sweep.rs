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

    // Tokens: one still working, one revoked before the audit retention
    // (365 days) began; both used once. (A token revoked since keeps its
    // IPs for its page, as long as the log keeps its calls.)
    let live = token_with(&app, &o, "live", &["scope_tasks_read"], "30").await;
    let gone = token_with(&app, &o, "gone", &["scope_tasks_read"], "30").await;
    assert_eq!(whoami(&app, &live).await, 200);
    assert_eq!(whoami(&app, &gone).await, 200);
    sqlx::query(&format!(
        "UPDATE api_tokens SET revoked_at = {}, revoked_by = account_id WHERE name = 'gone'",
        Timestamp::now().millis() - 400 * day_ms
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

    // The calls' audit entries (and their per-IP counts) are written first.
    app.flush_audit().await;
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

#[tokio::test]
async fn the_dormant_token_policy_revokes_only_tokens_unused_that_long() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let day_ms: i64 = 86_400_000;
    let idle = token_with(&app, &o, "idle", &["scope_tasks_read"], "365").await;
    let busy = token_with(&app, &o, "busy", &["scope_tasks_read"], "365").await;
    let fresh = token_with(&app, &o, "fresh", &["scope_tasks_read"], "365").await;
    // "idle" was created 40 days ago and never used; "busy" too, but used today.
    sqlx::query(&format!(
        "UPDATE api_tokens SET created_at = created_at - {} WHERE name IN ('idle', 'busy')",
        40 * day_ms
    ))
    .execute(&app.state.db)
    .await
    .unwrap();
    assert_eq!(whoami(&app, &busy).await, 200);

    // Off by default: nothing happens.
    let swept = app::maintenance::sweep(&app.state, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(swept.dormant, 0);
    assert_eq!(whoami(&app, &idle).await, 200);
    // That call was a use: age it again.
    sqlx::query(&format!(
        "UPDATE api_tokens SET last_used_at = last_used_at - {} WHERE name = 'idle'",
        40 * day_ms
    ))
    .execute(&app.state.db)
    .await
    .unwrap();

    // An admin turns the policy on (30 days); a bad value is refused by the field.
    let form = |days: &'static str| {
        vec![
            ("default_expiry", "90"),
            ("max_lifetime", "none"),
            ("max_active_tokens", "5"),
            ("revoke_unused_after", days),
        ]
    };
    let res = app
        .call("tokens/policy/update", &form("45"), Some(&o.cookie))
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(res.json()["Field"]["field"], "revoke_unused_after");
    let res = app
        .call("tokens/policy/update", &form("30"), Some(&o.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let swept = app::maintenance::sweep(&app.state, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(swept.dormant, 1);
    let res = api(&app, "GET", "/api/auth/whoami", Some(&idle), None).await;
    assert_eq!(res.status, 401, "{}", res.body);
    assert_eq!(whoami(&app, &busy).await, 200);
    assert_eq!(whoami(&app, &fresh).await, 200);
    let reason: String =
        sqlx::query_scalar("SELECT revoked_reason FROM api_tokens WHERE name = 'idle'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(reason, "dormant");
    app.flush_audit().await;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'token_revoked' AND actor_kind = 'system' \
         AND details LIKE '%dormant%'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(n, 1);
    // A second sweep finds nothing more.
    let again = app::maintenance::sweep(&app.state, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(again.dormant, 0);
}
