//! Password change and account administration through the real router.

mod common;

use axum::{body::Body, http::Request};
use common::{TestApp, PASSWORD};

const NEW_PASSWORD: &str = "an entirely different passphrase";

async fn token(app: &TestApp, cookie: &str, name: &str) -> String {
    let res = app
        .call(
            "tokens/create",
            &[("name", name), ("expiry", "30"), ("scope_tasks_read", "on")],
            Some(cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["token"].as_str().unwrap().to_string()
}

async fn whoami(app: &TestApp, token: &str) -> u16 {
    let req = Request::get("/api/auth/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.send(req).await.status.as_u16()
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_revokes_tokens() {
    let app = TestApp::new().await;
    let here = app.setup_admin("admin@example.com").await;
    let elsewhere = app
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let t = token(&app, &here, "agent").await;

    // Each field is checked, with the message next to it.
    for (form, field) in [
        (
            [
                ("current_password", "wrong wrong wrong"),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
            "current_password",
        ),
        (
            [
                ("current_password", PASSWORD),
                ("new_password", "password1"),
                ("confirm", "password1"),
            ],
            "new_password",
        ),
        (
            [
                ("current_password", PASSWORD),
                ("new_password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "new_password",
        ),
        (
            [
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", "typo"),
            ],
            "confirm",
        ),
    ] {
        let res = app.call("account/password", &form, Some(&here)).await;
        assert_eq!(res.status, 422, "{form:?}");
        assert_eq!(res.json()["Field"]["field"], field);
    }
    assert_eq!(whoami(&app, &t).await, 200, "nothing changed yet");

    let res = app
        .call(
            "account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
            Some(&here),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res
        .json()
        .as_str()
        .unwrap()
        .contains("1 other session was signed out; 1 API token was revoked"));
    assert_eq!(
        app.get("/", Some(&here)).await.status,
        200,
        "this session stays"
    );
    assert_eq!(
        app.get("/", Some(&elsewhere)).await.status,
        303,
        "other sessions end"
    );
    assert_eq!(whoami(&app, &t).await, 401, "tokens are revoked");
    assert_eq!(app.login("admin@example.com", PASSWORD).await.status, 422);
    assert!(app
        .login("admin@example.com", NEW_PASSWORD)
        .await
        .status
        .is_success());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_reason = 'password_changed'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_owner_may_keep_the_tokens() {
    let app = TestApp::new().await;
    let here = app.setup_admin("admin@example.com").await;
    let t = token(&app, &here, "agent").await;
    let res = app
        .call(
            "account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
                ("keep_tokens", "on"),
            ],
            Some(&here),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.json().as_str().unwrap().contains("kept"));
    assert_eq!(whoami(&app, &t).await, 200);
}

#[tokio::test]
async fn admins_create_disable_and_invalidate_accounts() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;

    let res = app
        .call(
            "admin/accounts/create",
            &[
                ("email", "Dev@Example.com"),
                ("role", "member"),
                ("password", PASSWORD),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json(), "dev@example.com");
    for (form, field) in [
        (
            [
                ("email", "dev@example.com"),
                ("role", "member"),
                ("password", PASSWORD),
            ],
            "email",
        ),
        (
            [
                ("email", "x@example.com"),
                ("role", "owner"),
                ("password", PASSWORD),
            ],
            "role",
        ),
        (
            [
                ("email", "x@example.com"),
                ("role", "member"),
                ("password", "12345678"),
            ],
            "password",
        ),
    ] {
        let res = app.call("admin/accounts/create", &form, Some(&admin)).await;
        assert_eq!(res.status, 422, "{form:?}: {}", res.body);
        assert_eq!(res.json()["Field"]["field"], field);
    }

    let member = app
        .login("dev@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let member_token = token(&app, &member, "dev-agent").await;

    // Members cannot administer.
    for (endpoint, form) in [
        ("admin/accounts", vec![]),
        (
            "admin/accounts/create",
            vec![
                ("email", "y@example.com"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        ),
    ] {
        assert_eq!(
            app.call(endpoint, &form, Some(&member)).await.status,
            403,
            "{endpoint}"
        );
    }
    let list = app.call("admin/accounts", &[], Some(&admin)).await.json();
    let dev = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "dev@example.com")
        .unwrap()
        .clone();
    assert_eq!(dev["active_tokens"], 1);
    assert_eq!(dev["active_sessions"], 1);
    let dev_id = dev["id"].as_str().unwrap().to_string();
    let admin_id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.call(
            "admin/accounts/disable",
            &[("id", &admin_id), ("disabled", "true")],
            Some(&member)
        )
        .await
        .status,
        403
    );

    // Invalidate: sessions and tokens end, the account stays usable.
    let res = app
        .call(
            "admin/accounts/invalidate",
            &[("id", &dev_id)],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.get("/", Some(&member)).await.status, 303);
    assert_eq!(whoami(&app, &member_token).await, 401);
    let member = app
        .login("dev@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let member_token = token(&app, &member, "dev-agent-2").await;

    // Disable: sessions and tokens end and sign-in is refused; enable again.
    let res = app
        .call(
            "admin/accounts/disable",
            &[("id", &dev_id), ("disabled", "true")],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.get("/", Some(&member)).await.status, 303);
    assert_eq!(whoami(&app, &member_token).await, 401);
    assert_eq!(app.login("dev@example.com", PASSWORD).await.status, 422);
    app.call(
        "admin/accounts/disable",
        &[("id", &dev_id), ("disabled", "false")],
        Some(&admin),
    )
    .await;
    assert!(app
        .login("dev@example.com", PASSWORD)
        .await
        .status
        .is_success());
    assert_eq!(
        whoami(&app, &member_token).await,
        401,
        "re-enabling does not revive revoked tokens"
    );

    // An admin cannot lock themselves out; junk ids are 404.
    assert_eq!(
        app.call(
            "admin/accounts/disable",
            &[("id", &admin_id), ("disabled", "true")],
            Some(&admin)
        )
        .await
        .status,
        409
    );
    for junk in ["", "nope", "00000000-0000-0000-0000-000000000000"] {
        assert_eq!(
            app.call("admin/accounts/invalidate", &[("id", junk)], Some(&admin))
                .await
                .status,
            404
        );
    }
}
