//! Setup, sign-in, sessions, CSRF, headers and bad input, through the real
//! router over a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL).

mod common;

use app::{
    sessions::{self, SessionPolicy, SessionSecret},
    types::{CurrentUser, Timestamp},
};
use axum::{body::Body, http::Request};
use common::{TestApp, ORIGIN, PASSWORD};

#[tokio::test]
async fn health_probes() {
    let app = TestApp::new().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, "ok");
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "ready");
}

#[tokio::test]
async fn first_run_leads_to_setup_and_setup_happens_once() {
    let app = TestApp::new().await;
    for path in ["/", "/login", "/settings/api-keys"] {
        let res = app.get(path, None).await;
        assert_eq!(res.status, 303, "{path}");
        assert_eq!(res.header("location"), Some("/setup"), "{path}");
    }
    let res = app.get("/setup", None).await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Set up Preqstation"));

    let cookie = app.setup_admin("Admin@Example.com").await;
    let role: String = {
        use sqlx::Row;
        sqlx::query("SELECT role FROM accounts WHERE email = 'admin@example.com'")
            .fetch_one(&app.state.db)
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(role, "admin");

    // The page is gone for everybody, signed in or not.
    for cookie in [None, Some(cookie.as_str())] {
        let res = app.get("/setup", cookie).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.header("location"), Some("/login"));
    }
    // And the server function refuses a second run.
    let res = app
        .call(
            "setup",
            &[
                ("setup_code", "AAAAA-AAAAA-AAAAA-AAAAA"),
                ("email", "evil@example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

#[tokio::test]
async fn setup_validates_each_field() {
    let app = TestApp::new().await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("email", "not-an-email"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "email",
        ),
        (
            &[
                ("email", "a@example.com"),
                ("password", "short"),
                ("confirm", "short"),
            ],
            "password",
        ),
        (
            &[
                ("email", "a@example.com"),
                ("password", "password1"),
                ("confirm", "password1"),
            ],
            "password",
        ),
        (
            &[
                ("email", "a@example.com"),
                ("password", PASSWORD),
                ("confirm", "something else"),
            ],
            "confirm",
        ),
        (
            &[
                ("email", "a@example.com"),
                ("password", &"x".repeat(129)),
                ("confirm", &"x".repeat(129)),
            ],
            "password",
        ),
    ];
    for (form, field) in cases {
        let mut form = form.to_vec();
        form.push(("setup_code", &app.setup_code));
        let res = app.call("setup", &form, None).await;
        assert_eq!(res.status, 422, "{form:?}: {}", res.body);
        let err = res.json();
        assert_eq!(err["Field"]["field"], field, "{form:?}");
        assert!(!err["Field"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_a_fresh_session_each_time() {
    let app = TestApp::new().await;
    app.setup_admin("admin@example.com").await;

    let res = app.login("admin@example.com", PASSWORD).await;
    assert!(res.status.is_success(), "{} {}", res.status, res.body);
    let set = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-session="))
        .expect("cookie set");
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=86400",
    ] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.to_lowercase().contains("domain="));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let first = res.session_cookie().unwrap();

    let second = app
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    assert_ne!(first, second, "every login gets a new session id");

    // The session id itself is not stored, only its hash.
    let value = first.trim_start_matches("__Host-session=");
    let raw = value.split('.').next().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE id_hash = '{raw}' OR public_id = '{raw}'"
        ))
        .await,
        0
    );

    let page = app.get("/", Some(&first)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("admin@example.com"),
        "dashboard shows the account"
    );
}

#[tokio::test]
async fn failed_login_never_reveals_whether_the_email_exists() {
    let app = TestApp::new().await;
    app.setup_admin("admin@example.com").await;
    let wrong_password = app
        .login("admin@example.com", "not the password at all")
        .await;
    let unknown_email = app
        .login("nobody@example.com", "not the password at all")
        .await;
    assert_eq!(wrong_password.status, 422);
    assert_eq!(wrong_password.status, unknown_email.status);
    assert_eq!(wrong_password.body, unknown_email.body);
    assert!(wrong_password.body.contains("Incorrect email or password."));
    assert!(wrong_password.session_cookie().is_none());
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_ip() {
    let app = TestApp::with_config(|c| {
        c.login_max_failures_per_account = 3;
        c.login_max_failures_per_ip = 5;
    })
    .await;
    app.setup_admin("admin@example.com").await;

    // Per account: three failures from three IPs lock the account, even
    // for the right password.
    for i in 0..3u8 {
        let res = app
            .call_from(
                "login",
                &[
                    ("email", "admin@example.com"),
                    ("password", "wrong wrong wrong"),
                ],
                None,
                Some(ORIGIN),
                [10, 0, 0, i],
            )
            .await;
        assert_eq!(res.status, 422);
    }
    let res = app
        .call_from(
            "login",
            &[("email", "admin@example.com"), ("password", PASSWORD)],
            None,
            Some(ORIGIN),
            [10, 0, 1, 1],
        )
        .await;
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.body.contains("Too many failed sign-in attempts"));
    assert!(res.header("retry-after").is_some());
    assert!(res.session_cookie().is_none());

    // The same answer for an email that does not exist.
    for _ in 0..3 {
        app.call_from(
            "login",
            &[
                ("email", "ghost@example.com"),
                ("password", "wrong wrong wrong"),
            ],
            None,
            Some(ORIGIN),
            [10, 0, 2, 1],
        )
        .await;
    }
    let res = app
        .call_from(
            "login",
            &[
                ("email", "ghost@example.com"),
                ("password", "wrong wrong wrong"),
            ],
            None,
            Some(ORIGIN),
            [10, 0, 2, 2],
        )
        .await;
    assert_eq!(res.status, 429);

    // Per IP: one address guessing many accounts is stopped too.
    let ip = [10, 9, 9, 9];
    for i in 0..5 {
        let email = format!("user{i}@example.com");
        app.call_from(
            "login",
            &[("email", &email), ("password", "wrong wrong wrong")],
            None,
            Some(ORIGIN),
            ip,
        )
        .await;
    }
    let res = app
        .call_from(
            "login",
            &[
                ("email", "fresh@example.com"),
                ("password", "wrong wrong wrong"),
            ],
            None,
            Some(ORIGIN),
            ip,
        )
        .await;
    assert_eq!(res.status, 429);
}

#[tokio::test]
async fn logged_out_visitors_go_to_login_and_back() {
    let app = TestApp::new().await;
    app.setup_admin("admin@example.com").await;
    let res = app.get("/settings/sessions", None).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.header("location"),
        Some("/login?next=/settings/sessions")
    );

    let res = app
        .call(
            "login",
            &[
                ("email", "admin@example.com"),
                ("password", PASSWORD),
                ("next", "/settings/sessions"),
            ],
            None,
        )
        .await;
    assert!(res.status.is_success());
    assert_eq!(res.header("location"), Some("/settings/sessions"));

    // No open redirect.
    let res = app
        .call(
            "login",
            &[
                ("email", "admin@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
            None,
        )
        .await;
    assert_eq!(res.header("location"), Some("/"));
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    assert_eq!(app.get("/", Some(&cookie)).await.status, 200);

    let res = app.call("logout", &[], Some(&cookie)).await;
    assert!(res.status.is_success(), "{} {}", res.status, res.body);
    assert_eq!(res.header("clear-site-data"), Some("\"cookies\""));
    assert!(res
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("__Host-session=;") && c.contains("Max-Age=0")));
    assert_eq!(res.header("cache-control"), Some("no-store"));

    // Replaying the old cookie gets the login page.
    let res = app.get("/", Some(&cookie)).await;
    assert_eq!(res.status, 303);
    assert_eq!(res.header("location"), Some("/login"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn forged_truncated_and_garbage_cookies_are_refused_without_errors() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let value = cookie.trim_start_matches("__Host-session=").to_string();
    let (secret, tag) = value.split_once('.').unwrap();
    let mut flipped = secret.to_string();
    flipped.replace_range(0..1, if secret.starts_with('A') { "B" } else { "A" });
    let candidates = [
        format!("__Host-session={flipped}.{tag}"),
        format!("__Host-session={}", &value[..value.len() - 3]),
        format!("__Host-session={secret}"),
        "__Host-session=".to_string(),
        "__Host-session=%%%%;;==".to_string(),
        format!("__Host-session={}", "A".repeat(4000)),
    ];
    for c in candidates {
        let res = app.get("/settings/sessions", Some(&c)).await;
        assert_eq!(res.status, 303, "{c}");
        assert!(res.header("location").unwrap().starts_with("/login"));
        assert!(
            res.set_cookies().iter().any(|s| s.contains("Max-Age=0")),
            "bad cookie is cleared"
        );
    }
    // A cookie signed with another key is refused too.
    let other = app::keys::Keyring::generate().unwrap();
    let forged = SessionSecret::generate().unwrap().to_cookie_value(&other);
    let res = app
        .get("/", Some(&format!("__Host-session={forged}")))
        .await;
    assert_eq!(res.status, 303);
}

#[tokio::test]
async fn sessions_slide_and_end_at_idle_and_absolute_limits() {
    let app = TestApp::new().await;
    app.setup_admin("admin@example.com").await;
    let user: CurrentUser = {
        let a = app::accounts::find_by_email(&app.state.db, "admin@example.com")
            .await
            .unwrap()
            .unwrap();
        CurrentUser {
            id: a.id,
            email: a.email,
            role: a.role,
        }
    };
    let policy = SessionPolicy {
        max_age_secs: 86_400,
        absolute_secs: 7 * 86_400,
    };
    let t0 = Timestamp(1_800_000_000_000);
    let (secret, _) = sessions::create(&app.state.db, &user, None, None, t0, policy)
        .await
        .unwrap();

    // Within the touch interval: valid, not renewed.
    let (_, renewed) = sessions::authenticate(&app.state.db, &secret, t0.plus_secs(30), policy)
        .await
        .unwrap()
        .unwrap();
    assert!(!renewed);
    // Sliding: each use within a day keeps it alive, for six days.
    let mut t = t0;
    for _ in 0..6 {
        t = t.plus_secs(86_000);
        let (s, renewed) = sessions::authenticate(&app.state.db, &secret, t, policy)
            .await
            .unwrap()
            .unwrap();
        assert!(renewed);
        assert!(s.cookie_max_age(t, policy) <= 86_400);
    }
    // Absolute limit: 7 days after creation it ends, however active.
    assert!(
        sessions::authenticate(&app.state.db, &secret, t0.plus_secs(7 * 86_400), policy)
            .await
            .unwrap()
            .is_none()
    );

    // Idle limit: a day without use ends it.
    let (idle, _) = sessions::create(&app.state.db, &user, None, None, t0, policy)
        .await
        .unwrap();
    assert!(
        sessions::authenticate(&app.state.db, &idle, t0.plus_secs(86_399), policy)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        sessions::authenticate(&app.state.db, &idle, t0.plus_secs(86_399 + 86_400), policy)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_active_session_gets_its_cookie_renewed() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    // Pretend the last request was two minutes ago.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 120000")
        .execute(&app.state.db)
        .await
        .unwrap();
    let res = app.get("/", Some(&cookie)).await;
    assert_eq!(res.status, 200);
    let renewed = res.session_cookie().expect("cookie re-sent");
    assert_eq!(renewed, cookie, "same session, same value");
    assert!(res.set_cookies()[0].contains("Max-Age=86"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn cross_origin_and_unattributed_posts_are_refused() {
    let app = TestApp::new().await;
    app.setup_admin("admin@example.com").await;
    let form = [("email", "admin@example.com"), ("password", PASSWORD)];
    // Login CSRF: a foreign origin, no origin at all.
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let res = app
            .call_from("login", &form, None, origin, [127, 0, 0, 1])
            .await;
        assert_eq!(res.status, 403, "{origin:?}");
        assert!(res.session_cookie().is_none());
    }
    // Fetch metadata decides when present.
    for (site, expected) in [
        ("cross-site", 403),
        ("same-site", 403),
        ("same-origin", 200),
    ] {
        let req = Request::post("/rpc/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("sec-fetch-site", site)
            .body(Body::from(common::form_encode(&form)))
            .unwrap();
        assert_eq!(app.send(req).await.status, expected, "{site}");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_per_response_nonce() {
    let app = TestApp::new().await;
    let a = app.get("/setup", None).await;
    let b = app.get("/setup", None).await;
    let csp = a.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("'wasm-unsafe-eval'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert!(!csp.contains("'unsafe-eval'"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        a.body.contains(&format!("nonce=\"{nonce}\"")),
        "inline scripts carry the nonce"
    );
    assert_ne!(
        csp,
        b.header("content-security-policy").unwrap(),
        "a new nonce per response"
    );
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("referrer-policy"), Some("same-origin"));
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert!(
        a.header("strict-transport-security").is_none(),
        "no HSTS on plain http"
    );

    let https = TestApp::with_config(|c| c.public_url = "https://tokens.example.com".into()).await;
    let res = https.get("/healthz", None).await;
    assert!(res
        .header("strict-transport-security")
        .unwrap()
        .contains("max-age="));
}

#[tokio::test]
async fn bad_input_never_yields_a_server_error() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let post = |body: Body, ctype: &str| {
        Request::post("/rpc/login")
            .header("content-type", ctype)
            .header("accept", "application/json")
            .header("origin", ORIGIN)
            .body(body)
            .unwrap()
    };
    // Oversized body: refused up front when declared, and a client error
    // (not a 500) when it only turns out too big while streaming.
    let mut req = post(
        Body::from(vec![b'a'; 200 * 1024]),
        "application/x-www-form-urlencoded",
    );
    req.headers_mut()
        .insert("content-length", (200 * 1024).into());
    assert_eq!(app.send(req).await.status, 413);
    let res = app
        .send(post(
            Body::from(vec![b'a'; 200 * 1024]),
            "application/x-www-form-urlencoded",
        ))
        .await;
    assert!(res.status.is_client_error(), "{}", res.status);
    // Invalid UTF-8, missing fields, junk.
    for body in [
        vec![0xff, 0xfe, 0xfd],
        b"email=a%40b.c".to_vec(),
        b"&&&===".to_vec(),
        b"password=x&password=y".to_vec(),
    ] {
        let res = app
            .send(post(
                Body::from(body.clone()),
                "application/x-www-form-urlencoded",
            ))
            .await;
        assert!(
            res.status.is_client_error(),
            "{body:?}: {} {}",
            res.status,
            res.body
        );
    }
    // Unknown server function and unknown page: 404, not 500.
    let res = app.call("no-such-function", &[], Some(&cookie)).await;
    assert!(res.status.is_client_error(), "{}", res.status);
    let res = app.get("/no/such/page", Some(&cookie)).await;
    assert_eq!(res.status, 404);
    // Odd session-list ids.
    for id in [
        "",
        "not-a-uuid",
        "'; DROP TABLE sessions; --",
        &"9".repeat(5000),
    ] {
        let res = app
            .call("sessions/revoke", &[("id", id)], Some(&cookie))
            .await;
        assert!(res.status.is_client_error(), "{id}: {}", res.status);
    }
    assert_eq!(
        app.get("/", Some(&cookie)).await.status,
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn sessions_page_lists_and_revokes_only_your_own_sessions() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;
    let admin_laptop = app
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let member = common::owner(&app, "member@example.com", false)
        .await
        .cookie;

    let list = app.call("sessions/list", &[], Some(&admin)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let sessions = list.json();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(
        sessions.iter().filter(|s| s["is_current"] == true).count(),
        1
    );
    assert_eq!(sessions[0]["ip"], "127.0.0.1");
    assert!(
        !list
            .body
            .contains(admin.trim_start_matches("__Host-session=")),
        "no secret in the list"
    );

    // The member cannot end the admin's sessions, even knowing the id.
    let target = sessions.iter().find(|s| s["is_current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .call("sessions/revoke", &[("id", &target)], Some(&member))
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(app.get("/", Some(&admin_laptop)).await.status, 200);

    // The admin can.
    let res = app
        .call("sessions/revoke", &[("id", &target)], Some(&admin))
        .await;
    assert!(res.status.is_success());
    assert_eq!(app.get("/", Some(&admin_laptop)).await.status, 303);

    // "Sign out all other sessions" keeps the current one.
    let other = app
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let res = app.call("sessions/revoke-others", &[], Some(&admin)).await;
    assert_eq!(res.json(), 1);
    assert_eq!(app.get("/", Some(&other)).await.status, 303);
    assert_eq!(app.get("/", Some(&admin)).await.status, 200);
    assert_eq!(
        app.get("/", Some(&member)).await.status,
        200,
        "other accounts untouched"
    );

    // Without a session the server functions refuse.
    assert_eq!(app.call("sessions/list", &[], None).await.status, 401);
}

#[tokio::test]
async fn a_disabled_account_loses_its_sessions_and_cannot_sign_in() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    sqlx::query("UPDATE accounts SET disabled_at = 1")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(app.get("/", Some(&cookie)).await.status, 303);
    let res = app.login("admin@example.com", PASSWORD).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("Incorrect email or password."));
}

#[tokio::test]
async fn a_database_outage_is_a_clear_503() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    app.state.db.close().await;
    let res = app.get("/", Some(&cookie)).await;
    assert_eq!(res.status, 503);
    assert!(res.body.contains("temporarily unavailable"));
    assert_eq!(app.get("/readyz", None).await.status, 503);
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let res = app.call("sessions/list", &[], Some(&cookie)).await;
    assert_eq!(res.status, 503);
}

#[tokio::test]
async fn the_overview_shows_counts_and_security_events() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    app.login("admin@example.com", "definitely not it").await;
    let res = app
        .call(
            "tokens/create",
            &[
                ("name", "soon"),
                ("expiry", "7"),
                ("scope_tasks_read", "on"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status, 200);
    app.flush_audit().await;
    let o = app.call("overview", &[], Some(&cookie)).await;
    assert_eq!(o.status, 200, "{}", o.body);
    let o = o.json();
    assert_eq!(o["active_tokens"], 1);
    assert_eq!(o["max_active_tokens"], 5);
    assert_eq!(o["expiring_soon"][0]["name"], "soon");
    assert_eq!(o["recent_security_events"][0]["action"], "login_failed");
    let page = app.get("/", Some(&cookie)).await;
    assert!(page.body.contains("Active API tokens"));
}
