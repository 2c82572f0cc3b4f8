//! The second factor through the real router on a fresh database: TOTP
//! enrolment and sign-in, wrong, expired and replayed codes (also across two
//! instances), code throttling, single-use recovery codes, the policy that
//! forces enrolment, the administrators' reset, and sudo mode on every
//! protected server function called directly, without the page.

mod common;

use app::{second_factor::totp::code_at, types::Timestamp};
use common::{owner, TestApp, TestResponse, PASSWORD};

const ADMIN: &str = "admin@example.com";
const MEMBER: &str = "member@example.com";

/// The authenticator code `steps` 30-second steps from now.
fn code(secret: &str, steps: i64) -> String {
    code_at(
        secret,
        Timestamp(Timestamp::now().millis() + steps * 30_000),
    )
    .unwrap()
}

/// The half-signed-in cookie a login set, as a `Cookie` pair.
fn pending(res: &TestResponse) -> Option<String> {
    res.set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-preq-2fa=") && !c.contains("Max-Age=0"))
        .and_then(|c| c.split(';').next().map(str::to_string))
}

/// Turns the authenticator app on for the session `cookie`: its secret and
/// the recovery codes.
async fn enable_totp(app: &TestApp, cookie: &str) -> (String, Vec<String>) {
    let res = app.call("security/totp/start", &[], Some(cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let secret = res.json()["secret"].as_str().unwrap().to_string();
    assert!(res.json()["qr_svg"]
        .as_str()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    let wrong = app
        .call("security/totp/confirm", &[("code", "000000")], Some(cookie))
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    let res = app
        .call(
            "security/totp/confirm",
            &[("code", &code(&secret, 0))],
            Some(cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let codes: Vec<String> = serde_json::from_value(res.json()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Signs in with the password: the answer sets no session, only the
/// half-signed-in cookie.
async fn password_step(app: &TestApp, email: &str) -> String {
    let res = app.login(email, PASSWORD).await;
    assert!(
        res.status.is_success() || res.status.is_redirection(),
        "{}",
        res.body
    );
    assert!(
        res.session_cookie().is_none(),
        "no session before the second factor"
    );
    assert!(
        !res.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-device=")),
        "no known-device cookie before the second factor"
    );
    pending(&res).expect("the half-signed-in cookie")
}

async fn code_step(app: &TestApp, cookie: &str, code: &str) -> TestResponse {
    app.call("login/code", &[("code", code)], Some(cookie))
        .await
}

#[tokio::test]
async fn totp_sign_in_refuses_wrong_expired_and_replayed_codes() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let (secret, _) = enable_totp(&app, &admin.cookie).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'two_factor_enabled'")
            .await,
        2,
        "in the dashboard and by email"
    );

    let half = password_step(&app, ADMIN).await;
    // The half-signed-in cookie is not a session.
    let res = app.call("tokens/list", &[], Some(&half)).await;
    assert_eq!(res.status, 401, "{}", res.body);
    // The step the enrolment used is spent.
    let res = code_step(&app, &half, &code(&secret, 0)).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("already used"), "{}", res.body);
    let res = code_step(&app, &half, "123456").await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("not right"), "{}", res.body);
    // A later step (within the drift of one) signs in.
    let later = code(&secret, 1);
    let res = code_step(&app, &half, &later).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let session = res.session_cookie().expect("a session after the code");
    assert!(res
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("__Host-device=")));
    assert_eq!(
        app.call("tokens/list", &[], Some(&session)).await.status,
        200
    );
    // The state is used once.
    assert_eq!(code_step(&app, &half, &later).await.status, 401);
    // The same code again, from a new password step: replayed.
    let half = password_step(&app, ADMIN).await;
    let res = code_step(&app, &half, &later).await;
    assert_eq!(res.status, 422, "{}", res.body);
    // Past its 5 minutes the state is gone.
    sqlx::query("UPDATE auth_challenges SET expires_at = 0")
        .execute(&app.state.db)
        .await
        .unwrap();
    let res = code_step(&app, &half, &code(&secret, 2)).await;
    assert_eq!(res.status, 401, "{}", res.body);
    assert!(res.body.contains("expired"), "{}", res.body);
    app.flush_audit().await;
    assert!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'second_factor_failed'")
            .await
            >= 3
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'login_succeeded' \
             AND details LIKE '%\"second_factor\":\"totp\"%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn two_instances_accept_the_same_code_once() {
    let a = TestApp::new().await;
    let admin = owner(&a, ADMIN, true).await;
    let (secret, _) = enable_totp(&a, &admin.cookie).await;
    let keys = a.state.config.keys.clone();
    let b = TestApp::open(
        a.database_url.clone(),
        tempfile::tempdir().unwrap(),
        move |c| c.keys = keys,
    )
    .await;
    let first = password_step(&a, ADMIN).await;
    let second = password_step(&b, ADMIN).await;
    let c = code(&secret, 1);
    let (r1, r2) = tokio::join!(code_step(&a, &first, &c), code_step(&b, &second, &c));
    let mut statuses = [r1.status.as_u16(), r2.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 422], "{} / {}", r1.body, r2.body);
}

#[tokio::test]
async fn code_attempts_are_throttled_like_passwords() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let (secret, _) = enable_totp(&app, &admin.cookie).await;
    let limit = app.state.config.login_max_failures_per_account;
    let half = password_step(&app, ADMIN).await;
    for _ in 0..limit {
        assert_eq!(code_step(&app, &half, "000000").await.status, 422);
    }
    let res = code_step(&app, &half, &code(&secret, 1)).await;
    assert_eq!(
        res.status, 429,
        "the right code is not even checked: {}",
        res.body
    );
    assert!(res.header("retry-after").is_some());
    // The password cannot start over: the account's budget is spent.
    assert_eq!(app.login(ADMIN, PASSWORD).await.status, 429);
}

