//! Leaked-token reports (GitHub's secret-scanning partner format) through
//! the real router over a fresh database, SQLite and PostgreSQL: a signed
//! report revokes a working token with its family and children and tells
//! the owner; bad or missing signatures process nothing; unknown tokens
//! are answered as the program does; limits; the key commands and the
//! uploader on gitleaks and trufflehog files, through the binary.

mod common;

use axum::{body::Body, http::Request};
use base64::{engine::general_purpose::STANDARD, Engine};
use common::{api, binary, owner, project, token_with, Owner, TestApp, TestResponse};
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding},
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const DELEGATE: [&str; 4] = [
    "scope_projects_read",
    "scope_tasks_read",
    "scope_tasks_write",
    "scope_tokens_delegate",
];

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn public_pem(k: &SigningKey) -> String {
    k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
}

async fn register(app: &TestApp, id: &str, key: &SigningKey) {
    app::leaks::keys::add(
        &app.state.db,
        &app.state.config,
        id,
        &public_pem(key),
        app::types::Timestamp::now(),
    )
    .await
    .unwrap();
}

async fn post(app: &TestApp, body: &[u8], headers: &[(&str, String)]) -> TestResponse {
    let mut req =
        Request::post("/api/secret-scanning/report").header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    app.send(req.body(Body::from(body.to_vec())).unwrap()).await
}

async fn signed(app: &TestApp, key_id: &str, key: &SigningKey, body: &Value) -> TestResponse {
    let bytes = serde_json::to_vec(body).unwrap();
    let sig: Signature = key.sign(&bytes);
    post(
        app,
        &bytes,
        &[
            ("github-public-key-identifier", key_id.to_string()),
            (
                "github-public-key-signature",
                STANDARD.encode(sig.to_der().as_bytes()),
            ),
        ],
    )
    .await
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn whoami(app: &TestApp, token: &str) -> u16 {
    api(app, "GET", "/api/auth/whoami", Some(token), None)
        .await
        .status
        .as_u16()
}

/// An owner with a rotated API key (its predecessor in grace, still
/// working: the successor is unused) and another key with a task token
/// exchanged from it.
struct World {
    app: TestApp,
    o: Owner,
    old: String,
    new: String,
    /// Another key, not rotated, with a task token made from it.
    other: String,
    child: String,
    /// The child's task.
    task: String,
}

/// A task token for `task`, exchanged from `subject` (RFC 8693).
async fn task_token(app: &TestApp, subject: &str, task: &str) -> String {
    let details = json!([{"type": "preqstation_task", "task_id": task}]).to_string();
    let res = app
        .send(
            Request::post("/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(common::form_encode(&[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", subject),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("authorization_details", &details),
                ])))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["access_token"].as_str().unwrap().to_string()
}

