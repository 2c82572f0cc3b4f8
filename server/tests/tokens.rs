//! API tokens through the real router: create under policy, list, revoke,
//! and bearer authentication on `/api/auth/whoami`.

mod common;

use axum::{body::Body, http::Request};
use common::{TestApp, TestResponse};
use serde_json::Value;

const DEFAULT_SCOPES: [(&str, &str); 4] = [
    ("scope_projects_read", "on"),
    ("scope_tasks_read", "on"),
    ("scope_tasks_write", "on"),
    ("scope_worklogs_write", "on"),
];

async fn create(
    app: &TestApp,
    cookie: &str,
    name: &str,
    expiry: &str,
    extra: &[(&str, &str)],
) -> TestResponse {
    let mut form = vec![("name", name), ("expiry", expiry)];
    form.extend_from_slice(&DEFAULT_SCOPES);
    form.extend_from_slice(extra);
    app.call("tokens/create", &form, Some(cookie)).await
}

async fn create_ok(app: &TestApp, cookie: &str, name: &str) -> (String, Value) {
    let res = create(app, cookie, name, "30", &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    (v["token"].as_str().unwrap().to_string(), v["view"].clone())
}

async fn whoami(app: &TestApp, auth: Option<&str>) -> TestResponse {
    let mut req = Request::get("/api/auth/whoami");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

async fn member(app: &TestApp, email: &str) -> String {
    common::owner(app, email, false).await.cookie
}

fn list_ids(res: &TestResponse) -> Vec<String> {
    res.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_new_token_works_at_once_and_is_stored_only_as_a_hash() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let res = create(
        &app,
        &cookie,
        "  claude-code-prod ",
        "90",
        &[("description", "laptop")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let v = res.json();
    let token = v["token"].as_str().unwrap();
    assert!(token.starts_with("preq_") && token.len() == 43);
    assert_eq!(v["view"]["name"], "claude-code-prod");
    assert_eq!(v["view"]["prefix"], &token[..12]);
    assert_eq!(v["api_url"], "http://127.0.0.1:3000");
    let expires = v["view"]["expires_at"].as_i64().unwrap();
    let created = v["view"]["created_at"].as_i64().unwrap();
    assert_eq!(expires - created, 90 * 86_400_000);

    let me = whoami(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let body = me.json();
    assert_eq!(body["account"]["email"], "admin@example.com");
    assert_eq!(body["token"]["name"], "claude-code-prod");
    assert_eq!(body["token"]["prefix"], &token[..12]);
    assert_eq!(
        body["token"]["scopes"],
        serde_json::json!([
            "projects:read",
            "tasks:read",
            "tasks:write",
            "worklogs:write"
        ])
    );
    assert!(body["token"]["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert_eq!(me.header("x-content-type-options"), Some("nosniff"));
    assert!(me
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));

    // At rest: the hash and the 12-character prefix, never the token.
    let hash = app::crypto::sha256_hex(token.as_bytes());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{hash}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE prefix = '{}'",
            &token[..12]
        ))
        .await,
        1
    );
    // Reloading the list never shows it again.
    let list = app.call("tokens/list", &[], Some(&cookie)).await;
    assert!(!list.body.contains(token));
    assert!(!list.body.contains(&token[12..]));
}

#[tokio::test]
async fn every_expiry_choice() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    for (i, days) in [7i64, 30, 90, 180, 365].into_iter().enumerate() {
        if i == 4 {
            // Free slots: the cap is 5 and three more choices follow.
            for t in app
                .call("tokens/list", &[], Some(&cookie))
                .await
                .json()
                .as_array()
                .unwrap()
            {
                app.call(
                    "tokens/revoke",
                    &[("id", t["id"].as_str().unwrap())],
                    Some(&cookie),
                )
                .await;
            }
        }
        let res = create(&app, &cookie, &format!("t{days}"), &days.to_string(), &[]).await;
        assert_eq!(res.status, 200, "{days}: {}", res.body);
        let v = &res.json()["view"];
        assert_eq!(
            v["expires_at"].as_i64().unwrap() - v["created_at"].as_i64().unwrap(),
            days * 86_400_000
        );
    }
    let never = create(&app, &cookie, "forever", "never", &[]).await;
    assert_eq!(never.status, 200, "{}", never.body);
    assert!(never.json()["view"]["expires_at"].is_null());

    let date = (time::OffsetDateTime::now_utc() + time::Duration::days(45)).date();
    let custom = create(
        &app,
        &cookie,
        "custom",
        "custom",
        &[("custom_date", &date.to_string())],
    )
    .await;
    assert_eq!(custom.status, 200, "{}", custom.body);
    let at = custom.json()["view"]["expires_at"].as_i64().unwrap();
    let end_of_day = date
        .next_day()
        .unwrap()
        .midnight()
        .assume_utc()
        .unix_timestamp()
        * 1000;
    assert_eq!(at, end_of_day);

    for (expiry, extra, field) in [
        ("14", vec![], "expiry"),
        ("custom", vec![], "custom_date"),
        ("custom", vec![("custom_date", "2001-01-01")], "custom_date"),
        ("custom", vec![("custom_date", "tomorrow")], "custom_date"),
    ] {
        let res = create(&app, &cookie, "bad", expiry, &extra).await;
        assert_eq!(res.status, 422, "{expiry}: {}", res.body);
        assert_eq!(res.json()["Field"]["field"], field);
    }
}

#[tokio::test]
async fn names_scopes_and_duplicates() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    create_ok(&app, &cookie, "local-dev").await;
    let dup = create(&app, &cookie, " local-dev ", "30", &[]).await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.json()["Field"]["field"], "name");

    let empty = create(&app, &cookie, "   ", "30", &[]).await;
    assert_eq!(empty.json()["Field"]["field"], "name");
    let long = create(&app, &cookie, &"n".repeat(65), "30", &[]).await;
    assert_eq!(long.json()["Field"]["field"], "name");

    let no_scopes = app
        .call(
            "tokens/create",
            &[("name", "noscope"), ("expiry", "30")],
            Some(&cookie),
        )
        .await;
    assert_eq!(no_scopes.status, 422);
    assert_eq!(no_scopes.json()["Field"]["field"], "scopes");

    let rotate_only = app
        .call(
            "tokens/create",
            &[
                ("name", "rotator"),
                ("expiry", "30"),
                ("scope_tokens_rotate_self", "on"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(
        rotate_only.json()["view"]["scopes"],
        serde_json::json!(["tokens:rotate-self"])
    );

    // A revoked token's name can be used again.
    let (_, v) = create_ok(&app, &cookie, "reuse-me").await;
    app.call(
        "tokens/revoke",
        &[("id", v["id"].as_str().unwrap())],
        Some(&cookie),
    )
    .await;
    create_ok(&app, &cookie, "reuse-me").await;
}

#[tokio::test]
async fn the_active_token_cap_says_how_to_free_a_slot() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let mut ids = vec![];
    for i in 0..5 {
        ids.push(
            create_ok(&app, &cookie, &format!("agent-{i}")).await.1["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let sixth = create(&app, &cookie, "agent-5", "30", &[]).await;
    assert_eq!(sixth.status, 409, "{}", sixth.body);
    let message = sixth.json()["Conflict"].as_str().unwrap().to_string();
    assert!(
        message.contains("5 active tokens") && message.contains("Revoke"),
        "{message}"
    );

    // Revoked and expired tokens do not count.
    app.call("tokens/revoke", &[("id", &ids[0])], Some(&cookie))
        .await;
    create_ok(&app, &cookie, "agent-5").await;
    sqlx::query(&format!(
        "UPDATE api_tokens SET expires_at = 1 WHERE id = '{}'",
        ids[1]
    ))
    .execute(&app.state.db)
    .await
    .unwrap();
    create_ok(&app, &cookie, "agent-6").await;
    assert_eq!(
        create(&app, &cookie, "agent-7", "30", &[]).await.status,
        409
    );

    // Another account has its own five.
    let other = member(&app, "member@example.com").await;
    for i in 0..5 {
        create_ok(&app, &other, &format!("m-{i}")).await;
    }
}

#[tokio::test]
async fn policies_apply_on_the_server_and_only_admins_change_them() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;
    let member = member(&app, "member@example.com").await;

    let policy = app.call("tokens/policy", &[], Some(&member)).await.json();
    assert_eq!(policy["max_active_tokens"], 5);
    assert_eq!(policy["default_expiry_days"], 90);

    let change = [
        ("default_expiry", "30"),
        ("max_lifetime", "90"),
        ("max_active_tokens", "2"),
    ];
    let refused = app
        .call("tokens/policy/update", &change, Some(&member))
        .await;
    assert_eq!(refused.status, 403);
    let res = app
        .call("tokens/policy/update", &change, Some(&admin))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM policy_changes").await, 1);

    // A hand-made request cannot get around the policy.
    let never = create(&app, &member, "forever", "never", &[]).await;
    assert_eq!(never.status, 422);
    assert_eq!(never.json()["Field"]["field"], "expiry");
    let long = create(&app, &member, "long", "180", &[]).await;
    assert_eq!(long.json()["Field"]["field"], "expiry");
    let date = (time::OffsetDateTime::now_utc() + time::Duration::days(200))
        .date()
        .to_string();
    let custom = create(&app, &member, "long", "custom", &[("custom_date", &date)]).await;
    assert_eq!(custom.json()["Field"]["field"], "expiry");
    create_ok(&app, &member, "one").await;
    let res = create(&app, &member, "two", "90", &[]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(create(&app, &member, "three", "7", &[]).await.status, 409);

    // Inconsistent or junk policy input is a field error.
    for (form, field) in [
        (
            [
                ("default_expiry", "never"),
                ("max_lifetime", "90"),
                ("max_active_tokens", "5"),
            ],
            "default_expiry",
        ),
        (
            [
                ("default_expiry", "365"),
                ("max_lifetime", "90"),
                ("max_active_tokens", "5"),
            ],
            "default_expiry",
        ),
        (
            [
                ("default_expiry", "30"),
                ("max_lifetime", "none"),
                ("max_active_tokens", "0"),
            ],
            "max_active_tokens",
        ),
        (
            [
                ("default_expiry", "30"),
                ("max_lifetime", "12"),
                ("max_active_tokens", "5"),
            ],
            "max_lifetime",
        ),
    ] {
        let res = app.call("tokens/policy/update", &form, Some(&admin)).await;
        assert_eq!(res.status, 422, "{form:?}");
        assert_eq!(res.json()["Field"]["field"], field);
    }
    // Members cannot see the page either.
    let page = app.get("/settings/policies", Some(&member)).await;
    assert!(page.body.contains("Only administrators"));
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn lists_filter_by_status_and_never_show_other_owners_tokens() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;
    let (_, active) = create_ok(&app, &admin, "active").await;
    let (_, revoked) = create_ok(&app, &admin, "revoked").await;
    let (_, expired) = create_ok(&app, &admin, "expired").await;
    app.call(
        "tokens/revoke",
        &[("id", revoked["id"].as_str().unwrap())],
        Some(&admin),
    )
    .await;
    sqlx::query(&format!(
        "UPDATE api_tokens SET expires_at = 1 WHERE id = '{}'",
        expired["id"].as_str().unwrap()
    ))
    .execute(&app.state.db)
    .await
    .unwrap();
    let other = member(&app, "member@example.com").await;
    let (_, theirs) = create_ok(&app, &other, "theirs").await;

    let all = app.call("tokens/list", &[], Some(&admin)).await;
    let ids = list_ids(&all);
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&theirs["id"].as_str().unwrap().to_string()));
    let statuses: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().into())
        .collect();
    assert_eq!(statuses, ["expired", "revoked", "active"], "newest first");
    let revoked_row = &all.json()[1];
    assert_eq!(revoked_row["revoked_by"], "admin@example.com");
    assert!(revoked_row["revoked_at"].is_i64());

    for (status, expected) in [
        ("active", &active),
        ("revoked", &revoked),
        ("expired", &expired),
    ] {
        let res = app
            .call("tokens/list", &[("status", status)], Some(&admin))
            .await;
        assert_eq!(
            list_ids(&res),
            vec![expected["id"].as_str().unwrap().to_string()],
            "{status}"
        );
    }
    let hidden = app
        .call("tokens/list", &[("hide_revoked", "true")], Some(&admin))
        .await;
    assert_eq!(list_ids(&hidden).len(), 2);
    let junk = app
        .call("tokens/list", &[("status", "bogus")], Some(&admin))
        .await;
    assert_eq!(junk.status, 422);
    assert_eq!(app.call("tokens/list", &[], None).await.status, 401);
}

#[tokio::test]
async fn revocation_is_immediate_idempotent_and_owner_only() {
    let app = TestApp::new().await;
    let admin = app.setup_admin("admin@example.com").await;
    let (token, view) = create_ok(&app, &admin, "ci").await;
    let id = view["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    assert_eq!(whoami(&app, Some(&bearer)).await.status, 200);

    // Another owner cannot revoke it, even knowing its id.
    let other = member(&app, "member@example.com").await;
    let res = app
        .call("tokens/revoke", &[("id", &id)], Some(&other))
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(whoami(&app, Some(&bearer)).await.status, 200);
    for junk in ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        assert_eq!(
            app.call("tokens/revoke", &[("id", junk)], Some(&admin))
                .await
                .status,
            404
        );
    }

    let res = app
        .call("tokens/revoke", &[("id", &id)], Some(&admin))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let refused = whoami(&app, Some(&bearer)).await;
    assert_eq!(refused.status, 401);
    let again = app
        .call("tokens/revoke", &[("id", &id)], Some(&admin))
        .await;
    assert_eq!(again.status, 200, "revoking twice is fine");

    // A second instance over the same database agrees at once.
    let second = TestApp::open(
        app.database_url.clone(),
        tempfile::tempdir().unwrap(),
        |_| {},
    )
    .await;
    assert_eq!(whoami(&second, Some(&bearer)).await.status, 401);
}

#[tokio::test]
async fn each_kind_of_bad_token_gets_a_401_that_says_why() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let (token, view) = create_ok(&app, &cookie, "victim").await;
    let prefix = &token[..12];

    let missing = whoami(&app, None).await;
    assert_eq!(missing.status, 401);
    assert!(missing
        .header("www-authenticate")
        .unwrap()
        .starts_with(r#"Bearer realm="preqstation", resource_metadata="#));
    assert_eq!(
        missing.json(),
        serde_json::json!({"error": {"code": "UNAUTHORIZED", "message": "Missing or invalid authorization header"}})
    );
    let basic = whoami(&app, Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l")).await;
    assert_eq!(
        basic.json()["error"]["message"],
        "Missing or invalid authorization header"
    );

    let mut changed = token.clone().into_bytes();
    changed[20] = if changed[20] == b'a' { b'b' } else { b'a' };
    let changed = String::from_utf8(changed).unwrap();
    let unknown = app::tokens::format::generate("preq_").unwrap();
    for (auth, needle) in [
        ("Bearer nonsense".to_string(), "not a Preqstation API token"),
        (format!("Bearer {changed}"), "checksum"),
        (format!("Bearer {}", unknown.expose()), "Invalid token."),
        (format!("bearer {}x", token), "not a Preqstation API token"),
    ] {
        let res = whoami(&app, Some(&auth)).await;
        assert_eq!(res.status, 401, "{auth}");
        assert!(res.header("www-authenticate").unwrap().starts_with(
            r#"Bearer realm="preqstation", error="invalid_token", resource_metadata="#
        ));
        let body = res.json();
        assert_eq!(body["error"]["code"], "UNAUTHORIZED");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{auth}: {body}"
        );
        assert!(!res.body.contains(&token[12..]), "never echoes the token");
    }

    sqlx::query(&format!(
        "UPDATE api_tokens SET expires_at = 1000 WHERE id = '{}'",
        view["id"].as_str().unwrap()
    ))
    .execute(&app.state.db)
    .await
    .unwrap();
    let expired = whoami(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(expired.status, 401);
    let message = expired.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(prefix) && message.contains("expired"),
        "{message}"
    );
    assert!(!expired.body.contains(&token[12..]));

    let (token2, view2) = create_ok(&app, &cookie, "victim2").await;
    app.call(
        "tokens/revoke",
        &[("id", view2["id"].as_str().unwrap())],
        Some(&cookie),
    )
    .await;
    let revoked = whoami(&app, Some(&format!("Bearer {token2}"))).await;
    let message = revoked.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(&token2[..12]) && message.contains("revoked"),
        "{message}"
    );

    // Unknown API routes answer in the same envelope.
    let res = app.get("/api/nope", None).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn last_use_is_recorded_without_a_write_per_request() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let (token, _) = create_ok(&app, &cookie, "agent").await;
    let req = || {
        Request::get("/api/auth/whoami")
            .header("authorization", format!("Bearer {token}"))
            .header("user-agent", "claude-code/1.0")
            .body(Body::empty())
            .unwrap()
    };
    app.send(req()).await;
    let list = app.call("tokens/list", &[], Some(&cookie)).await.json();
    let first = list[0]["last_used_at"].as_i64().unwrap();
    assert_eq!(list[0]["last_used_ip"], "127.0.0.1");
    assert_eq!(list[0]["last_used_client"], "claude-code/1.0");
    app.send(req()).await;
    let list = app.call("tokens/list", &[], Some(&cookie)).await.json();
    assert_eq!(
        list[0]["last_used_at"].as_i64().unwrap(),
        first,
        "coalesced within a minute"
    );
}

/// Lookups that arrive together share one statement (`TokenLookups`):
/// each request still gets its own token's answer, never a neighbour's,
/// and a revoked or unknown token in the same batch is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_each_get_their_own_token() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let admin = app.setup_admin("admin@example.com").await;
    let member = member(&app, "member@example.com").await;
    let mut tokens = Vec::new();
    for (cookie, email) in [
        (&admin, "admin@example.com"),
        (&member, "member@example.com"),
    ] {
        for i in 0..3 {
            let name = format!("agent-{i}");
            let (token, view) = create_ok(&app, cookie, &name).await;
            tokens.push((token, view["id"].as_str().unwrap().to_string(), name, email));
        }
    }
    let revoked = tokens.pop().unwrap();
    let res = app
        .call("tokens/revoke", &[("id", &revoked.1)], Some(&member))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // The revoked token's last character changed: well-formed shape, bad
    // checksum, refused before any lookup.
    let mut garbled = revoked.0.clone();
    let last = garbled.pop().unwrap();
    garbled.push(if last == 'a' { 'b' } else { 'a' });

    let mut calls = tokio::task::JoinSet::new();
    for round in 0..8 {
        let mut expected: Vec<(String, Option<(String, &str)>)> = tokens
            .iter()
            .map(|(token, _, name, email)| {
                (format!("Bearer {token}"), Some((name.clone(), *email)))
            })
            .collect();
        let refused = if round % 2 == 0 { &revoked.0 } else { &garbled };
        expected.push((format!("Bearer {refused}"), None));
        for (header, want) in expected {
            let app = app.clone();
            calls.spawn(async move { (want, whoami(&app, Some(&header)).await) });
        }
    }
    let answers = calls.join_all().await;
    assert_eq!(answers.len(), 8 * 6);
    for (want, res) in answers {
        match want {
            Some((name, email)) => {
                assert_eq!(res.status, 200, "{}", res.body);
                let v = res.json();
                assert_eq!(v["token"]["name"], name);
                assert_eq!(v["account"]["email"], email);
            }
            None => assert_eq!(res.status, 401, "{}", res.body),
        }
    }
}