#[tokio::test]
async fn recovery_codes_work_once_and_notify() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let (_, codes) = enable_totp(&app, &admin.cookie).await;
    let half = password_step(&app, ADMIN).await;
    let res = code_step(&app, &half, &codes[3].to_uppercase()).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let half = password_step(&app, ADMIN).await;
    let res = code_step(&app, &half, &codes[3]).await;
    assert_eq!(res.status, 422, "used once: {}", res.body);
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'recovery_code_used'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'recovery_code_used' AND channel = 'in_app'")
            .await,
        1
    );
    let status = app.call("security/status", &[], Some(&admin.cookie)).await;
    assert_eq!(status.json()["recovery_left"], 9);
    // Regenerating replaces all: an old unused code no longer works.
    let res = app
        .call("security/recovery/regenerate", &[], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let half = password_step(&app, ADMIN).await;
    assert_eq!(code_step(&app, &half, &codes[5]).await.status, 422);
}

#[tokio::test]
async fn the_policy_sends_accounts_to_enrolment_and_their_keys_keep_working() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let member = owner(&app, MEMBER, false).await;
    let token = common::token_with(&app, &member, "agent", &["scope_tasks_read"], "30").await;
    enable_totp(&app, &admin.cookie).await;
    let res = app
        .call(
            "admin/security-policy/update",
            &[("require_two_factor", "on")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let page = app.get("/settings/api-keys", Some(&member.cookie)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.header("location"),
        Some("/settings/security?required=1")
    );
    assert_eq!(
        app.get("/settings/security", Some(&member.cookie))
            .await
            .status,
        200
    );
    let res = app.call("tokens/list", &[], Some(&member.cookie)).await;
    assert_eq!(res.status, 403, "{}", res.body);
    let res = common::api(&app, "GET", "/api/auth/whoami", Some(&token), None).await;
    assert_eq!(res.status, 200, "API keys keep working: {}", res.body);
    // Enrolling lets the account in, and it cannot be turned off.
    let (secret, codes) = enable_totp(&app, &member.cookie).await;
    assert_eq!(
        app.call("tokens/list", &[], Some(&member.cookie))
            .await
            .status,
        200
    );
    let res = app
        .call(
            "security/disable",
            &[("current_password", PASSWORD), ("code", &codes[0])],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    let _ = secret;
}

#[tokio::test]
async fn an_admin_reset_is_audited_and_notified() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let member = owner(&app, MEMBER, false).await;
    enable_totp(&app, &member.cookie).await;
    let id: String = sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
        .bind(MEMBER)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let res = app
        .call(
            "admin/accounts/reset-two-factor",
            &[("id", &id)],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 403, "members cannot: {}", res.body);
    let res = app
        .call(
            "admin/accounts/reset-two-factor",
            &[("id", &id)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'two_factor_reset'")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM notifications WHERE kind = 'two_factor_disabled' \
             AND account_id = '{id}' AND channel = 'in_app'"
        ))
        .await,
        1
    );
    // The password alone signs in again.
    let res = app.login(MEMBER, PASSWORD).await;
    assert!(res.session_cookie().is_some(), "{}", res.body);
}