async fn world() -> World {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let old = token_with(&app, &o, "ci-agent", &DELEGATE, "30").await;
    let id: String = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'ci-agent'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let project = project(&app, &o, "fleet").await;
    let other = token_with(&app, &o, "other-agent", &DELEGATE, "30").await;
    let res = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&other),
        Some(json!({"project_id": project, "title": "t"})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let task = res.json()["id"].as_str().unwrap().to_string();
    // Rotated with a day of grace; the successor unused, so the
    // predecessor still works.
    let res = app
        .call(
            "tokens/rotate",
            &[("id", &id), ("grace", "24h")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let new = res.json()["token"].as_str().unwrap().to_string();
    let child = task_token(&app, &other, &task).await;
    for t in [&old, &other, &child] {
        assert_eq!(whoami(&app, t).await, 200);
    }
    World {
        app,
        o,
        old,
        new,
        other,
        child,
        task,
    }
}

#[tokio::test]
async fn a_signed_report_revokes_the_token_its_family_and_children_and_tells_the_owner() {
    let w = world().await;
    let app = &w.app;
    let key = signing_key(7);
    register(app, "org-scanner-1", &key).await;
    let unknown = "preq_NotARealTokenAtAllButLooksLikeOne0000000000";
    let report = json!([
        {"token": w.new, "type": "preqstation_api_key", "url": "https://github.com/o/r/blob/abc/.env#L3", "source": "content"},
        {"token": w.other, "type": "preqstation_api_key", "url": "https://github.com/o/r/blob/abc/ci.yml#L9", "source": "content"},
        {"token": unknown, "type": "preqstation_api_key", "url": "https://github.com/o/r/blob/abc/x", "source": "content"},
        {"token": "AKIAIOSFODNN7EXAMPLE", "type": "aws", "url": "", "source": "commit"},
    ]);
    let res = signed(app, "org-scanner-1", &key, &report).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let feedback = res.json();
    assert_eq!(
        feedback,
        json!([
            {"token_hash": sha256_hex(&w.new), "token_type": "preqstation_api_key", "label": "true_positive"},
            {"token_hash": sha256_hex(&w.other), "token_type": "preqstation_api_key", "label": "true_positive"},
            {"token_hash": sha256_hex(unknown), "token_type": "preqstation_api_key", "label": "false_positive"},
            {"token_hash": sha256_hex("AKIAIOSFODNN7EXAMPLE"), "token_type": "aws", "label": "false_positive"},
        ])
    );
    assert!(!res.body.contains(&w.new), "never the raw token");
    // The tokens, a predecessor in grace and a task token all stop.
    for t in [&w.new, &w.old, &w.other, &w.child] {
        assert_eq!(whoami(app, t).await, 401);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_reason = 'leaked'")
            .await,
        3
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM task_tokens WHERE revoked_reason = 'leaked'")
            .await,
        1
    );
    app.flush_audit().await;
    let details: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'token_leaked' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["url"], "https://github.com/o/r/blob/abc/.env#L3");
    assert_eq!(details["source"], "content");
    assert_eq!(
        details["revoked"], 2,
        "the key and its predecessor in grace"
    );
    let other: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'token_leaked' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(
        other.contains(r#""revoked":2"#),
        "the key and its task token: {other}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'leak_report_received'")
            .await,
        1
    );
    // The owner is told, in the dashboard and by email (every channel on).
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'token_leaked'")
            .await,
        4
    );
    let page = app.call("notifications/open", &[], Some(&w.o.cookie)).await;
    assert!(
        page.body.contains("was found in public and revoked"),
        "{}",
        page.body
    );
    // Reported again: nothing more is revoked, and it is no longer working.
    let res = signed(
        app,
        "org-scanner-1",
        &key,
        &json!([{"token": w.new, "type": "t", "url": "u", "source": "s"}]),
    )
    .await;
    assert_eq!(res.json()[0]["label"], "false_positive");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_leaked'")
            .await,
        2
    );
}

#[tokio::test]
async fn unsigned_or_badly_signed_reports_process_nothing() {
    let w = world().await;
    let app = &w.app;
    let key = signing_key(7);
    register(app, "k1", &key).await;
    let body =
        serde_json::to_vec(&json!([{"token": w.new, "type": "t", "url": "u", "source": "s"}]))
            .unwrap();
    let good: Signature = key.sign(&body);
    let other: Signature = signing_key(9).sign(&body);
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("github-public-key-identifier", "k1".into())],
        vec![(
            "github-public-key-signature",
            STANDARD.encode(good.to_der().as_bytes()),
        )],
        vec![
            ("github-public-key-identifier", "unknown".into()),
            (
                "github-public-key-signature",
                STANDARD.encode(good.to_der().as_bytes()),
            ),
        ],
        vec![
            ("github-public-key-identifier", "k1".into()),
            (
                "github-public-key-signature",
                STANDARD.encode(other.to_der().as_bytes()),
            ),
        ],
        vec![
            ("github-public-key-identifier", "k1".into()),
            ("github-public-key-signature", "not base64!".into()),
        ],
    ];
    for headers in cases {
        let res = post(app, &body, &headers).await;
        assert_eq!(res.status, 401, "{headers:?}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], "UNAUTHORIZED");
    }
    // A good signature over another body: refused too.
    let mut tampered = body.clone();
    tampered.push(b' ');
    let res = post(
        app,
        &tampered,
        &[
            ("github-public-key-identifier", "k1".into()),
            (
                "github-public-key-signature",
                STANDARD.encode(good.to_der().as_bytes()),
            ),
        ],
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(whoami(app, &w.new).await, 200, "nothing was revoked");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_leaked'")
            .await,
        0
    );
    // Signed but malformed: a clear 422, nothing processed.
    let res = signed(app, "k1", &key, &json!({"token": "x"})).await;
    assert_eq!(res.status, 422, "{}", res.body);
}

