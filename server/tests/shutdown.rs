//! The real binary: API calls queue `token_used` events off the request
//! path; SIGTERM drains the server and flushes the queue, so every event of
//! every answered request is in the database.

mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::TestApp;

fn http_get(port: u16, path: &str, token: Option<&str>) -> Option<u16> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    common::raw_status(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
        ),
    )
}

#[tokio::test]
async fn sigterm_flushes_every_queued_audit_event() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let res = app
        .call(
            "tokens/create",
            &[
                ("name", "load"),
                ("expiry", "30"),
                ("scope_tasks_read", "on"),
            ],
            Some(&cookie),
        )
        .await;
    let token = res.json()["token"].as_str().unwrap().to_string();
    let port = common::free_port();
    // The app's data directory: the same keyring, as every instance of one
    // installation has.
    let data = app.dir.path();

    let mut child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("serve")
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", data)
        .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while http_get(port, "/healthz", None) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    const N: i64 = 40;
    for _ in 0..N {
        assert_eq!(http_get(port, "/api/auth/whoami", Some(&token)), Some(200));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "clean exit after SIGTERM");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_used'")
            .await,
        N
    );
    assert!(matches!(
        app::audit::chain::verify(&app.state.db, &app.state.config.keys, 1)
            .await
            .unwrap(),
        app::audit::chain::Verdict::Intact { .. }
    ));
}

/// The calls rollup is written in the audit writer's transaction: a server
/// killed (SIGKILL) in the middle of a run loses the entries it still had
/// queued from the log and the rollup alike, so they never drift apart.
#[tokio::test]
async fn sigkill_mid_run_leaves_the_rollup_equal_to_the_log() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let res = app
        .call(
            "tokens/create",
            &[
                ("name", "load"),
                ("expiry", "30"),
                ("scope_tasks_read", "on"),
            ],
            Some(&cookie),
        )
        .await;
    let token = res.json()["token"].as_str().unwrap().to_string();
    let prefix = res.json()["view"]["prefix"].as_str().unwrap().to_string();
    let id = res.json()["view"]["id"].as_str().unwrap().to_string();
    let port = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("serve")
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", app.dir.path())
        .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
        .env("PREQSTATION_API_RATE_PER_IP", "1000000")
        .env("PREQSTATION_API_RATE_PER_TOKEN", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while http_get(port, "/healthz", None) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Four clients call as fast as they can (successes, 404s) for at most
    // 400 requests each; the server is killed while they do.
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let token = token.clone();
            std::thread::spawn(move || {
                for n in 0..400 {
                    let path = if (n + i) % 5 == 0 {
                        "/api/tasks/00000000-0000-0000-0000-000000000000"
                    } else {
                        "/api/auth/whoami"
                    };
                    if http_get(port, path, Some(&token)).is_none() {
                        break;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(600));
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
    for c in clients {
        c.join().unwrap();
    }
    let logged = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE token_prefix = '{prefix}' \
             AND action IN ('token_used', 'auth_failed')"
        ))
        .await;
    let rolled = app
        .count(&format!(
            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM token_usage WHERE credential_id = '{id}'"
        ))
        .await;
    assert!(logged > 0, "some calls were written before the kill");
    assert_eq!(
        rolled, logged,
        "the rollup counts exactly what the log holds"
    );
    let ips = app
        .count(&format!(
            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM token_ips WHERE token_id = '{id}'"
        ))
        .await;
    assert_eq!(ips, logged, "and so do the per-IP counts");
}