#[tokio::test]
async fn turning_off_needs_the_password_and_a_code() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let (secret, _) = enable_totp(&app, &admin.cookie).await;
    let res = app
        .call(
            "security/disable",
            &[
                ("current_password", "wrong password!"),
                ("code", &code(&secret, 1)),
            ],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("current_password"), "{}", res.body);
    let res = app
        .call(
            "security/disable",
            &[("current_password", PASSWORD), ("code", "999999")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    let res = app
        .call(
            "security/disable",
            &[("current_password", PASSWORD), ("code", &code(&secret, 1))],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(app.login(ADMIN, PASSWORD).await.session_cookie().is_some());
}

#[tokio::test]
async fn passkeys_need_a_domain() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    let res = app.call("security/status", &[], Some(&admin.cookie)).await;
    assert!(res.json()["passkeys_unavailable"]
        .as_str()
        .unwrap()
        .contains("IP address"));
    let res = app
        .call("security/passkeys/start", &[], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    // Reached by a name: passkeys are offered, for that relying party.
    const LOCAL: &str = "http://localhost:3000";
    let app = TestApp::with_config(|c| c.public_url = LOCAL.into()).await;
    let call =
        |endpoint: &'static str, form: Vec<(&'static str, String)>, cookie: Option<String>| {
            let app = &app;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call_from(
                    endpoint,
                    &form,
                    cookie.as_deref(),
                    Some(LOCAL),
                    [127, 0, 0, 1],
                )
                .await
            }
        };
    let res = call(
        "setup",
        vec![
            ("setup_code", app.setup_code.clone()),
            ("email", ADMIN.into()),
            ("password", PASSWORD.into()),
            ("confirm", PASSWORD.into()),
        ],
        None,
    )
    .await;
    let cookie = res.session_cookie().expect("signed in");
    let res = call("security/status", vec![], Some(cookie.clone())).await;
    assert!(res.json()["passkeys_unavailable"].is_null(), "{}", res.body);
    let res = call("security/passkeys/start", vec![], Some(cookie.clone())).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let options: serde_json::Value = serde_json::from_str(res.json().as_str().unwrap()).unwrap();
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    // A made-up answer is refused by the field, and the ceremony is used up.
    let res = call(
        "security/passkeys/finish",
        vec![
            ("passkey_name", "Laptop".into()),
            ("credential", "{}".into()),
        ],
        Some(cookie),
    )
    .await;
    assert_eq!(res.status, 422, "{}", res.body);
}

