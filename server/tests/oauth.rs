//! The OAuth 2.1 authorization server (issue 15) through the real router:
//! metadata, dynamic registration, the code flow with PKCE and consent,
//! every refusal, refresh rotation and reuse detection, revocation, the
//! audience check, and the access token on both doors.

mod common;

use axum::{body::Body, http::Request};

use common::{oauth::*, owner, TestApp};
use serde_json::json;
use sha2::Digest;

#[tokio::test]
async fn metadata_documents_and_the_mcp_challenge() {
    let app = TestApp::new().await;
    let prm = get(&app, "/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(prm.status, 200);
    assert_eq!(prm.json()["resource"], MCP);
    assert_eq!(
        prm.json()["authorization_servers"],
        json!(["http://127.0.0.1:3000"])
    );
    let api = get(&app, "/.well-known/oauth-protected-resource").await;
    assert_eq!(api.json()["resource"], "http://127.0.0.1:3000");
    let as_meta = get(&app, "/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(as_meta["issuer"], "http://127.0.0.1:3000");
    assert_eq!(as_meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        as_meta["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ])
    );
    assert_eq!(as_meta["response_types_supported"], json!(["code"]));
    assert_eq!(
        as_meta["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert_eq!(
        as_meta["authorization_response_iss_parameter_supported"],
        true
    );
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
    ] {
        assert!(
            as_meta[key]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:3000/oauth/"),
            "{key}"
        );
    }
    assert!(!as_meta["scopes_supported"].to_string().contains("rotate"));

    // The 401 on /mcp says where to look and what to ask for.
    let res = tools_list(&app, "nothing").await;
    assert_eq!(res.status, 401);
    let challenge = res.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(
            r#"resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp""#
        ),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="projects:read"#), "{challenge}");
    let res = whoami(&app, "nothing").await;
    assert!(res
        .header("www-authenticate")
        .unwrap()
        .contains("/.well-known/oauth-protected-resource\""));
}

#[tokio::test]
async fn registration_accepts_good_clients_and_refuses_bad_ones() {
    let app = TestApp::new().await;
    let ok = register(&app, json!({"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "application_type": "native"})).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.json()["token_endpoint_auth_method"], "none");
    for (body, error) in [
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["http://example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://example.com/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://*.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let res = register(&app, body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert_eq!(res.json()["error"], error, "{body}");
    }
    // Per-IP limit: 10 a minute.
    let mut limited = false;
    for _ in 0..12 {
        if register(&app, json!({"redirect_uris": [REDIRECT]}))
            .await
            .status
            == 429
        {
            limited = true;
        }
    }
    assert!(limited, "registrations are rate limited per IP");
}

#[tokio::test]
async fn the_whole_flow_gives_a_token_that_works_on_both_doors() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, code) = code(&app, &o).await;
    let res = exchange(&app, &client_id, &code, VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let t = res.json();
    let access = t["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("preq_oat_"), "{access}");
    assert!(t["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("preq_ort_"));
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert_eq!(t["scope"], "projects:read tasks:read");
    assert_eq!(res.header("cache-control"), Some("no-store"));

    let me = whoami(&app, &access).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["account"]["email"], "owner@example.com");
    assert_eq!(me.json()["token"]["name"], "Test host");
    let tools = tools_list(&app, &access).await;
    assert_eq!(tools.status, 200, "{}", tools.body);
    // Scopes are enforced like an API key's: no tasks:write here.
    let denied = common::api(
        &app,
        "POST",
        "/api/tasks",
        Some(&access),
        Some(json!({"project_id": uuid::Uuid::new_v4().to_string(), "title": "x"})),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    // Stored hashed only.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM oauth_tokens WHERE token_hash = '{}'",
            hex_sha(&access)
        ))
        .await,
        1
    );
    assert_eq!(events(&app, "oauth_grant_created").await, 1);
    assert!(events(&app, "token_used").await >= 1);

    // Connected apps lists it; revoking it ends the token at once.
    let apps = app
        .call("oauth/connected-apps", &[], Some(&o.cookie))
        .await
        .json();
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(apps[0]["client_name"], "Test host");
    let id = apps[0]["id"].as_str().unwrap().to_string();
    let other = owner(&app, "member@example.com", false).await;
    assert_eq!(
        app.call("oauth/connected-apps", &[], Some(&other.cookie))
            .await
            .json(),
        json!([])
    );
    assert_eq!(
        app.call("oauth/revoke-app", &[("id", &id)], Some(&other.cookie))
            .await
            .status,
        404,
        "not theirs"
    );
    assert_eq!(whoami(&app, &access).await.status, 200);
    assert_eq!(
        app.call("oauth/revoke-app", &[("id", &id)], Some(&o.cookie))
            .await
            .status,
        200
    );
    assert_eq!(whoami(&app, &access).await.status, 401);
    assert_eq!(tools_list(&app, &access).await.status, 401);
}

fn hex_sha(s: &str) -> String {
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn every_flow_step_refuses_what_it_must() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let client_id = client(&app).await;

    // Not redirected: unknown client, foreign redirect URI.
    let res = get(&app, &authorize_url("dyn_nobody", &[])).await;
    assert_eq!(res.status, 400);
    let res = get(
        &app,
        &authorize_url(&client_id, &[("redirect_uri", "https://evil.example/cb")]),
    )
    .await;
    assert_eq!(res.status, 400);
    assert!(res.header("location").is_none());
    // The loopback port may differ (RFC 8252).
    let res = get(
        &app,
        &authorize_url(
            &client_id,
            &[("redirect_uri", "http://127.0.0.1:9999/callback")],
        ),
    )
    .await;
    assert_eq!(res.status, 303);
    // Refused on our own page, never redirected (nobody has signed in or
    // seen the consent page yet): plain PKCE, wrong resource, rotate-self,
    // implicit, an overlong state.
    let long_state = "s".repeat(501);
    for (extra, message) in [
        (vec![("code_challenge_method", "plain")], "PKCE is required"),
        (vec![("code_challenge", "")], "code_challenge must be"),
        (
            vec![("resource", "https://other.example/mcp")],
            "resource must be",
        ),
        (vec![("resource", "")], "resource is required"),
        (vec![("scope", "tokens:rotate-self")], "cannot be granted"),
        (vec![("scope", "admin")], "Unknown scope"),
        (vec![("response_type", "token")], "response_type=code"),
        (vec![("state", long_state.as_str())], "state is too long"),
    ] {
        let res = get(&app, &authorize_url(&client_id, &extra)).await;
        assert_eq!(res.status, 400, "{extra:?}");
        assert!(res.header("location").is_none(), "{extra:?}");
        assert!(res.body.contains(message), "{extra:?}: {}", res.body);
    }

    // Deny: our own page, with a link back carrying access_denied and the state.
    let request = park(&app, &client_id).await;
    let res = decide(&app, &o, &request, "deny", &["projects:read"]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.header("location").is_none());
    let link = denied_link(&res.body);
    assert!(link.starts_with(REDIRECT), "{link}");
    let q = query_of(&link);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "xyz-state");
    // A request is answered once.
    let again = decide(&app, &o, &request, "allow", &["projects:read"]).await;
    assert_eq!(again.status, 400);
    // The consent form needs a signed-in, same-origin browser.
    let request = park(&app, &client_id).await;
    let foreign = app
        .send(
            Request::post("/oauth/decision")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", "https://evil.example")
                .header("cookie", &o.cookie)
                .body(Body::from(format!(
                    "request={request}&decision=allow&scope=projects:read"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(foreign.status, 403, "CSRF");
    let page = app
        .get(&format!("/oauth/consent?request={request}"), None)
        .await;
    assert_eq!(page.status, 303, "sign in first");
    assert!(page.header("location").unwrap().starts_with("/login?next="));
    let page = app
        .get(
            &format!("/oauth/consent?request={request}"),
            Some(&o.cookie),
        )
        .await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:4711;"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    let info = app
        .call(
            "oauth/consent-info",
            &[("request", &request)],
            Some(&o.cookie),
        )
        .await
        .json();
    assert_eq!(info["client_name"], "Test host");
    assert_eq!(info["source"], "registered dynamically, unverified");
    assert_eq!(info["localhost_only"], true);

    // Code exchange: wrong verifier, wrong redirect, wrong client, reuse, expiry.
    let (client_id, c) = code(&app, &o).await;
    assert_eq!(
        exchange(
            &app,
            &client_id,
            &c,
            "wrong-verifier-wrong-verifier-wrong-verifier-00"
        )
        .await
        .json()["error"],
        "invalid_grant"
    );
    let (client_id, c) = code(&app, &o).await;
    let wrong_redirect = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &c),
            ("redirect_uri", "http://127.0.0.1:4711/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(wrong_redirect.json()["error"], "invalid_grant");
    let (client_id, c) = code(&app, &o).await;
    let wrong_target = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &c),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", "https://elsewhere.example"),
        ],
    )
    .await;
    assert_eq!(wrong_target.json()["error"], "invalid_target");
    // Reuse: the second exchange fails and revokes what the first gave.
    let (client_id, c) = code(&app, &o).await;
    let first = exchange(&app, &client_id, &c, VERIFIER).await;
    let access = first.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(whoami(&app, &access).await.status, 200);
    assert_eq!(
        exchange(&app, &client_id, &c, VERIFIER).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(
        whoami(&app, &access).await.status,
        401,
        "a reused code revokes its grant"
    );
    assert_eq!(events(&app, "oauth_code_reused").await, 1);
    // Expired (60 seconds).
    let (client_id, c) = code(&app, &o).await;
    sqlx::query("UPDATE oauth_codes SET expires_at = expires_at - 61000 WHERE used_at IS NULL")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        exchange(&app, &client_id, &c, VERIFIER).await.json()["error"],
        "invalid_grant"
    );
    // No other grant types.
    for grant in ["password", "client_credentials", "implicit"] {
        let res = post_form(
            &app,
            "/oauth/token",
            &[("grant_type", grant), ("client_id", &client_id)],
        )
        .await;
        assert_eq!(res.json()["error"], "unsupported_grant_type", "{grant}");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, c) = code(&app, &o).await;
    let first = exchange(&app, &client_id, &c, VERIFIER).await.json();
    let refresh1 = first["refresh_token"].as_str().unwrap().to_string();
    let refresh = |token: String| {
        let app = &app;
        let client_id = client_id.clone();
        async move {
            post_form(
                app,
                "/oauth/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &client_id),
                    ("refresh_token", &token),
                    ("resource", MCP),
                ],
            )
            .await
        }
    };
    let second = refresh(refresh1.clone()).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let access2 = second.json()["access_token"].as_str().unwrap().to_string();
    let refresh2 = second.json()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2, "rotated");
    assert_eq!(whoami(&app, &access2).await.status, 200);
    assert_eq!(events(&app, "oauth_token_refreshed").await, 1);
    // Another client cannot use it.
    let other = client(&app).await;
    let stolen = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &other),
            ("refresh_token", &refresh2),
        ],
    )
    .await;
    assert_eq!(stolen.json()["error"], "invalid_grant");
    // The same client presenting refresh1 again inside the leeway (a lost
    // answer retried, a second window) gets the same pair, no revocation.
    let retry = refresh(refresh1.clone()).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()["refresh_token"], refresh2.as_str());
    assert_eq!(retry.json()["access_token"], access2.as_str());
    assert_eq!(whoami(&app, &access2).await.status, 200);
    assert_eq!(events(&app, "oauth_refresh_replayed").await, 1);
    // Once the leeway has ended, the used refresh token again is reuse: the
    // grant is revoked, a security event.
    sqlx::query("UPDATE oauth_tokens SET replay_until = replay_until - 31000 WHERE replay_until IS NOT NULL")
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(refresh(refresh1).await.json()["error"], "invalid_grant");
    assert_eq!(whoami(&app, &access2).await.status, 401);
    assert_eq!(refresh(refresh2).await.json()["error"], "invalid_grant");
    assert_eq!(events(&app, "oauth_refresh_reused").await, 1);
    app.flush_audit().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'oauth_refresh_reused' AND security = 1").await, 1);
}

