//! Sign-in hardening: a burst of parallel guesses cannot walk through the
//! throttle, a stranger cannot lock the owner out of their known browser,
//! throttled answers carry the real wait, a password change is throttled and
//! audited, and first-run setup needs the one-time setup code.

mod common;

use common::{owner, TestApp, TestResponse, PASSWORD};

const EMAIL: &str = "owner@example.com";

async fn sign_in(app: &TestApp, password: &str, ip: [u8; 4], cookie: Option<&str>) -> TestResponse {
    app.call_from(
        "login",
        &[("email", EMAIL), ("password", password)],
        cookie,
        Some(common::ORIGIN),
        ip,
    )
    .await
}

/// The `__Host-device` cookie a response set, as a `Cookie` header pair.
fn device_cookie(res: &TestResponse) -> Option<String> {
    res.set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-device="))
        .and_then(|c| c.split(';').next().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_parallel_guesses_gets_at_most_the_limit_evaluated() {
    let app = std::sync::Arc::new(TestApp::new().await);
    owner(&app, EMAIL, true).await;
    let limit = app.state.config.login_max_failures_per_account as usize;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..60u8 {
        // Many IPs, so only the account's limit applies.
        let app = app.clone();
        attempts.spawn(async move {
            sign_in(&app, "wrong password guess", [10, 0, 1, i], None)
                .await
                .status
                .as_u16()
        });
    }
    let statuses: Vec<u16> = attempts.join_all().await;
    let evaluated = statuses.iter().filter(|s| **s == 422).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        evaluated <= limit,
        "{evaluated} evaluated of a limit of {limit}: {statuses:?}"
    );
    assert_eq!(evaluated + throttled, 60, "{statuses:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_failures WHERE key_kind = 'account'")
            .await,
        evaluated as i64
    );
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_of_a_known_device() {
    let app = TestApp::new().await;
    owner(&app, EMAIL, true).await;
    let home = [192, 0, 2, 10];
    let first = sign_in(&app, PASSWORD, home, None).await;
    assert!(first.status.is_success(), "{}", first.body);
    let device = device_cookie(&first).expect("a device cookie on sign-in");
    let set = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-device="))
        .unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set} has {attr}");
    }

    // A stranger exhausts the account's limit from other addresses.
    let limit = app.state.config.login_max_failures_per_account;
    for i in 0..limit {
        let res = sign_in(&app, "guess", [198, 51, 100, i as u8], None).await;
        assert_eq!(res.status, 422);
    }
    let locked = sign_in(&app, PASSWORD, [198, 51, 100, 200], None).await;
    assert_eq!(locked.status, 429, "an unknown client is locked out");
    let wait: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    let window = app.state.config.login_window_secs;
    assert!(
        wait > window - 30 && wait <= window,
        "Retry-After {wait} is the real remaining wait of a {window} s window"
    );

    // The owner's browser still signs in, and its own failures count
    // against the device only.
    let ok = sign_in(&app, PASSWORD, home, Some(&device)).await;
    assert!(ok.status.is_success(), "{}", ok.body);
    let device = device_cookie(&ok).expect("renewed");
    let accounts_before = app
        .count("SELECT COUNT(*) FROM login_failures WHERE key_kind = 'account'")
        .await;
    for _ in 0..limit {
        assert_eq!(sign_in(&app, "typo", home, Some(&device)).await.status, 422);
    }
    assert_eq!(
        sign_in(&app, PASSWORD, home, Some(&device)).await.status,
        429,
        "a device has its own limit"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_failures WHERE key_kind = 'account'")
            .await,
        accounts_before
    );
    // A forged or foreign device cookie is just an unknown client.
    let forged = sign_in(&app, PASSWORD, home, Some("__Host-device=d1.x.y.z")).await;
    assert_eq!(forged.status, 429);
}

#[tokio::test]
async fn a_password_change_is_throttled_and_its_failures_audited() {
    let app = TestApp::new().await;
    let o = owner(&app, EMAIL, true).await;
    let limit = app.state.config.login_max_failures_per_account;
    for _ in 0..limit {
        let res = change_password(&app, &o.cookie, "not my password").await;
        assert_eq!(res.status, 422, "{}", res.body);
    }
    let res = change_password(&app, &o.cookie, PASSWORD).await;
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.header("retry-after").is_some());
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'password_change_failed'")
            .await,
        limit + 1
    );
}

async fn change_password(app: &TestApp, cookie: &str, current: &str) -> TestResponse {
    app.call(
        "account/password",
        &[
            ("current_password", current),
            ("new_password", "an entirely new passphrase"),
            ("confirm", "an entirely new passphrase"),
        ],
        Some(cookie),
    )
    .await
}

#[tokio::test]
async fn the_disable_flag_is_parsed_strictly() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    owner(&app, "member@example.com", false).await;
    let id: String = sqlx::query_scalar("SELECT id FROM accounts WHERE role = 'member'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    for flag in ["yes", "TRUE", "1", ""] {
        let res = app
            .call(
                "admin/accounts/disable",
                &[("id", &id), ("disabled", flag)],
                Some(&admin.cookie),
            )
            .await;
        assert_eq!(res.status, 422, "{flag:?}: {}", res.body);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE disabled_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn setup_needs_the_one_time_code_and_throttles_wrong_ones() {
    let app = TestApp::new().await;
    let code = app.setup_code.clone();
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let chars: Vec<char> = code.chars().filter(|c| *c != '-').collect();
    assert_eq!(chars.len(), 20, "20 characters of 5 bits: 100 bits");
    assert!(chars.iter().all(|c| alphabet.contains(*c)));
    let setup = |code: String| {
        let app = &app;
        async move {
            app.call(
                "setup",
                &[
                    ("setup_code", code.as_str()),
                    ("email", EMAIL),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                None,
            )
            .await
        }
    };
    let missing = setup(String::new()).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["Field"]["field"], "setup_code");
    let limit = app.state.config.login_max_failures_per_account;
    for _ in 0..limit {
        let res = setup("AAAAA-AAAAA-AAAAA-AAAAA".into()).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(res.json()["TooManyRequests"], serde_json::Value::Null);
    }
    let throttled = setup(code.clone()).await;
    assert_eq!(throttled.status, 429, "wrong codes are throttled per IP");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);

    // From another address the right code (typed in lower case) works once.
    let res = app
        .call_from(
            "setup",
            &[
                ("setup_code", &code.to_lowercase()),
                ("email", EMAIL),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            None,
            Some(common::ORIGIN),
            [192, 0, 2, 99],
        )
        .await;
    assert!(res.status.is_success(), "{}", res.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM setup_codes").await, 0);
    let again = app::auth::setup_code::issue(&app.state.db, app::types::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(again, None, "no code once an account exists");
}
