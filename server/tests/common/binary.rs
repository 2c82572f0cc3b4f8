//! The real binary as a second (or third) instance over a test's database:
//! the same data directory (so the same keyring), rate limits out of the
//! way, started and checked healthy within 30 s, stopped with SIGTERM.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::{TestApp, ORIGIN};

pub struct Instance {
    pub port: u16,
    pub child: Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `preqstation serve` on a free loopback port over `app`'s database.
pub fn start(app: &TestApp) -> Instance {
    start_with(app, &[])
}

/// [`start`] with more environment (`PREQSTATION_...` settings).
pub fn start_with(app: &TestApp, env: &[(&str, &str)]) -> Instance {
    let port = super::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("serve")
        .envs(env.iter().copied())
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", app.dir.path())
        .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
        .env("PREQSTATION_PUBLIC_URL", ORIGIN)
        .env("PREQSTATION_API_RATE_PER_IP", "1000000")
        .env("PREQSTATION_API_RATE_PER_TOKEN", "1000000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    while super::raw_status(port, health) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "instance did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Instance { port, child }
}

/// SIGTERM, then up to 30 s for a clean exit (killed after that).
pub fn stop(mut i: Instance) {
    let _ = Command::new("kill")
        .args(["-TERM", &i.child.id().to_string()])
        .status();
    let started = Instant::now();
    while i.child.try_wait().ok().flatten().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A command of the binary (`preqstation accounts ...`) over `app`'s
/// database and data directory; its output once it exits.
pub fn command(app: &TestApp, args: &[&str]) -> std::process::Output {
    prepared(app, args).output().expect("binary runs")
}

/// [`command`], waited for off the test's runtime: the test process's own
/// background writers (the audit queue, the outbox) keep going while the
/// binary runs, so on SQLite the binary does not wait out their lock.
pub async fn command_async(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = prepared(app, args);
    tokio::task::spawn_blocking(move || cmd.output().expect("binary runs"))
        .await
        .expect("binary waited for")
}

fn prepared(app: &TestApp, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_preqstation"));
    cmd.args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", app.dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}
