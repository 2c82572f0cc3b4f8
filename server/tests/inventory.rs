//! The credentials inventory: admins list every account's API keys and
//! connected apps with filters and a search by prefix or whole token, and
//! revoke any of them (both trails record it); members are refused; and the
//! same through `preqstation tokens` / `accounts` with their JSON output and
//! exit codes.

mod common;

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use common::{api, owner, token_with, TestApp};

async fn inventory(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let res = app.call("admin/credentials", form, Some(cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

fn names(list: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn admins_list_filter_and_search_every_accounts_credentials() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let kept = token_with(&app, &member, "kept", &["scope_tasks_read"], "365").await;
    token_with(&app, &member, "soon", &["scope_tasks_read"], "7").await;
    token_with(&app, &admin, "forever", &["scope_tasks_read"], "never").await;
    assert_eq!(
        api(&app, "GET", "/api/auth/whoami", Some(&kept), None)
            .await
            .status,
        200
    );

    let all = inventory(&app, &admin.cookie, &[]).await;
    assert_eq!(names(&all), ["forever", "kept", "soon"]);
    let kept_row = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kept")
        .unwrap();
    assert_eq!(kept_row["owner"], "member@example.com");
    assert_eq!(kept_row["kind"], "api_key");

    for (filter, expected) in [
        ("expiring_7", vec!["soon"]),
        ("expiring_30", vec!["soon"]),
        ("never_used", vec!["forever", "soon"]),
        ("no_expiry", vec!["forever"]),
        ("no_allowlist", vec!["forever", "kept", "soon"]),
        ("unused_90", vec![]),
    ] {
        let got = inventory(&app, &admin.cookie, &[("filter", filter)]).await;
        assert_eq!(names(&got), expected, "{filter}");
    }
    let bad = app
        .call(
            "admin/credentials",
            &[("filter", "bogus")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(bad.status, 422);

    // By prefix (as the list shows it, or longer, as a log holds it) and by
    // the whole token.
    let prefix = kept_row["prefix"].as_str().unwrap();
    let by_prefix = inventory(&app, &admin.cookie, &[("search", prefix)]).await;
    assert_eq!(names(&by_prefix), ["kept"]);
    let longer = &kept[..20];
    assert_eq!(
        names(&inventory(&app, &admin.cookie, &[("search", longer)]).await),
        ["kept"]
    );
    assert_eq!(
        names(&inventory(&app, &admin.cookie, &[("search", &kept)]).await),
        ["kept"]
    );

    // Members: 403 on the page's functions and the page.
    let refused = app
        .call("admin/credentials", &[], Some(&member.cookie))
        .await;
    assert_eq!(refused.status, 403);
    let id = kept_row["id"].as_str().unwrap();
    let refused = app
        .call(
            "admin/credentials/revoke",
            &[("kind", "api_key"), ("id", id)],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        app.get("/admin/credentials", Some(&member.cookie))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn an_admin_revokes_another_accounts_token_and_both_trails_show_it() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let token = token_with(&app, &member, "ci", &["scope_tasks_read"], "30").await;
    let list = inventory(&app, &admin.cookie, &[("search", &token)]).await;
    let id = list[0]["id"].as_str().unwrap().to_string();

    let res = app
        .call(
            "admin/credentials/revoke",
            &[
                ("kind", "api_key"),
                ("id", &id),
                ("note", "found in a public gist"),
            ],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["status"], "revoked");
    assert_eq!(res.json()["revoked_by"], "admin@example.com");
    assert_eq!(
        api(&app, "GET", "/api/auth/whoami", Some(&token), None)
            .await
            .status,
        401
    );

    // The owner's list names the admin.
    let mine = app
        .call("tokens/list", &[], Some(&member.cookie))
        .await
        .json();
    assert_eq!(mine[0]["revoked_by"], "admin@example.com");
    assert_eq!(mine[0]["revoked_reason"], "revoked_by_admin");
    // Both trails.
    let trail = |email: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_events e JOIN accounts a ON a.id = e.account_id \
             WHERE a.email = '{email}' AND e.action = 'token_revoked' AND e.details LIKE '%revoked_by_admin%'"
        )
    };
    assert_eq!(app.count(&trail("member@example.com")).await, 1);
    assert_eq!(app.count(&trail("admin@example.com")).await, 1);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE details LIKE '%found in a public gist%'"
        )
        .await,
        2
    );
}

fn run(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let data = app.dir.path().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    // A command that does not read standard input may exit first.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().expect("binary exits")
}

/// The exit code, and what the command said, for the assertion message.
fn code(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        format!(
            "{} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

macro_rules! exits {
    ($out:expr, $code:expr) => {{
        let (got, said) = code(&$out);
        assert_eq!(got, Some($code), "{said}");
    }};
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

// Several threads: the commands are awaited by blocking this one, while the
// app's audit writer (a task of this runtime) must be able to finish a
// batch it started, or the command would wait for the audit head's lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_shows_and_revokes_with_json_and_exit_codes() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let token = token_with(&app, &member, "laptop", &["scope_tasks_read"], "30").await;
    token_with(&app, &admin, "other", &["scope_tasks_read"], "30").await;

    let out = run(&app, &["tokens", "list", "--json"], "");
    exits!(out, 0);
    assert_eq!(json_of(&out).as_array().unwrap().len(), 2);
    let out = run(
        &app,
        &[
            "tokens",
            "list",
            "--account",
            "member@example.com",
            "--json",
        ],
        "",
    );
    assert_eq!(names(&json_of(&out)), ["laptop"]);
    let out = run(&app, &["tokens", "list"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PREFIX"));

    // A pasted whole token, from stdin: found by its hash, never printed.
    let out = run(
        &app,
        &["tokens", "show", "-", "--json"],
        &format!("{token}\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = json_of(&out);
    assert_eq!(shown["owner"], "member@example.com");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));

    // Exit codes: usage 2, not found 3, ambiguous 4 (both keys start with the deployment prefix).
    assert_eq!(
        run(&app, &["tokens", "frobnicate"], "").status.code(),
        Some(2)
    );
    assert_eq!(
        run(&app, &["tokens", "list", "--status", "bogus"], "")
            .status
            .code(),
        Some(2)
    );
    let out = run(&app, &["tokens", "show", "preq_zzzzzzz", "--json"], "");
    exits!(out, 3);
    assert_eq!(json_of(&out)["error"]["code"], 3);
    let out = run(&app, &["tokens", "revoke", "preq_", "--json"], "");
    exits!(out, 2);
    // Two keys whose shown prefixes share their start (as OAuth tokens'
    // often do): the shared part is refused with both candidates.
    for (name, prefix) in [("laptop", "preq_AAAAAA1"), ("other", "preq_AAAAAA2")] {
        sqlx::query("UPDATE api_tokens SET prefix = $1 WHERE name = $2")
            .bind(prefix)
            .bind(name)
            .execute(&app.state.db)
            .await
            .unwrap();
    }
    let out = run(&app, &["tokens", "revoke", "preq_AAAAAA", "--json"], "");
    exits!(out, 4);
    assert_eq!(
        json_of(&out)["error"]["candidates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let out = run(&app, &["tokens", "show", "preq_AAAAAA"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("preq_AAAAAA2"),
        "candidates as a table"
    );

    // Revoke by prefix, with a reason: audited as the command line.
    let out = run(
        &app,
        &[
            "tokens",
            "revoke",
            "preq_AAAAAA1",
            "--reason",
            "laptop stolen",
            "--json",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out)["status"], "revoked");
    assert_eq!(
        api(&app, "GET", "/api/auth/whoami", Some(&token), None)
            .await
            .status,
        401
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE actor_kind = 'cli' AND action = 'token_revoked'")
            .await,
        1
    );

    // Accounts.
    let out = run(&app, &["accounts", "list", "--json"], "");
    exits!(out, 0);
    assert_eq!(json_of(&out).as_array().unwrap().len(), 2);
    let out = run(&app, &["accounts", "disable", "nobody@example.com"], "");
    exits!(out, 3);
    let out = run(
        &app,
        &["accounts", "disable", "member@example.com", "--json"],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.get("/", Some(&member.cookie)).await.status,
        303,
        "signed out"
    );
}