#[tokio::test]
async fn revocation_endpoint_and_account_changes_end_grants() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, c) = code(&app, &o).await;
    let t = exchange(&app, &client_id, &c, VERIFIER).await.json();
    let access = t["access_token"].as_str().unwrap().to_string();
    // RFC 7009: 200 for unknown tokens too; a client's own token is revoked.
    assert_eq!(
        post_form(
            &app,
            "/oauth/revoke",
            &[("token", "nope"), ("client_id", &client_id)]
        )
        .await
        .status,
        200
    );
    assert_eq!(whoami(&app, &access).await.status, 200);
    assert_eq!(
        post_form(
            &app,
            "/oauth/revoke",
            &[
                ("token", t["refresh_token"].as_str().unwrap()),
                ("client_id", &client_id)
            ]
        )
        .await
        .status,
        200
    );
    assert_eq!(whoami(&app, &access).await.status, 401);

    // A password change ends the account's grants.
    let (client_id, c) = code(&app, &o).await;
    let access = exchange(&app, &client_id, &c, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(whoami(&app, &access).await.status, 200);
    let res = app
        .call(
            "account/password",
            &[
                ("current_password", common::PASSWORD),
                ("new_password", "a different long passphrase"),
                ("confirm", "a different long passphrase"),
                ("keep_tokens", "on"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(whoami(&app, &access).await.status, 401);
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_on_both_doors() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, c) = code(&app, &o).await;
    let access = exchange(&app, &client_id, &c, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The same database served under another public URL (a restart with
    // another PREQSTATION_PUBLIC_URL): the token's audience is not this one.
    let keys = app.state.config.keys.clone();
    let moved = TestApp::open(
        app.database_url.clone(),
        tempfile::tempdir().unwrap(),
        |c| {
            c.public_url = "https://tokens.example.com".into();
            c.keys = keys.clone();
        },
    )
    .await;
    let res = whoami(&moved, &access).await;
    assert_eq!(res.status, 401, "{}", res.body);
    assert!(res.body.contains("another server"), "{}", res.body);
    let res = moved
        .send(
            Request::post("/mcp")
                .header("host", "tokens.example.com")
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .header("authorization", format!("Bearer {access}"))
                .body(Body::from(
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 401, "{}", res.body);
}

#[tokio::test]
async fn an_admin_sees_and_revokes_an_accounts_apps_and_a_member_cannot() {
    let app = TestApp::new().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let (client_id, c) = code(&app, &member).await;
    let access = exchange(&app, &client_id, &c, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let member_id = whoami(&app, &access).await.json()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The member cannot look at the admin's apps.
    let admin_row: String =
        sqlx::query_scalar("SELECT id FROM accounts WHERE email = 'admin@example.com'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    let refused = app
        .call(
            "oauth/connected-apps",
            &[("account", &admin_row)],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // The admin sees the member's app and revokes it.
    let apps = app
        .call(
            "oauth/connected-apps",
            &[("account", &member_id)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    let id = apps.json()[0]["id"].as_str().unwrap().to_string();
    let res = app
        .call(
            "oauth/revoke-app",
            &[("id", &id), ("account", &member_id)],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(whoami(&app, &access).await.status, 401);
    let page = app
        .get(
            &format!("/admin/accounts/{member_id}/apps"),
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(page.status, 200);
    // Disabling the account ends its grants at once.
    let (client_id, c) = code(&app, &member).await;
    let access = exchange(&app, &client_id, &c, VERIFIER).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(whoami(&app, &access).await.status, 200);
    let res = app
        .call(
            "admin/accounts/disable",
            &[("id", &member_id), ("disabled", "true")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(whoami(&app, &access).await.status, 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_grants WHERE revoked_reason = 'account_disabled'")
            .await,
        1
    );
}

#[tokio::test]
async fn grants_per_client_are_bounded_and_account_changes_end_them() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let client_id = client(&app).await;
    // Eleven authorizations of one client: the oldest grant ends.
    let mut first_access = String::new();
    for i in 0..11 {
        let request = park(&app, &client_id).await;
        let res = decide(&app, &member, &request, "allow", &["projects:read"]).await;
        let c = query_of(res.header("location").unwrap())["code"].clone();
        let t = exchange(&app, &client_id, &c, VERIFIER).await.json();
        if i == 0 {
            first_access = t["access_token"].as_str().unwrap().to_string();
        }
    }
    assert_eq!(whoami(&app, &first_access).await.status, 401, "superseded");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_grants WHERE revoked_at IS NULL")
            .await,
        oauth_grants_cap()
    );
    // Disabling the account ends its grants; so does an admin's invalidate.
    let member_id: String =
        sqlx::query_scalar("SELECT id FROM accounts WHERE email = 'member@example.com'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    let res = app
        .call(
            "admin/accounts/invalidate",
            &[("id", &member_id)],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_grants WHERE revoked_at IS NULL")
            .await,
        0
    );
}

fn oauth_grants_cap() -> i64 {
    app::oauth::grants::GRANTS_PER_CLIENT
}

#[tokio::test]
async fn the_oauth_endpoints_are_limited_per_ip() {
    let app = TestApp::with_config(|c| c.api_rate_per_ip = 3).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            get(&app, "/oauth/authorize?client_id=x")
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..3], &[400, 400, 400], "{statuses:?}");
    assert_eq!(statuses[4], 429, "{statuses:?}");
    let res = get(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(res.status, 429);
    assert!(res.header("retry-after").is_some());
    assert_eq!(res.json()["error"], "temporarily_unavailable");
}
