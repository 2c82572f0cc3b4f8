//! Notifications through the real router over a fresh database (both
//! databases): each event writes exactly one row per enabled channel, also
//! with two instances sweeping at once; preferences are honoured and
//! security events always reach the dashboard; the list marks what it shows
//! read and only its owner's; no notification holds a secret; the outbox
//! stays bounded (a burst of 10,000 expiring tokens, the 90-day sweep).

mod common;

use app::{
    notifications::{expiry, outbox},
    types::Timestamp,
};
use common::{owner, token_with, whoami_from, TestApp, PASSWORD};

const DAY: i64 = 86_400;

async fn rows(app: &TestApp, kind: &str, channel: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM notifications WHERE kind = '{kind}' AND channel = '{channel}'"
    ))
    .await
}

async fn token_id(app: &TestApp, name: &str) -> String {
    sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
        .bind(name)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

async fn second_instance(app: &TestApp) -> TestApp {
    let keys = app.state.config.keys.clone();
    TestApp::open(
        app.database_url.clone(),
        tempfile::tempdir().unwrap(),
        |c| c.keys = keys.clone(),
    )
    .await
}

#[tokio::test]
async fn expiry_warnings_come_once_each_even_from_two_instances_sweeping_at_once() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(&app, &o, "deploy", &["scope_tasks_read"], "30").await;
    let second = second_instance(&app).await;
    let start = Timestamp::now();
    for (days, kind, in_app) in [
        (24, "token_expiring", 1),
        (24, "token_expiring", 1),
        (29, "token_expiring", 2),
        (31, "token_expired", 1),
        (31, "token_expired", 1),
    ] {
        let at = start.plus_secs(days * DAY + 3600);
        let (a, b) = tokio::join!(
            app::maintenance::sweep(&app.state, at),
            app::maintenance::sweep(&second.state, at)
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(
            rows(&app, kind, "in_app").await,
            in_app,
            "day {days}: {kind}"
        );
        assert_eq!(
            rows(&app, kind, "email").await,
            in_app,
            "day {days}: {kind}"
        );
    }
    // Email is not configured here: the sweep marked the email rows skipped.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND state <> 'skipped'"
        )
        .await,
        0
    );
    // The sweep ended the session (a month passed): sign in again and read.
    let cookie = app
        .login("owner@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    // (Three warnings, and this sign-in from a browser without a device
    // cookie.)
    let unread = app.call("notifications/unread", &[], Some(&cookie)).await;
    assert_eq!(unread.body, "4", "{}", unread.body);
    let page = app.call("notifications/open", &[], Some(&cookie)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = page.json();
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] != "new_device_sign_in")
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 3, "{page}");
    assert!(
        titles[0].contains("“deploy”") && titles[0].ends_with("expired"),
        "{titles:?}"
    );
    assert!(titles[1].ends_with("expires within a day"), "{titles:?}");
    assert!(titles[2].ends_with("expires in 6 days"), "{titles:?}");
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "token_expiring")
        .unwrap();
    assert_eq!(item["was_read"], false);
    assert!(item["link"][0]
        .as_str()
        .unwrap()
        .starts_with("/settings/api-keys/"));
    // Opening the list marked them read.
    assert_eq!(page["unread"], 0);
    let unread = app.call("notifications/unread", &[], Some(&cookie)).await;
    assert_eq!(unread.body, "0");
}

#[tokio::test]
async fn a_token_with_less_than_a_week_left_is_warned_at_once_with_the_days_it_has() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(&app, &o, "short", &["scope_tasks_read"], "7").await;
    let now = Timestamp::now();
    assert_eq!(
        expiry::warn_due(&app.state.db, now.plus_secs(2 * DAY))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        expiry::warn_due(&app.state.db, now.plus_secs(2 * DAY))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        expiry::warn_due(&app.state.db, now.plus_secs(6 * DAY + 3600))
            .await
            .unwrap(),
        1
    );
    assert_eq!(rows(&app, "token_expiring", "in_app").await, 2);
    let page = app
        .call("notifications/open", &[], Some(&o.cookie))
        .await
        .json();
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(titles[0].ends_with("expires within a day"), "{titles:?}");
    assert!(titles[1].ends_with("expires in 5 days"), "{titles:?}");
}

