//! The audit log: events written by the actions that cause them, rotation
//! with its grace period and first-use cut-over, the sweep, tamper
//! evidence, concurrent appends, exports, visibility.

mod common;

use app::{
    audit::{chain, NewEvent},
    tokens::service::{self as tokens, AuthFailure, Grace},
    types::{AccountId, Timestamp},
};
use axum::{body::Body, http::Request};
use common::{TestApp, TestResponse, PASSWORD};
use serde_json::json;
use sqlx::Row;

async fn token(
    app: &TestApp,
    cookie: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let mut form = vec![("name", name), ("expiry", "90"), ("scope_tasks_read", "on")];
    form.extend_from_slice(extra);
    let res = app.call("tokens/create", &form, Some(cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    (
        v["token"].as_str().unwrap().to_string(),
        v["view"]["id"].as_str().unwrap().to_string(),
    )
}

async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> TestResponse {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "req-audit-1");
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.unwrap()).await
}

async fn actions(app: &TestApp) -> Vec<String> {
    app.flush_audit().await;
    sqlx::query("SELECT action FROM audit_events ORDER BY seq")
        .fetch_all(&app.state.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("action"))
        .collect()
}

async fn event(app: &TestApp, action: &str) -> sqlx::any::AnyRow {
    app.flush_audit().await;
    sqlx::query("SELECT * FROM audit_events WHERE action = $1 ORDER BY seq DESC LIMIT 1")
        .bind(action)
        .fetch_one(&app.state.db)
        .await
        .unwrap_or_else(|_| panic!("no {action} event"))
}