#[tokio::test]
async fn reports_have_their_own_body_limit_and_rate_limit() {
    let app = TestApp::new().await;
    let key = signing_key(7);
    register(&app, "k1", &key).await;
    // Larger than the API's 64 KiB is fine up to 1 MiB...
    let many: Vec<Value> = (0..900)
        .map(|i| json!({"token": format!("preq_unknown{i:0>100}"), "type": "t", "url": "u", "source": "s"}))
        .collect();
    let res = signed(&app, "k1", &key, &json!(many)).await;
    assert_eq!(res.status, 200, "{}", &res.body[..res.body.len().min(300)]);
    assert_eq!(res.json().as_array().unwrap().len(), 900);
    // ...and refused above it, before the signature is looked at.
    let big = vec![b' '; 1024 * 1024 + 1];
    let res = post(&app, &big, &[]).await;
    assert_eq!(res.status, 413, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "PAYLOAD_TOO_LARGE");
    // 60 a minute per client IP.
    let mut last = None;
    for _ in 0..61 {
        last = Some(post(&app, b"[]", &[]).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, 429, "{}", last.body);
    assert_eq!(last.json()["error"]["code"], "RATE_LIMITED");
    assert!(last.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn keys_are_managed_on_the_command_line_and_the_uploader_reads_scanner_output() {
    let w = world().await;
    let app = &w.app;
    let dir = app.dir.path();
    // The binary's commands are waited for off this test's one thread
    // (`command_async`), and the audit queue is flushed before the binary
    // writes: the in-process writers must not hold the database meanwhile.
    app.flush_audit().await;
    // keygen writes a private key (owner-only) and prints the public key.
    let private = dir.join("scanner.pem");
    let out =
        binary::command_async(app, &["leak-report", "keygen", private.to_str().unwrap()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8(out.stdout).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let public_file = dir.join("scanner.pub");
    std::fs::write(&public_file, &public).unwrap();
    let out = binary::command_async(
        app,
        &[
            "leak-keys",
            "add",
            "ci-scanner",
            public_file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = binary::command_async(app, &["leak-keys", "list", "--json"]).await;
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["key_id"], "ci-scanner");
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "not a key").unwrap();
    let out = binary::command_async(app, &["leak-keys", "add", "x", bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'leak_report_key_changed' AND actor_kind = 'cli'").await, 1);

    let out = binary::command_async(app, &["leak-report", "--url", "http://127.0.0.1:9"]).await;
    assert_eq!(out.status.code(), Some(2), "usage");
    // The uploader, against the real binary serving this database.
    app.flush_audit().await;
    let server = binary::start(app);
    let url = format!("http://127.0.0.1:{}", server.port);
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    for (fixture, token) in [("gitleaks.json", &w.new), ("trufflehog.jsonl", &w.other)] {
        let text = std::fs::read_to_string(format!("{fixtures}/{fixture}")).unwrap();
        let file = dir.join(fixture);
        std::fs::write(&file, text.replace("__TOKEN__", token)).unwrap();
        let out = binary::command_async(
            app,
            &[
                "leak-report",
                "--url",
                &url,
                "--key-id",
                "ci-scanner",
                "--key",
                private.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
        )
        .await;
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains("reported 1 token(s)"), "{said}");
    }
    for t in [&w.new, &w.old, &w.other, &w.child] {
        assert_eq!(whoami(app, t).await, 401);
    }
    let sources: Vec<String> = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'token_leaked' ORDER BY seq",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert_eq!(sources.len(), 2);
    assert!(
        sources[0].contains("gitleaks") && sources[0].contains("deploy/agent.env:12"),
        "{}",
        sources[0]
    );
    assert!(
        sources[1].contains("trufflehog")
            && sources[1].contains("https://github.com/example-org/agents/blob/9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b/scripts/run-agent.sh#L4"),
        "{}",
        sources[1]
    );
    // A key that is not registered: the uploader fails with the server's word.
    app.flush_audit().await;
    let other = dir.join("other.pem");
    std::fs::write(
        &other,
        signing_key(3)
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let out = binary::command_async(
        app,
        &[
            "leak-report",
            "--url",
            &url,
            "--key-id",
            "ci-scanner",
            "--key",
            other.to_str().unwrap(),
            dir.join("gitleaks.json").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
    binary::stop(server);
    app.flush_audit().await;
    let out = binary::command_async(app, &["leak-keys", "remove", "ci-scanner"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = binary::command_async(app, &["leak-keys", "remove", "ci-scanner"]).await;
    assert_eq!(out.status.code(), Some(3));
}

#[tokio::test]
async fn oauth_and_task_tokens_are_revoked_with_what_hangs_from_them() {
    use common::oauth::{code, exchange, post_form, MCP, VERIFIER};
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let key = signing_key(7);
    register(&app, "k1", &key).await;
    // Two connected apps: one's access token leaks, the other's refresh token.
    let (client1, c1) = code(&app, &o).await;
    let first = exchange(&app, &client1, &c1, VERIFIER).await.json();
    let access1 = first["access_token"].as_str().unwrap().to_string();
    let (client2, c2) = code(&app, &o).await;
    let second = exchange(&app, &client2, &c2, VERIFIER).await.json();
    let access2 = second["access_token"].as_str().unwrap().to_string();
    let refresh2 = second["refresh_token"].as_str().unwrap().to_string();
    // A task token leaks on its own: its subject key keeps working.
    let agent = token_with(&app, &o, "agent", &DELEGATE, "30").await;
    let project = project(&app, &o, "fleet").await;
    let res = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&agent),
        Some(json!({"project_id": project, "title": "t"})),
    )
    .await;
    let task = res.json()["id"].as_str().unwrap().to_string();
    let child = task_token(&app, &agent, &task).await;
    for t in [&access1, &access2, &child] {
        assert_eq!(whoami(&app, t).await, 200);
    }
    let res = signed(
        &app,
        "k1",
        &key,
        &json!([
            {"token": access1, "type": "preqstation_oauth_token", "url": "u1", "source": "content"},
            {"token": refresh2, "type": "preqstation_oauth_token", "url": "u2", "source": "content"},
            {"token": child, "type": "preqstation_task_token", "url": "u3", "source": "commit"},
        ]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let labels: Vec<String> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, vec!["true_positive"; 3]);
    // Both grants end (every token of theirs), and the task token; not its subject.
    for t in [&access1, &access2, &child] {
        assert_eq!(whoami(&app, t).await, 401);
    }
    assert_eq!(whoami(&app, &agent).await, 200);
    let refreshed = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client2),
            ("refresh_token", &refresh2),
            ("resource", MCP),
        ],
    )
    .await;
    assert_eq!(refreshed.status, 400, "{}", refreshed.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_grants WHERE revoked_reason = 'leaked'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM task_tokens WHERE revoked_reason = 'leaked'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL")
            .await,
        0
    );
    app.flush_audit().await;
    let rows: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT details, actor, target, actor_kind FROM audit_events WHERE action = 'token_leaked' ORDER BY seq",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    for (details, actor, target, kind) in &rows {
        assert_eq!(actor, "k1");
        assert_eq!(kind, "system");
        assert_eq!(target.as_deref().unwrap().len(), 12);
        for t in [&access1, &refresh2, &child] {
            assert!(!details.contains(t.as_str()), "never the token");
        }
    }
    let details: Value = serde_json::from_str(&rows[2].0).unwrap();
    assert_eq!(details["type"], "preqstation_task_token");
    assert_eq!(details["source"], "commit");
    assert_eq!(details["revoked"], 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'leak_report_received' AND actor = 'k1'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_token_that_no_longer_works_is_a_false_positive_and_nothing_is_revoked() {
    let w = world().await;
    let app = &w.app;
    let key = signing_key(7);
    register(app, "k1", &key).await;
    // The successor's first use ends its predecessor's grace: the old key
    // is dead though not revoked, so reporting it ends nothing.
    assert_eq!(whoami(app, &w.new).await, 200);
    assert_eq!(whoami(app, &w.old).await, 401);
    // A task token whose task is done no longer works either.
    let res = api(
        app,
        "PATCH",
        &format!("/api/tasks/{}", w.task),
        Some(&w.other),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = signed(
        app,
        "k1",
        &key,
        &json!([
            {"token": w.old, "type": "t", "url": "u", "source": "s"},
            {"token": w.child, "type": "t", "url": "u", "source": "s"},
            // A fragment of a working token is not the token.
            {"token": &w.new[..w.new.len() - 1], "type": "t", "url": "u", "source": "s"},
        ]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    for f in res.json().as_array().unwrap() {
        assert_eq!(f["label"], "false_positive");
    }
    assert_eq!(whoami(app, &w.new).await, 200);
    assert_eq!(whoami(app, &w.other).await, 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL")
            .await,
        0
    );
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_leaked'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM notifications WHERE kind = 'token_leaked'")
            .await,
        0
    );
}

#[tokio::test]
async fn the_endpoint_is_documented_without_a_bearer_token() {
    let app = TestApp::new().await;
    let doc = app.get("/api/openapi.json", None).await.json();
    let op = &doc["paths"]["/api/secret-scanning/report"]["post"];
    assert!(op.is_object(), "documented");
    for status in ["200", "400", "401", "413", "422", "429"] {
        assert!(op["responses"][status].is_object(), "{status} documented");
    }
    assert!(op["security"].as_array().is_none_or(|s| s.is_empty()));
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Github-Public-Key-Identifier"));
    assert!(names.contains(&"Github-Public-Key-Signature"));
    let item = &doc["components"]["schemas"]["LeakReportItem"];
    assert_eq!(item["properties"]["token"]["maxLength"], 1024);
    assert_eq!(item["required"], json!(["token"]));
    assert!(item["properties"]["type"].is_object());
    assert!(doc["components"]["schemas"]["LeakFeedback"].is_object());
}