#[tokio::test]
async fn a_new_ip_is_news_once_and_preferences_are_honoured() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    // The first IP is not news; a second is, once.
    for ip in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.2",
        "198.51.100.1",
    ] {
        assert_eq!(whoami_from(&app, &token, ip).await.status, 200);
    }
    assert_eq!(rows(&app, "token_new_ip", "in_app").await, 1);
    assert_eq!(rows(&app, "token_new_ip", "email").await, 1);
    let details: String = sqlx::query_scalar(
        "SELECT details FROM notifications WHERE kind = 'token_new_ip' AND channel = 'in_app'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(
        details.contains("198.51.100.2") && details.contains("agent"),
        "{details}"
    );
    // Never the secret, anywhere in the table.
    let all: Vec<String> = sqlx::query_scalar("SELECT details FROM notifications")
        .fetch_all(&app.state.db)
        .await
        .unwrap();
    let secret_part = &token[token.len() - 20..];
    assert!(all.iter().all(|d| !d.contains(secret_part)));

    // Email off for new IPs: the next one is in the dashboard only.
    let off = app
        .call(
            "notifications/preference",
            &[
                ("kind", "token_new_ip"),
                ("channel", "email"),
                ("enabled", "false"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(whoami_from(&app, &token, "198.51.100.3").await.status, 200);
    assert_eq!(rows(&app, "token_new_ip", "in_app").await, 2);
    assert_eq!(rows(&app, "token_new_ip", "email").await, 1);
    // A security event cannot be switched off in the dashboard...
    let refused = app
        .call(
            "notifications/preference",
            &[
                ("kind", "token_new_ip"),
                ("channel", "in_app"),
                ("enabled", "false"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("choice"), "{}", refused.body);
    assert_eq!(whoami_from(&app, &token, "198.51.100.4").await.status, 200);
    assert_eq!(rows(&app, "token_new_ip", "in_app").await, 3);
    // ... a non-security one can: no expiry notice in the dashboard.
    let off = app
        .call(
            "notifications/preference",
            &[
                ("kind", "token_expired"),
                ("channel", "in_app"),
                ("enabled", "false"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    app::maintenance::sweep(&app.state, Timestamp::now().plus_secs(31 * DAY))
        .await
        .unwrap();
    assert_eq!(rows(&app, "token_expired", "in_app").await, 0);
    assert_eq!(rows(&app, "token_expired", "email").await, 1);
    // The settings page's data says so, and that email is off here.
    let cookie = app
        .login("owner@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let settings = app
        .call("notifications/settings", &[], Some(&cookie))
        .await
        .json();
    assert_eq!(settings["email_configured"], false);
    let row = |kind: &str| {
        settings["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("token_new_ip")["email"], false);
    assert_eq!(row("token_new_ip")["in_app"], true);
    assert_eq!(row("token_expired")["in_app"], false);
    assert_eq!(row("token_expiring")["email"], true);
    // Unknown values are refused by the field.
    let bad = app
        .call(
            "notifications/preference",
            &[("kind", "nope"), ("channel", "email"), ("enabled", "false")],
            Some(&cookie),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("kind"), "{}", bad.body);
    app.flush_audit().await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'notification_settings_changed'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn account_and_admin_events_reach_the_right_people_once() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    // A member the admin creates: the admin is told (admins' event type).
    let created = app
        .call(
            "admin/accounts/create",
            &[
                ("email", "member@example.com"),
                ("role", "member"),
                ("password", PASSWORD),
            ],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(rows(&app, "account_created", "in_app").await, 1);
    let member_id: String =
        sqlx::query_scalar("SELECT id FROM accounts WHERE email = 'member@example.com'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    // A sign-in from a browser without the member's device cookie is news;
    // with it, it is not.
    let first = app.login("member@example.com", PASSWORD).await;
    let cookie = first.session_cookie().unwrap();
    assert_eq!(rows(&app, "new_device_sign_in", "in_app").await, 1);
    let device = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-device="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap();
    let again = app
        .call(
            "login",
            &[("email", "member@example.com"), ("password", PASSWORD)],
            Some(&device),
        )
        .await;
    assert!(again.status.is_success(), "{}", again.body);
    assert_eq!(rows(&app, "new_device_sign_in", "in_app").await, 1);

    // The admin revokes the member's token: the member is told, once.
    let member = common::Owner { cookie };
    token_with(&app, &member, "m-agent", &["scope_tasks_read"], "30").await;
    let id = token_id(&app, "m-agent").await;
    let revoked = app
        .call(
            "admin/credentials/revoke",
            &[("kind", "api_key"), ("id", &id)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let to_member = format!(
        "SELECT COUNT(*) FROM notifications WHERE kind = 'credential_revoked' AND channel = 'in_app' AND account_id = '{member_id}'"
    );
    assert_eq!(app.count(&to_member).await, 1);
    // The owner revoking their own token is not news to them.
    token_with(&app, &member, "m-two", &["scope_tasks_read"], "30").await;
    let id2 = token_id(&app, "m-two").await;
    let res = app
        .call("tokens/revoke", &[("id", &id2)], Some(&member.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.count(&to_member).await, 1);

    // The member changes their password: told (it ends their other sessions).
    let changed = app
        .call(
            "account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a much longer new passphrase"),
                ("confirm", "a much longer new passphrase"),
            ],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(rows(&app, "password_changed", "in_app").await, 1);

    // The admin ends the member's sessions, then disables the account:
    // the member is told each, the admin (whose trail records it) is not.
    for (endpoint, form, kind) in [
        (
            "admin/accounts/invalidate",
            vec![("id", member_id.as_str())],
            "sessions_invalidated",
        ),
        (
            "admin/accounts/disable",
            vec![("id", member_id.as_str()), ("disabled", "true")],
            "account_disabled",
        ),
    ] {
        let res = app.call(endpoint, &form, Some(&admin.cookie)).await;
        assert_eq!(res.status, 200, "{endpoint}: {}", res.body);
        let q = format!(
            "SELECT COUNT(*) FROM notifications WHERE kind = '{kind}' AND channel = 'in_app' AND account_id = '{member_id}'"
        );
        assert_eq!(app.count(&q).await, 1, "{kind}");
        assert_eq!(rows(&app, kind, "in_app").await, 1, "{kind}");
    }
    // Nobody marks another account's notification read.
    let theirs: String = sqlx::query_scalar(&format!(
        "SELECT id FROM notifications WHERE account_id = '{member_id}' AND channel = 'in_app' LIMIT 1"
    ))
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    let res = app
        .call(
            "notifications/read",
            &[("id", &theirs)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    let all = app
        .call("notifications/read-all", &[], Some(&admin.cookie))
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM notifications WHERE account_id = '{member_id}' AND read_at IS NOT NULL"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_reused_refresh_token_is_reported_once_per_grant() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client, code) = common::oauth::code(&app, &o).await;
    let issued = common::oauth::exchange(&app, &client, &code, common::oauth::VERIFIER).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let refresh = issued.json()["refresh_token"].as_str().unwrap().to_string();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", client.as_str()),
    ];
    let first = common::oauth::post_form(&app, "/oauth/token", &form).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // Past the leeway a second use is reuse; a third adds nothing.
    sqlx::query("UPDATE oauth_tokens SET replay_until = replay_until - 31000 WHERE replay_until IS NOT NULL")
        .execute(&app.state.db)
        .await
        .unwrap();
    for _ in 0..2 {
        let again = common::oauth::post_form(&app, "/oauth/token", &form).await;
        assert_eq!(again.status, 400, "{}", again.body);
    }
    assert_eq!(rows(&app, "reuse_detected", "in_app").await, 1);
}

#[tokio::test]
async fn a_burst_of_ten_thousand_expiring_tokens_is_warned_once_each() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(&app, &o, "seed", &["scope_tasks_read"], "30").await;
    let account: String = sqlx::query_scalar("SELECT account_id FROM api_tokens LIMIT 1")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let now = Timestamp::now();
    // 10,000 tokens made a month ago, all expiring in three days.
    let mut tx = app.state.db.begin().await.unwrap();
    for i in 0..10_000 {
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, prefix, token_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, 'tasks:read', $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&account)
        .bind(format!("bulk-{i}"))
        .bind(format!("preq_{i:08}"))
        .bind(format!("{i:064}"))
        .bind(now.plus_secs(-30 * DAY).millis())
        .bind(now.plus_secs(3 * DAY).millis())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut sweeps = 0;
    while expiry::warn_due(&app.state.db, now).await.unwrap() > 0 {
        sweeps += 1;
        assert!(sweeps <= 10, "the warnings never finish");
    }
    assert_eq!(rows(&app, "token_expiring", "in_app").await, 10_000);
    assert_eq!(rows(&app, "token_expiring", "email").await, 10_000);
    assert_eq!(expiry::warn_due(&app.state.db, now).await.unwrap(), 0);

    // The 90-day sweep deletes them; an interrupted send becomes failed.
    sqlx::query(
        "UPDATE notifications SET state = 'sending', next_attempt_at = $1 \
         WHERE id = (SELECT MIN(id) FROM notifications WHERE channel = 'email')",
    )
    .bind(now.plus_secs(-3600).millis())
    .execute(&app.state.db)
    .await
    .unwrap();
    let swept = outbox::sweep(&app.state.db, true, now).await.unwrap();
    assert_eq!(swept.interrupted, 1);
    assert_eq!(swept.skipped, 0);
    let swept = outbox::sweep(&app.state.db, true, now.plus_secs(91 * DAY))
        .await
        .unwrap();
    assert_eq!(swept.deleted, 20_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM notifications").await, 0);
}