async fn authenticate_at(
    app: &TestApp,
    token: &str,
    now: Timestamp,
) -> Result<tokens::Authenticated, AuthFailure> {
    tokens::authenticate(
        &app.state.db,
        &app.state.lookups,
        &app.state.config,
        token,
        Some("127.0.0.1"),
        None,
        now,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn each_action_writes_its_event() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;
    app.login("admin@example.com", "not the password at all")
        .await;
    let admin2 = app
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let (t, id) = token(&app, &admin, "agent", &[]).await;
    assert_eq!(
        api(&app, "GET", "/api/auth/whoami", &t, None).await.status,
        200
    );
    api(&app, "GET", "/api/auth/whoami", "preq_nonsense", None).await;
    app.call("tokens/revoke", &[("id", &id)], Some(&admin))
        .await;
    api(&app, "GET", "/api/auth/whoami", &t, None).await;
    let res = app
        .call(
            "tokens/policy/update",
            &[
                ("default_expiry", "30"),
                ("max_lifetime", "none"),
                ("max_active_tokens", "5"),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    app.call(
        "admin/accounts/create",
        &[
            ("email", "m@example.com"),
            ("role", "member"),
            ("password", PASSWORD),
        ],
        Some(&admin),
    )
    .await;
    let list = app.call("admin/accounts", &[], Some(&admin)).await.json();
    let member_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "m@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.call(
        "admin/accounts/invalidate",
        &[("id", &member_id)],
        Some(&admin),
    )
    .await;
    app.call(
        "admin/accounts/disable",
        &[("id", &member_id), ("disabled", "true")],
        Some(&admin),
    )
    .await;
    app.call("sessions/revoke-others", &[], Some(&admin)).await;
    app.call(
        "account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
            ("confirm", "a brand new passphrase"),
        ],
        Some(&admin),
    )
    .await;
    app.call("logout", &[], Some(&admin)).await;
    let _ = admin2;

    let seen = actions(&app).await;
    for expected in [
        "setup_completed",
        "account_created",
        "login_succeeded",
        "login_failed",
        "token_created",
        "token_used",
        "auth_failed",
        "token_revoked",
        "policy_changed",
        "sessions_invalidated",
        "account_disabled",
        "session_revoked",
        "password_changed",
        "logout",
    ] {
        assert!(
            seen.iter().any(|a| a == expected),
            "{expected} missing from {seen:?}"
        );
    }

    let created = event(&app, "token_created").await;
    assert_eq!(created.get::<String, _>("token_prefix"), &t[..12]);
    assert_eq!(created.get::<String, _>("target"), "agent");
    assert_eq!(created.get::<String, _>("actor_kind"), "session");
    assert!(created
        .get::<String, _>("actor")
        .starts_with("admin@example.com (session "));
    assert_eq!(created.get::<String, _>("ip"), "127.0.0.1");

    let used = event(&app, "token_used").await;
    let details: serde_json::Value =
        serde_json::from_str(&used.get::<String, _>("details")).unwrap();
    assert_eq!(details["method"], "GET");
    assert_eq!(details["path"], "/api/auth/whoami");
    assert_eq!(details["status"], 200);
    assert_eq!(used.get::<String, _>("request_id"), "req-audit-1");

    // The last auth_failed is the revoked token, marked as a security event.
    let failed = event(&app, "auth_failed").await;
    let details: serde_json::Value =
        serde_json::from_str(&failed.get::<String, _>("details")).unwrap();
    assert_eq!(details["reason"], "revoked");
    assert_eq!(failed.get::<i64, _>("security"), 1);
    assert_eq!(failed.get::<String, _>("token_prefix"), &t[..12]);
    let login_failed = event(&app, "login_failed").await;
    assert_eq!(login_failed.get::<i64, _>("security"), 1);

    // Password change revoked nothing (the token was already revoked) and
    // the chain is intact.
    assert!(matches!(
        chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
        chain::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn rotation_grace_choices_and_first_use_cut_over() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let owner = AccountId::parse(
        app.call("me", &[], Some(&cookie)).await.json()["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let base = NewEvent::new(
        app::audit::AuditAction::TokenRotated,
        app::audit::ActorKind::Account,
        app::audit::Outcome::Success,
    );
    let t0 = Timestamp::now();
    for (grace, still_ok_after, gone_after) in [
        (Grace::OneHour, 3_000, 3_700),
        (Grace::OneDay, 86_000, 86_500),
        (Grace::SevenDays, 7 * 86_400 - 100, 7 * 86_400 + 100),
    ] {
        let (old, old_id) = token(&app, &cookie, &format!("rot-{}", grace.as_str()), &[]).await;
        let (new, view) = tokens::rotate(
            &app.state.db,
            &app.state.config,
            owner,
            &old_id,
            grace,
            &base,
            t0,
        )
        .await
        .unwrap();
        assert_eq!(view.name, format!("rot-{}", grace.as_str()), "same name");
        assert!(
            authenticate_at(&app, &old, t0.plus_secs(still_ok_after))
                .await
                .is_ok(),
            "{grace:?}: old works in grace"
        );
        assert!(
            matches!(
                authenticate_at(&app, &old, t0.plus_secs(gone_after)).await,
                Err(AuthFailure::Revoked { .. })
            ),
            "{grace:?}: grace ends"
        );
        // The successor's first use ends the grace at once.
        assert!(authenticate_at(&app, new.expose(), t0.plus_secs(10))
            .await
            .is_ok());
        assert!(
            authenticate_at(&app, &old, t0.plus_secs(11)).await.is_err(),
            "{grace:?}: first use cuts over"
        );
        // Rotating the old token again is refused and leaves the successor alone.
        let again = tokens::rotate(
            &app.state.db,
            &app.state.config,
            owner,
            &old_id,
            grace,
            &base,
            t0.plus_secs(20),
        )
        .await;
        assert!(matches!(again, Err(app::fault::Fault::Conflict(_))));
        assert!(authenticate_at(&app, new.expose(), t0.plus_secs(30))
            .await
            .is_ok());
        // Same lifetime from the moment of rotation (90 days).
        assert_eq!(
            view.expires_at.unwrap().millis() - t0.millis(),
            90 * 86_400_000
        );
        // Free the slot for the next round.
        app.call("tokens/revoke", &[("id", &view.id)], Some(&cookie))
            .await;
    }
    let (old, old_id) = token(&app, &cookie, "rot-none", &[]).await;
    tokens::rotate(
        &app.state.db,
        &app.state.config,
        owner,
        &old_id,
        Grace::None,
        &base,
        t0,
    )
    .await
    .unwrap();
    assert!(
        authenticate_at(&app, &old, t0.plus_secs(1)).await.is_err(),
        "no overlap"
    );
}

#[tokio::test]
async fn rotation_counts_once_against_the_cap_and_keeps_policy() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let mut last = String::new();
    for i in 0..5 {
        last = token(&app, &cookie, &format!("t{i}"), &[]).await.1;
    }
    let res = app
        .call(
            "tokens/rotate",
            &[("id", &last), ("grace", "24h")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["view"]["name"], "t4");
    let list = app.call("tokens/list", &[], Some(&cookie)).await.json();
    let old = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == last.as_str())
        .unwrap();
    assert_eq!(old["status"], "active");
    assert_eq!(old["rotated_to"], res.json()["view"]["prefix"]);
    assert!(old["grace_until"].is_i64());
    // A never-expiring token rotates into a 30-day one once policy caps lifetimes at 30 days.
    app.call(
        "tokens/revoke",
        &[("id", list[2]["id"].as_str().unwrap())],
        Some(&cookie),
    )
    .await;
    let res = app
        .call(
            "tokens/create",
            &[
                ("name", "forever"),
                ("expiry", "never"),
                ("scope_tasks_read", "on"),
            ],
            Some(&cookie),
        )
        .await;
    let forever = res.json()["view"]["id"].as_str().unwrap().to_string();
    app.call(
        "tokens/policy/update",
        &[
            ("default_expiry", "30"),
            ("max_lifetime", "30"),
            ("max_active_tokens", "5"),
        ],
        Some(&cookie),
    )
    .await;
    let rotated = app
        .call(
            "tokens/rotate",
            &[("id", &forever), ("grace", "none")],
            Some(&cookie),
        )
        .await
        .json();
    let v = &rotated["view"];
    assert_eq!(
        v["expires_at"].as_i64().unwrap() - v["created_at"].as_i64().unwrap(),
        30 * 86_400_000
    );
}

#[tokio::test]
async fn self_rotation_needs_its_scope_and_is_refused_twice() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let (plain, _) = token(&app, &cookie, "plain", &[]).await;
    let res = api(
        &app,
        "POST",
        "/api/tokens/self/rotate",
        &plain,
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status, 403);
    assert!(res
        .header("www-authenticate")
        .unwrap()
        .contains(r#"scope="tokens:rotate-self""#));

    let (t, _) = token(
        &app,
        &cookie,
        "rotator",
        &[("scope_tokens_rotate_self", "on")],
    )
    .await;
    let res = api(
        &app,
        "POST",
        "/api/tokens/self/rotate",
        &t,
        Some(json!({"grace": "24h"})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let successor = res.json()["token"].as_str().unwrap().to_string();
    assert_eq!(res.json()["name"], "rotator");
    let again = api(&app, "POST", "/api/tokens/self/rotate", &t, Some(json!({}))).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        api(&app, "GET", "/api/tokens/self", &successor, None)
            .await
            .status,
        200,
        "successor untouched"
    );
    // The successor's first use (just now) ended the old one's grace.
    assert_eq!(
        api(&app, "GET", "/api/tokens/self", &t, None).await.status,
        401
    );
    let bad = api(
        &app,
        "POST",
        "/api/tokens/self/rotate",
        &successor,
        Some(json!({"grace": "forever"})),
    )
    .await;
    assert_eq!(bad.status, 422);
    let rotated = event(&app, "token_rotated").await;
    assert_eq!(rotated.get::<String, _>("actor_kind"), "token");
}

#[tokio::test]
async fn the_sweep_writes_expiry_and_grace_end_once() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let (t, id) = token(&app, &cookie, "short", &[]).await;
    sqlx::query(&format!(
        "UPDATE api_tokens SET expires_at = 1000 WHERE id = '{id}'"
    ))
    .execute(&app.state.db)
    .await
    .unwrap();
    let (old, old_id) = token(&app, &cookie, "rotated", &[]).await;
    let r = app
        .call(
            "tokens/rotate",
            &[("id", &old_id), ("grace", "1h")],
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, 200);

    let now = Timestamp::now();
    let first = app::maintenance::sweep(&app.state, now.plus_secs(3_700))
        .await
        .unwrap();
    assert_eq!((first.expired, first.grace_ended), (1, 1));
    let second = app::maintenance::sweep(&app.state, now.plus_secs(3_800))
        .await
        .unwrap();
    assert_eq!((second.expired, second.grace_ended), (0, 0), "written once");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_expired'")
            .await,
        1
    );
    let ended = event(&app, "token_revoked").await;
    assert!(ended
        .get::<String, _>("details")
        .contains("rotation_grace_ended"));
    assert_eq!(ended.get::<String, _>("token_prefix"), &old[..12]);
    // A request with the expired token afterwards is auth_failed, reason expired.
    assert_eq!(
        api(&app, "GET", "/api/auth/whoami", &t, None).await.status,
        401
    );
    let failed = event(&app, "auth_failed").await;
    assert!(failed.get::<String, _>("details").contains("\"expired\""));
}

#[tokio::test]
async fn verify_detects_edited_and_removed_entries() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    for i in 0..4 {
        token(&app, &cookie, &format!("t{i}"), &[]).await;
    }
    let intact = chain::verify(&app.state.db, &app.state.config.keys, 1)
        .await
        .unwrap();
    assert!(
        matches!(intact, chain::Verdict::Intact { entries, .. } if entries >= 7),
        "{intact:?}"
    );

    // The CLI says the same, and fails loudly on tampering.
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_preqstation"))
            .args(["audit", "verify"])
            .env("DATABASE_URL", &app.database_url)
            .env("PREQSTATION_DATA_DIR", app.dir.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit log intact"));

    sqlx::query("UPDATE audit_events SET target = 'innocent' WHERE seq = 4")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
        chain::Verdict::Altered { seq: 4 }
    );
    let out = run();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALTERED: entry seq 4"));

    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    for i in 0..4 {
        token(&app, &cookie, &format!("t{i}"), &[]).await;
    }
    sqlx::query("DELETE FROM audit_events WHERE seq = 5")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert!(matches!(
        chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
        chain::Verdict::Removed { after_seq: 4, .. }
    ));

    // Retention keeps the rest verifiable.
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    token(&app, &cookie, "old", &[]).await;
    let purged = chain::purge_before(
        &app.state.db,
        &app.state.config.keys,
        Timestamp::now().plus_secs(60),
        Timestamp::now(),
    )
    .await
    .unwrap();
    assert!(purged > 0);
    token(&app, &cookie, "new", &[]).await;
    assert!(matches!(
        chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
        chain::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn two_instances_appending_at_once_never_fork_the_chain() {
    let app = TestApp::new().await;
    // Instances of one installation share its keyring.
    let keys = app.state.config.keys.clone();
    let second = TestApp::open(
        app.database_url.clone(),
        tempfile::tempdir().unwrap(),
        |c| c.keys = keys.clone(),
    )
    .await;
    let mut tasks = vec![];
    for (n, db) in [app.state.db.clone(), second.state.db.clone()]
        .into_iter()
        .enumerate()
    {
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let e = NewEvent::new(
                    app::audit::AuditAction::PolicyChanged,
                    app::audit::ActorKind::System,
                    app::audit::Outcome::Success,
                )
                .detail("writer", n)
                .detail("i", i);
                let mut attempt = 0;
                loop {
                    match chain::append_now(&db, &keys, std::slice::from_ref(&e), Timestamp::now())
                        .await
                    {
                        Ok(()) => break,
                        Err(err) if attempt < 20 => {
                            attempt += 1;
                            let _ = err;
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        Err(err) => panic!("append failed: {err}"),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, 50);
    assert_eq!(
        chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
        chain::Verdict::Intact {
            entries: 50,
            first_seq: 1,
            last_seq: 50
        }
    );
}

#[tokio::test]
async fn exports_parse_and_visibility_follows_the_role() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;
    token(&app, &admin, "a,\"quoted\" name", &[]).await;
    app.call(
        "admin/accounts/create",
        &[
            ("email", "m@example.com"),
            ("role", "member"),
            ("password", PASSWORD),
        ],
        Some(&admin),
    )
    .await;
    let member = app
        .login("m@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    token(&app, &member, "member-token", &[]).await;
    app.flush_audit().await;

    let csv_res = app
        .get(
            "/settings/audit-logs/export.csv?action=token_created",
            Some(&member),
        )
        .await;
    assert_eq!(csv_res.status, 200);
    assert!(csv_res
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    let mut reader = csv::Reader::from_reader(csv_res.body.as_bytes());
    assert_eq!(reader.headers().unwrap().get(5), Some("action"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "a member sees only their own events");
    assert_eq!(&rows[0][6], "member-token");

    let all = app
        .get(
            "/settings/audit-logs/export.csv?action=token_created&all_accounts=on",
            Some(&admin),
        )
        .await;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(all.body.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().any(|r| &r[6] == "a,\"quoted\" name"),
        "user text survives as data"
    );
    assert_eq!(
        app.get(
            "/settings/audit-logs/export.csv?all_accounts=on",
            Some(&member)
        )
        .await
        .status,
        403
    );

    let jsonl = app
        .get("/settings/audit-logs/export.jsonl", Some(&admin))
        .await;
    assert_eq!(jsonl.status, 200);
    for line in jsonl.body.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(v["action"].is_string() && v["seq"].is_i64());
    }
    let page = app
        .call(
            "audit/list",
            &[("filter[action]", "token_created")],
            Some(&member),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.json()["entries"].as_array().unwrap().len(), 1);
    let bad = app
        .call(
            "audit/list",
            &[("filter[from]", "yesterday")],
            Some(&member),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        app.get("/settings/audit-logs/export.csv", None)
            .await
            .status,
        303,
        "signed-out visitors go to login"
    );
    // No API route exposes the log.
    let (t, _) = token(&app, &admin, "reader", &[]).await;
    for path in ["/api/audit", "/api/audit-logs", "/api/settings/audit-logs"] {
        assert_eq!(api(&app, "GET", path, &t, None).await.status, 404);
    }
}

#[tokio::test]
async fn use_from_a_new_ip_is_flagged() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let (t, _) = token(&app, &cookie, "roaming", &[]).await;
    let from = |ip: [u8; 4]| {
        let mut req = Request::get("/api/auth/whoami")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                ip, 5000,
            ))));
        req
    };
    app.send(from([10, 0, 0, 1])).await;
    app.send(from([10, 0, 0, 1])).await;
    app.send(from([192, 0, 2, 7])).await;
    app.send(from([10, 0, 0, 1])).await;
    app.flush_audit().await;
    let rows = sqlx::query(
        "SELECT ip, security FROM audit_events WHERE action = 'token_used' ORDER BY seq",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    let flags: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.get("ip"), r.get("security")))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("10.0.0.1".into(), 0),
            ("10.0.0.1".into(), 0),
            ("192.0.2.7".into(), 1),
            ("10.0.0.1".into(), 0)
        ],
        "only the first use from a never-seen IP is a security event"
    );
}
