//! Email notifications against a real SMTP server (aiosmtpd, started here
//! from `end2end/mail/smtp_sink.py`): the message arrives with the right
//! recipient, subject and body and no secret; with the SMTP server down and
//! then up, it is delivered once after recovery; and the real binary,
//! killed with SIGKILL between writing an email and sending it, sends it
//! once after a restart. Both databases.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use app::{
    notifications::mail::{
        sender::{send_one, Sent},
        MailConfig,
    },
    types::Timestamp,
};
use common::{free_port, owner, token_with, whoami_from, TestApp, ORIGIN};

/// The Python that has aiosmtpd: Debian's (`python3-aiosmtpd`) or the one
/// on PATH (PyPI's `aiosmtpd`).
fn python() -> &'static str {
    for candidate in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return candidate;
        }
    }
    panic!("aiosmtpd is not installed (make test installs Debian's python3-aiosmtpd)");
}

/// The SMTP server: a child process, killed when dropped.
struct Sink {
    child: Child,
    out: PathBuf,
}

impl Sink {
    fn start(port: u16, dir: &Path) -> Self {
        let out = dir.join(format!("mail-{port}.jsonl"));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/mail/smtp_sink.py");
        let child = Command::new(python())
            .args([script, "--port", &port.to_string(), "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the SMTP server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, out }
    }

    /// Every message received so far.
    fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mail_config(port: u16) -> MailConfig {
    mail_config_with(port, 60)
}

fn mail_config_with(port: u16, per_minute: u32) -> MailConfig {
    let vars = [
        ("PREQSTATION_SMTP_PER_MINUTE", per_minute.to_string()),
        ("PREQSTATION_SMTP_HOST", "127.0.0.1".to_string()),
        ("PREQSTATION_SMTP_PORT", port.to_string()),
        ("PREQSTATION_SMTP_SECURITY", "none".to_string()),
        (
            "PREQSTATION_SMTP_FROM",
            "Preqstation <noreply@preq.test>".to_string(),
        ),
        ("PREQSTATION_SMTP_RETRY_SECS", "1".to_string()),
        ("PREQSTATION_SMTP_TIMEOUT", "5".to_string()),
    ];
    MailConfig::from_lookup(&|k: &str| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap()
    .unwrap()
}

/// Sends every due email; returns what each attempt did.
async fn drain(app: &TestApp, config: &MailConfig, now: Timestamp) -> Vec<Sent> {
    let mut done = vec![];
    loop {
        match send_one(&app.state.db, config, ORIGIN, now).await.unwrap() {
            Sent::Idle => return done,
            other => done.push(other),
        }
        assert!(done.len() < 100);
    }
}

async fn email_state(app: &TestApp) -> (String, i64) {
    sqlx::query_as("SELECT state, attempts FROM notifications WHERE channel = 'email'")
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_arrives_with_recipient_subject_and_body_and_no_secret() {
    let port = free_port();
    let config = mail_config(port);
    let app = TestApp::with_config(|c| c.mail = Some(config.clone())).await;
    let sink = Sink::start(port, app.dir.path());
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "ci-agent", &["scope_tasks_read"], "30").await;
    assert_eq!(whoami_from(&app, &token, "198.51.100.1").await.status, 200);
    assert_eq!(whoami_from(&app, &token, "198.51.100.2").await.status, 200);
    assert_eq!(
        drain(&app, &config, Timestamp::now()).await,
        vec![Sent::Delivered]
    );
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!(["owner@example.com"]));
    assert_eq!(m["to"], "owner@example.com");
    assert_eq!(m["from"], "Preqstation <noreply@preq.test>");
    let subject = m["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("[Preqstation] Token “ci-agent”"),
        "{subject}"
    );
    assert!(subject.contains("new IP address"), "{subject}");
    let prefix: String =
        sqlx::query_scalar("SELECT prefix FROM api_tokens WHERE name = 'ci-agent'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    for part in ["text", "html"] {
        let body = m[part].as_str().unwrap();
        assert!(body.contains(&prefix), "{part}: {body}");
        assert!(body.contains("198.51.100.2"), "{part}: {body}");
        assert!(body.contains("/settings/api-keys/"), "{part}: {body}");
        assert!(
            body.contains("/settings/notifications"),
            "{part}: footer: {body}"
        );
        assert!(
            !body.contains(&token[prefix.len()..]),
            "{part} holds the secret"
        );
    }
    assert_eq!(email_state(&app).await, ("sent".to_string(), 1));
    // Sent once: nothing more to send, and the sink has one message.
    assert!(drain(&app, &config, Timestamp::now()).await.is_empty());
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_smtp_down_then_up_the_email_is_delivered_once_after_recovery() {
    let port = free_port();
    let config = mail_config(port);
    let app = TestApp::with_config(|c| c.mail = Some(config.clone())).await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "ci-agent", &["scope_tasks_read"], "30").await;
    assert_eq!(whoami_from(&app, &token, "198.51.100.1").await.status, 200);
    assert_eq!(whoami_from(&app, &token, "198.51.100.2").await.status, 200);
    // Nothing listens: the send fails before any server answered.
    let now = Timestamp::now();
    assert_eq!(drain(&app, &config, now).await, vec![Sent::Retry]);
    assert_eq!(email_state(&app).await, ("pending".to_string(), 1));
    // Not due again until its backoff passed.
    assert!(drain(&app, &config, now).await.is_empty());
    let sink = Sink::start(port, app.dir.path());
    let later = now.plus_secs(5);
    assert_eq!(drain(&app, &config, later).await, vec![Sent::Delivered]);
    assert!(drain(&app, &config, later.plus_secs(60)).await.is_empty());
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(email_state(&app).await, ("sent".to_string(), 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_sent_one_by_one_at_the_configured_rate() {
    let port = free_port();
    // 1,200 a minute: one every 50 ms.
    let config = mail_config_with(port, 1200);
    let app = TestApp::with_config(|c| c.mail = Some(config.clone())).await;
    let sink = Sink::start(port, app.dir.path());
    owner(&app, "owner@example.com", true).await;
    let account: String = sqlx::query_scalar("SELECT id FROM accounts")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let account = app::types::AccountId::parse(&account).unwrap();
    for i in 0..12 {
        let notice = app::notifications::outbox::Notice::new(
            app::notifications::NoticeKind::TokenExpiring,
            account,
        )
        .token(format!("t{i}"), format!("bulk-{i}"), format!("preq_{i:08}"))
        .count(7);
        app::notifications::outbox::enqueue_now(
            &app.state.db,
            &notice,
            &format!("burst:{i}"),
            Timestamp::now(),
        )
        .await
        .unwrap();
    }
    app::notifications::mail::sender::spawn(app.state.db.clone(), config, ORIGIN.into());
    wait_for(
        &app,
        "twelve emails",
        "SELECT CASE WHEN COUNT(*) = 12 THEN 1 ELSE 0 END FROM notifications WHERE channel = 'email' AND state = 'sent'",
    )
    .await;
    let sent: Vec<i64> = sqlx::query_scalar(
        "SELECT sent_at FROM notifications WHERE channel = 'email' ORDER BY sent_at",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    // Each send starts at least the spacing after the one before.
    for pair in sent.windows(2) {
        assert!(pair[1] - pair[0] >= 49, "{sent:?}");
    }
    assert_eq!(sink.messages().len(), 12);
}

/// The real binary, with this test's database and data directory.
fn serve(app: &TestApp, smtp_port: u16) -> (Child, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("serve")
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", app.dir.path())
        .env("PREQSTATION_LISTEN", format!("127.0.0.1:{port}"))
        .env("PREQSTATION_PUBLIC_URL", ORIGIN)
        .env("PREQSTATION_SMTP_HOST", "127.0.0.1")
        .env("PREQSTATION_SMTP_PORT", smtp_port.to_string())
        .env("PREQSTATION_SMTP_SECURITY", "none")
        .env("PREQSTATION_SMTP_FROM", "Preqstation <noreply@preq.test>")
        .env("PREQSTATION_SMTP_RETRY_SECS", "1")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, port)
}

async fn wait_for(app: &TestApp, what: &str, sql: &str) {
    let started = Instant::now();
    while app.count(sql).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "waited too long for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_survives_kill_9_between_write_and_send() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    token_with(&app, &member, "m-agent", &["scope_tasks_read"], "30").await;
    let id: String = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'm-agent'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    // Mail to nothing: the binary tries, the server is down.
    let smtp_port = free_port();
    let (mut first, _) = serve(&app, smtp_port);
    // Earlier events' emails (the member's creation, its first sign-in)
    // are not this test's: out of the way.
    sqlx::query("DELETE FROM notifications WHERE channel = 'email'")
        .execute(&app.state.db)
        .await
        .unwrap();
    let revoked = app
        .call(
            "admin/credentials/revoke",
            &[("kind", "api_key"), ("id", &id)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    wait_for(
        &app,
        "a failed attempt",
        "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND state = 'pending' AND attempts >= 1",
    )
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    // The SMTP server comes up, the binary starts again: sent, once.
    let sink = Sink::start(smtp_port, app.dir.path());
    let (mut second, _) = serve(&app, smtp_port);
    wait_for(
        &app,
        "the email sent",
        "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND state = 'sent'",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    second.kill().unwrap();
    second.wait().unwrap();
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0]["rcpt_tos"],
        serde_json::json!(["member@example.com"])
    );
    assert!(got[0]["subject"].as_str().unwrap().contains("“m-agent”"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'credential_revoked' AND channel = 'in_app'")
            .await,
        1
    );
}