/// Every protected server function, with arguments it would accept.
const PROTECTED: &[(&str, &[(&str, &str)])] = &[
    (
        "tokens/create",
        &[("name", "n"), ("expiry", "30"), ("scope_tasks_read", "on")],
    ),
    ("tokens/rotate", &[("id", "x"), ("grace", "0")]),
    (
        "tokens/policy/update",
        &[
            ("default_expiry", "90"),
            ("max_lifetime", "never"),
            ("max_active_tokens", "5"),
        ],
    ),
    ("tokens/allowlist", &[("id", "x"), ("allowed_ips", "")]),
    ("tokens/projects", &[("id", "x")]),
    ("tokens/usage-limit", &[("id", "x")]),
    (
        "admin/accounts/create",
        &[
            ("email", "n@example.com"),
            ("role", "member"),
            ("password", PASSWORD),
        ],
    ),
    (
        "admin/accounts/disable",
        &[("id", "x"), ("disabled", "true")],
    ),
    ("admin/accounts/invalidate", &[("id", "x")]),
    (
        "admin/credentials/revoke",
        &[("kind", "api_key"), ("id", "x")],
    ),
    ("admin/security-policy/update", &[]),
    ("admin/accounts/reset-two-factor", &[("id", "x")]),
    ("security/totp/start", &[]),
    ("security/totp/confirm", &[("code", "123456")]),
    (
        "security/disable",
        &[("current_password", PASSWORD), ("code", "123456")],
    ),
    ("security/recovery/regenerate", &[]),
    ("security/passkeys/start", &[]),
    (
        "security/passkeys/finish",
        &[("passkey_name", "k"), ("credential", "{}")],
    ),
    ("security/passkeys/remove", &[("id", "x")]),
];

#[tokio::test]
async fn sudo_mode_expires_on_every_protected_function() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    // Fresh from signing in: in sudo mode.
    let res = app
        .call(
            "tokens/create",
            &[("name", "a"), ("expiry", "30"), ("scope_tasks_read", "on")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // Fifteen minutes later (the session row's time moved back).
    sqlx::query("UPDATE sessions SET sudo_at = sudo_at - 901000")
        .execute(&app.state.db)
        .await
        .unwrap();
    for (endpoint, form) in PROTECTED {
        let res = app.call(endpoint, form, Some(&admin.cookie)).await;
        assert_eq!(res.status, 403, "{endpoint}: {}", res.body);
        assert!(
            res.body.contains("SudoRequired"),
            "{endpoint}: {}",
            res.body
        );
    }
    // Approving a connected app: the decision goes back to the consent page.
    let res = app
        .send(
            axum::http::Request::post("/oauth/decision")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", common::ORIGIN)
                .header("cookie", &admin.cookie)
                .body(axum::body::Body::from(
                    "request=abc&decision=allow&scope=tasks%3Aread",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        res.header("location"),
        Some("/oauth/consent?request=abc&sudo=1")
    );
    // Reading is not sensitive.
    assert_eq!(
        app.call("tokens/list", &[], Some(&admin.cookie))
            .await
            .status,
        200
    );
    // A wrong password does not confirm; the right one does.
    let res = app
        .call(
            "auth/sudo",
            &[("sudo_proof", "not my password")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("sudo_proof"), "{}", res.body);
    let res = app
        .call(
            "auth/sudo",
            &[("sudo_proof", PASSWORD)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .call(
            "tokens/create",
            &[("name", "b"), ("expiry", "30"), ("scope_tasks_read", "on")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // An authenticator code confirms as well.
    let (secret, _) = enable_totp(&app, &admin.cookie).await;
    sqlx::query("UPDATE sessions SET sudo_at = sudo_at - 901000")
        .execute(&app.state.db)
        .await
        .unwrap();
    let res = app
        .call(
            "auth/sudo",
            &[("sudo_proof", &code(&secret, 1))],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sudo_confirmed'")
            .await,
        2
    );
}

#[tokio::test]
async fn the_server_command_line_resets_a_locked_out_admin() {
    let app = TestApp::new().await;
    let admin = owner(&app, ADMIN, true).await;
    enable_totp(&app, &admin.cookie).await;
    let out = common::binary::command(
        &app,
        &["accounts", "reset-two-factor", "nobody@example.com"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::binary::command(&app, &["accounts", "reset-two-factor", ADMIN]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(app.login(ADMIN, PASSWORD).await.session_cookie().is_some());
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'two_factor_reset' AND actor_kind = 'cli'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'two_factor_disabled' AND channel = 'in_app'")
            .await,
        1
    );
}
