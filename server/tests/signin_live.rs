//! The real binary under a sign-in burst: 100 parallel wrong passwords for
//! one account, spread over two instances on one database, are evaluated at
//! most up to the account's limit (the rest are 429: the reservation is
//! serialized across processes), and argon2's memory stays bounded (peak RSS
//! of each instance under 300 MB).

mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::TestApp;

fn peak_rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test]
async fn a_hundred_parallel_guesses_against_the_real_binary() {
    let app = TestApp::new().await;
    app.setup_admin("owner@example.com").await;
    let limit = app.state.config.login_max_failures_per_account as usize;
    let data = tempfile::tempdir().unwrap();
    let instances: Vec<(u16, std::process::Child)> = (0..2)
        .map(|i| {
            let port = common::free_port();
            let child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
                .arg("serve")
                .env("DATABASE_URL", &app.database_url)
                .env("PREQSTATION_DATA_DIR", data.path().join(format!("i{i}")))
                .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
                .env("PREQSTATION_PUBLIC_URL", "http://127.0.0.1:3000")
                .env("PREQSTATION_SESSION_KEY", "0".repeat(64))
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            (port, child)
        })
        .collect();
    for (port, _) in &instances {
        let get =
            format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        let started = Instant::now();
        while common::raw_status(*port, &get) != Some(200) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    let body = "email=owner%40example.com&password=not+the+password";
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let port = instances[i % 2].0;
            let post = format!(
                "POST /rpc/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:3000\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            std::thread::spawn(move || common::raw_status(port, &post))
        })
        .collect();
    let statuses: Vec<Option<u16>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut peak = 0;
    for (_, mut child) in instances {
        peak = peak.max(peak_rss_mb(child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }

    let evaluated = statuses.iter().filter(|s| **s == Some(422)).count();
    let throttled = statuses.iter().filter(|s| **s == Some(429)).count();
    assert!(
        evaluated <= limit,
        "{evaluated} passwords checked, limit {limit}: {statuses:?}"
    );
    assert_eq!(evaluated + throttled, 100, "only 422 and 429: {statuses:?}");
    assert!(peak > 0 && peak < 300, "peak RSS {peak} MB");
    println!(
        "100 parallel guesses: {evaluated} evaluated, {throttled} throttled, peak RSS {peak} MB"
    );
}

/// A fresh instance prints its setup code once to stdout, writes it to a
/// 0600 file in the data directory, and never to the (stderr) log.
#[test]
fn a_fresh_instance_prints_its_setup_code_to_stdout_and_a_private_file_only() {
    use std::{io::Read, os::unix::fs::PermissionsExt};
    let data = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("PREQSTATION_DATA_DIR", data.path())
        .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes while waiting: a debug log fills a pipe's 64 KiB
    // (every migration statement) and would block the server before it
    // writes the file.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let file = data.path().join("setup-code");
    let started = Instant::now();
    while !file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no setup-code file"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let code = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(code.len(), 23, "{code}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert_eq!(out.matches(&code).count(), 1, "printed once: {out}");
    assert!(!err.contains(&code), "not in the log");
    assert!(
        err.contains("setup code"),
        "the log says a code was printed: {err}"
    );
}
