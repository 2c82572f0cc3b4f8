//! `/metrics` (Prometheus) on its own listener: requests by route and
//! status, authentication failures by reason, the audit queue and the pool;
//! nothing of it on the public listener.

mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn get(port: u16, path: &str, auth: Option<&str>) -> Option<(u16, String)> {
    let auth = auth
        .map(|a| format!("Authorization: Bearer {a}\r\n"))
        .unwrap_or_default();
    common::raw_request(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
        ),
    )
}

#[test]
fn metrics_are_served_on_their_own_listener_only() {
    let data = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (common::free_port(), common::free_port());
    // Two administrators made on the command line: the first is told of
    // the second (one in-app notification in the table).
    for email in ["root@example.com", "second@example.com"] {
        let mut cli = Command::new(env!("CARGO_BIN_EXE_preqstation"))
            .args(["create-admin", "--email", email])
            .env_remove("DATABASE_URL")
            .env("PREQSTATION_DATA_DIR", data.path())
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(cli.stdin.take().unwrap(), "{}", common::PASSWORD).unwrap();
        assert!(cli.wait().unwrap().success());
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("PREQSTATION_DATA_DIR", data.path())
        .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "PREQSTATION_METRICS_LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        )
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while get(port, "/healthz", None).map(|r| r.0) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..3 {
        assert_eq!(
            get(port, "/api/auth/whoami", Some("not-a-token"))
                .unwrap()
                .0,
            401
        );
    }
    let public = get(port, "/metrics", None).unwrap().0;
    let scraped = get(metrics_port, "/metrics", None);
    let _ = child.kill();
    let _ = child.wait();

    assert_ne!(public, 200, "no metrics on the public listener");
    let (status, text) = scraped.expect("metrics listener answers");
    assert_eq!(status, 200);
    for expected in [
        r#"http_requests_total{method="GET",route="/healthz",status="200"}"#,
        r#"http_requests_total{method="GET",route="/api/auth/whoami",status="401"} 3"#,
        r#"auth_failures_total{reason="malformed"} 3"#,
        "http_request_duration_seconds_bucket",
        "audit_queue_depth",
        "db_pool_connections",
        r#"notifications{channel="in_app",state="shown"} 1"#,
        r#"webhook_deliveries{endpoint_state="active",state="pending"} 0"#,
        r#"webhook_deliveries{endpoint_state="disabled",state="failed"} 0"#,
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
}
