//! A whole flow (setup, sign-in, token create, use, misuse, revoke) at TRACE
//! log level, then proof that no secret reached the log output or the
//! database: not the password, not the session secret, not the token.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{body::Body, http::Request};
use common::{TestApp, PASSWORD};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_log_or_the_database() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let cookie = app
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap_or(cookie);
    app.login("admin@example.com", "a wrong password entirely")
        .await;
    let session_value = cookie.trim_start_matches("__Host-session=").to_string();
    // `<key id>.<secret>.<tag>`
    let session_secret = session_value.split('.').nth(1).unwrap().to_string();

    let res = app
        .call(
            "tokens/create",
            &[
                ("name", "secret-test"),
                ("expiry", "30"),
                ("scope_tasks_read", "on"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let token = res.json()["token"].as_str().unwrap().to_string();
    let id = res.json()["view"]["id"].as_str().unwrap().to_string();

    let call = |auth: String| {
        Request::get("/api/auth/whoami")
            .header("authorization", auth)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(call(format!("Bearer {token}"))).await.status, 200);
    let mut typo = token.clone().into_bytes();
    typo[30] = if typo[30] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(app.send(call(format!("Bearer {typo}"))).await.status, 401);
    app.call("tokens/revoke", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(app.send(call(format!("Bearer {token}"))).await.status, 401);
    app.call("logout", &[], Some(&cookie)).await;

    let secret_part = token[12..].to_string();
    let forbidden = [
        ("the token", token.as_str()),
        ("the token's secret part", secret_part.as_str()),
        ("a mistyped token", &typo[12..]),
        ("the password", PASSWORD),
        ("the session cookie", session_value.as_str()),
        ("the session secret", session_secret.as_str()),
    ];

    let log = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(log.contains("token created"), "the capture works");
    for (what, secret) in forbidden {
        assert!(!log.contains(secret), "{what} appeared in the log output");
    }

    // The database: every byte of the SQLite file (and its WAL), or every
    // row of every table rendered as text on PostgreSQL.
    let mut haystack = Vec::new();
    if common::backend() == "sqlite" {
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("test.sqlite")
            {
                haystack.extend(std::fs::read(&path).unwrap());
            }
        }
        assert!(!haystack.is_empty());
    } else {
        use sqlx::Row;
        for table in [
            "accounts",
            "sessions",
            "api_tokens",
            "login_failures",
            "token_policy",
            "policy_changes",
        ] {
            let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS row FROM {table} t"))
                .fetch_all(&app.state.db)
                .await
                .unwrap();
            for row in rows {
                haystack.extend(row.get::<String, _>("row").into_bytes());
            }
        }
    }
    let text = String::from_utf8_lossy(&haystack);
    assert!(
        text.contains(&token[..12]),
        "the prefix is stored, so the scan sees token rows"
    );
    for (what, secret) in forbidden {
        assert!(!text.contains(secret), "{what} is in the database");
    }
}
