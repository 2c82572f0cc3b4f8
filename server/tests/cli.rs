//! The `preqstation` binary itself: the admin CLI and configuration errors.

mod common;

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use common::{TestApp, PASSWORD};

fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("binary exits")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database_url(dir.path()).await;
    let data = dir.path().display().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("PREQSTATION_DATA_DIR", data.as_str()),
    ];

    let out = run(
        &["create-admin", "--email", "Root@Example.com"],
        &env,
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Created admin account root@example.com"));
    assert!(!text(&out.stdout).contains(PASSWORD) && !text(&out.stderr).contains(PASSWORD));

    // Refusals are one clear line and no panic.
    for (args, stdin, expected) in [
        (
            vec!["create-admin", "--email", "weak@example.com"],
            "password\n",
            "most commonly used",
        ),
        (
            vec!["create-admin", "--email", "root@example.com"],
            "another fine passphrase\n",
            "already exists",
        ),
        (
            vec!["create-admin", "--email", "not-an-email"],
            "another fine passphrase\n",
            "email",
        ),
        (vec!["create-admin"], "", "--email"),
        (vec!["frobnicate"], "", "unknown command"),
    ] {
        let out = run(&args, &env, stdin);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }

    // The web app sees the account, and the setup page is gone.
    let app = TestApp::open(url, dir, |_| {}).await;
    assert_eq!(app.get("/setup", None).await.status, 303);
    let res = app.login("root@example.com", PASSWORD).await;
    assert!(res.status.is_success(), "{} {}", res.status, res.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE role = 'admin'")
            .await,
        1
    );
    // The CLI's account has its account_created entry, in its own trail.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events e JOIN accounts a ON a.id = e.account_id \
             WHERE e.action = 'account_created' AND a.email = 'root@example.com' AND e.actor_kind = 'system'"
        )
        .await,
        1
    );
}

#[test]
fn bad_configuration_is_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    for (var, value) in [
        ("PREQSTATION_LISTEN", "nowhere"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("PREQSTATION_SESSION_MAX_AGE", "soon"),
        ("PREQSTATION_SESSION_KEY", "too-short"),
    ] {
        let out = run(
            &["serve"],
            &[("PREQSTATION_DATA_DIR", data.as_str()), (var, value)],
            "",
        );
        let err = text(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(var), "{var}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{var}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[tokio::test]
async fn keys_rotate_list_and_retire() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database_url(dir.path()).await;
    let data = dir.path().display().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("PREQSTATION_DATA_DIR", data.as_str()),
    ];
    let out = run(
        &["create-admin", "--email", "root@example.com"],
        &env,
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["keys", "rotate"], &env, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Added k2"));
    let out = run(&["keys", "list"], &env, "");
    let listed = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(listed.contains("k1") && listed.contains("k2"), "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.contains("k2") && l.contains("signs")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.contains("k1") && l.contains("audit entries: 1")),
        "{listed}"
    );
    // k1 still vouches for the account_created entry: retiring it is refused.
    let out = run(&["keys", "retire", "k1"], &env, "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("still protects 1 audit entries"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["keys", "retire", "k2"], &env, "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("signs now"),
        "{}",
        text(&out.stderr)
    );
    // Nothing in the output is a key.
    let file = std::fs::read_to_string(dir.path().join(app::keys::FILE_NAME)).unwrap();
    let secret = file
        .lines()
        .find(|l| l.starts_with("key k1"))
        .unwrap()
        .split(' ')
        .nth(3)
        .unwrap();
    assert!(!listed.contains(secret));
    // The chain verifies across both keys.
    let out = run(&["audit", "verify"], &env, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test]
async fn create_admin_retires_the_setup_code_and_keeps_the_data_private() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let url = common::fresh_database_url(dir.path()).await;
    // An earlier `serve` printed a setup code: its row and its file exist,
    // in a data directory made before modes were tightened.
    std::fs::create_dir_all(&data_dir).unwrap();
    {
        let pool = app::db::connect(&url).await.unwrap();
        app::db::migrate(&pool).await.unwrap();
        let code = app::auth::setup_code::issue(&pool, app::types::Timestamp::now())
            .await
            .unwrap()
            .expect("no account yet: a code");
        app::auth::setup_code::write_file(&data_dir, &code).unwrap();
        pool.close().await;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let data = data_dir.display().to_string();
    let out = run(
        &["create-admin", "--email", "root@example.com"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("PREQSTATION_DATA_DIR", data.as_str()),
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(
        !data_dir.join(app::auth::setup_code::FILE_NAME).exists(),
        "the setup-code file is gone"
    );
    let app = TestApp::open(url, dir, |_| {}).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM setup_codes").await, 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data_dir), 0o700, "the data directory was tightened");
        assert!(
            text(&out.stderr).contains("tightened"),
            "and the log says so"
        );
        if common::backend() == "sqlite" {
            let db = app.dir.path().join("test.sqlite");
            assert_eq!(mode(&db), 0o600, "the database file is the owner's alone");
        }
    }
}
