//! OAuth as real MCP hosts use it, and the review's findings on the flow:
//! no `state`, no redirect before consent, a leaked code that cannot kill
//! the grant, the refresh leeway (retries, two windows, concurrent
//! refreshes), a claim undone by a failed issue, OAuth actions in the audit
//! filter, and the body limit on the token endpoint.

mod common;

use common::{oauth::*, owner, Owner, TestApp};
use serde_json::{json, Value};

/// Consent (Allow) for a request parked without `state`: the redirect
/// carries the code and `iss`, and no `state`.
async fn code_without_state(app: &TestApp, o: &Owner, client_id: &str) -> String {
    let res = get(app, &authorize_url(client_id, &[("state", "")])).await;
    assert_eq!(
        res.status, 303,
        "a request without state is accepted: {}",
        res.body
    );
    let request = query_of(res.header("location").unwrap())["request"].clone();
    let res = decide(app, o, &request, "allow", &["projects:read", "tasks:read"]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let location = res.header("location").unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let q = query_of(location);
    assert!(!q.contains_key("state"), "no state was sent: {location}");
    assert_eq!(q["iss"], "http://127.0.0.1:3000");
    q["code"].clone()
}

async fn refresh(app: &TestApp, client_id: &str, token: &str) -> common::TestResponse {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", token),
        ],
    )
    .await
}

async fn tokens(app: &TestApp, o: &Owner) -> (String, Value) {
    let (client_id, c) = code(app, o).await;
    let res = exchange(app, &client_id, &c, VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.body);
    (client_id, res.json())
}

#[tokio::test]
async fn a_client_that_sends_no_state_connects() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let client_id = client(&app).await;
    let c = code_without_state(&app, &o, &client_id).await;
    let res = exchange(&app, &client_id, &c, VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let access = res.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(whoami(&app, &access).await.status, 200);
    // A Deny without state: the link back carries no state either.
    let res = get(&app, &authorize_url(&client_id, &[("state", "")])).await;
    let request = query_of(res.header("location").unwrap())["request"].clone();
    let res = decide(&app, &o, &request, "deny", &[]).await;
    assert_eq!(res.status, 200);
    let q = query_of(&denied_link(&res.body));
    assert_eq!(q["error"], "access_denied");
    assert!(!q.contains_key("state"));
}

#[tokio::test]
async fn an_attacker_made_client_cannot_use_the_server_as_an_open_redirect() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let res = register(
        &app,
        json!({"client_name": "Evil", "redirect_uris": ["https://evil.example/cb"]}),
    )
    .await;
    assert_eq!(res.status, 201);
    let evil = res.json()["client_id"].as_str().unwrap().to_string();
    let url = |extra: &[(&str, &str)]| {
        let mut all = vec![("redirect_uri", "https://evil.example/cb")];
        all.extend_from_slice(extra);
        authorize_url(&evil, &all)
    };
    // Any error before the owner signed in and saw the consent page is shown
    // here, never redirected: with no session and with one.
    for extra in [
        vec![("response_type", "x")],
        vec![("code_challenge_method", "plain")],
        vec![("scope", "nonsense")],
        vec![("resource", "https://elsewhere.example")],
    ] {
        let res = get(&app, &url(&extra)).await;
        assert_eq!(res.status, 400, "{extra:?}");
        assert!(res.header("location").is_none(), "{extra:?} redirected");
        let res = app.get(&url(&extra), Some(&o.cookie)).await;
        assert!(res.header("location").is_none(), "{extra:?} redirected");
    }
    // A Deny does not send the browser on either: our page, a link back.
    let res = get(&app, &url(&[])).await;
    assert_eq!(res.status, 303);
    let location = res.header("location").unwrap();
    assert!(location.starts_with("/oauth/consent?"), "{location}");
    let request = query_of(location)["request"].clone();
    let res = decide(&app, &o, &request, "deny", &[]).await;
    assert_eq!(res.status, 200);
    assert!(res.header("location").is_none());
    assert!(denied_link(&res.body).starts_with("https://evil.example/cb?"));
    assert!(res.body.contains("Evil"));
}

#[tokio::test]
async fn a_leaked_code_with_a_wrong_verifier_does_not_kill_the_grant() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, c) = code(&app, &o).await;
    let other = client(&app).await;
    // Whoever saw the code but holds no verifier (or is another client, or
    // names another redirect) is refused, and nothing is used up.
    let wrong = "wrong-verifier-wrong-verifier-wrong-verifier-00";
    assert_eq!(
        exchange(&app, &client_id, &c, wrong).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(
        exchange(&app, &other, &c, VERIFIER).await.json()["error"],
        "invalid_grant"
    );
    // The owner's real exchange still works, and no reuse was recorded.
    let res = exchange(&app, &client_id, &c, VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let access = res.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(whoami(&app, &access).await.status, 200);
    assert_eq!(events(&app, "oauth_code_reused").await, 0);
    // A wrong verifier after the use still says nothing and revokes nothing;
    // only a second presentation that passes every check is reuse.
    assert_eq!(
        exchange(&app, &client_id, &c, wrong).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(whoami(&app, &access).await.status, 200);
    assert_eq!(events(&app, "oauth_code_reused").await, 0);
    exchange(&app, &client_id, &c, VERIFIER).await;
    assert_eq!(whoami(&app, &access).await.status, 401);
    assert_eq!(events(&app, "oauth_code_reused").await, 1);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_get_the_same_pair() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, first) = tokens(&app, &o).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (a, b) = tokio::join!(refresh(&app, &client_id, r1), refresh(&app, &client_id, r1));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(b.status, 200, "{}", b.body);
    assert_eq!(a.json()["refresh_token"], b.json()["refresh_token"]);
    assert_eq!(a.json()["access_token"], b.json()["access_token"]);
    let access = a.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(whoami(&app, &access).await.status, 200);
    assert_eq!(events(&app, "oauth_refresh_reused").await, 0);
    assert_eq!(events(&app, "oauth_refresh_replayed").await, 1);
    // The kept pair is sealed: the successor's secret is not in the table.
    let r2 = a.json()["refresh_token"].as_str().unwrap().to_string();
    let plain = app
        .count(&format!(
            "SELECT COUNT(*) FROM oauth_tokens WHERE replay_sealed LIKE '%{}%'",
            &r2[9..30]
        ))
        .await;
    assert_eq!(plain, 0);

    // Once the successor is used, the old token is reuse again.
    let third = refresh(&app, &client_id, &r2).await;
    assert_eq!(third.status, 200);
    let res = refresh(&app, &client_id, r1).await;
    assert_eq!(res.json()["error"], "invalid_grant");
    assert_eq!(events(&app, "oauth_refresh_reused").await, 1);
    let access3 = third.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(whoami(&app, &access3).await.status, 401, "grant revoked");
}

#[tokio::test]
async fn a_foreign_client_id_gets_invalid_grant_and_revokes_nothing() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, first) = tokens(&app, &o).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&app, &client_id, r1).await.status, 200);
    let other = client(&app).await;
    // The used token, from another client, inside the leeway: refused, no pair.
    let res = refresh(&app, &other, r1).await;
    assert_eq!(res.json()["error"], "invalid_grant");
    assert!(res.json().get("access_token").is_none());
    assert_eq!(events(&app, "oauth_refresh_reused").await, 0);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(whoami(&app, access).await.status, 200);
}

#[tokio::test]
async fn without_leeway_a_second_presentation_is_reuse() {
    let app = TestApp::with_config(|c| c.oauth_refresh_leeway_secs = 0).await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, first) = tokens(&app, &o).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&app, &client_id, r1).await.status, 200);
    assert_eq!(
        refresh(&app, &client_id, r1).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(events(&app, "oauth_refresh_reused").await, 1);
}

#[tokio::test]
async fn a_refresh_that_fails_to_issue_leaves_the_token_unused() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, first) = tokens(&app, &o).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    // The grant reached its maximum lifetime: issuing fails after the claim.
    sqlx::query("UPDATE oauth_grants SET created_at = created_at - 7862400000")
        .execute(&app.state.db)
        .await
        .unwrap();
    let res = refresh(&app, &client_id, r1).await;
    assert_eq!(res.json()["error"], "invalid_grant", "{}", res.body);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'refresh' AND used_at IS NOT NULL"
        )
        .await,
        0,
        "the claim was undone with the failed issue"
    );
    // So the client's retry is the same refusal, not a reuse revocation.
    refresh(&app, &client_id, r1).await;
    assert_eq!(events(&app, "oauth_refresh_reused").await, 0);
}

#[tokio::test]
async fn oauth_events_can_be_found_in_the_audit_log() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, first) = tokens(&app, &o).await;
    refresh(&app, &client_id, first["refresh_token"].as_str().unwrap()).await;
    app.flush_audit().await;
    for action in [
        "oauth_client_registered",
        "oauth_grant_created",
        "oauth_token_refreshed",
    ] {
        let page = app
            .call("audit/list", &[("filter[action]", action)], Some(&o.cookie))
            .await;
        assert_eq!(page.status, 200, "{action}: {}", page.body);
        let entries = page.json()["entries"].as_array().unwrap().clone();
        assert!(
            entries.iter().all(|e| e["action"] == action),
            "{action}: {entries:?}"
        );
    }
    let page = app
        .call(
            "audit/list",
            &[("filter[action]", "oauth_grant_created")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(page.json()["entries"].as_array().unwrap().len(), 1);
    // The page's action list names them.
    let html = app.get("/settings/audit-logs", Some(&o.cookie)).await;
    for action in [
        "oauth_grant_created",
        "oauth_refresh_reused",
        "oauth_code_reused",
    ] {
        assert!(
            html.body.contains(&format!("<option value=\"{action}\"")),
            "{action} missing from the filter"
        );
    }
}

#[tokio::test]
async fn the_token_and_revoke_endpoints_stop_at_64_kib() {
    let app = TestApp::new().await;
    let big = "x".repeat(100 * 1024);
    for path in ["/oauth/token", "/oauth/revoke"] {
        let res = post_form(
            &app,
            path,
            &[("grant_type", "refresh_token"), ("refresh_token", &big)],
        )
        .await;
        assert_eq!(res.status, 413, "{path}");
    }
}

#[tokio::test]
async fn the_insufficient_scope_challenge_keeps_the_granted_scopes() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (_, t) = tokens(&app, &o).await;
    let access = t["access_token"].as_str().unwrap();
    // The grant has projects:read and tasks:read; creating a task needs
    // tasks:write. A host re-authorizes with the challenge's list as given.
    let res = common::api(
        &app,
        "POST",
        "/api/tasks",
        Some(access),
        Some(json!({"project_id": "p", "title": "x"})),
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(
        res.header("www-authenticate").unwrap(),
        r#"Bearer realm="preqstation", error="insufficient_scope", scope="projects:read tasks:read tasks:write", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource""#
    );
    let res = tools_call(
        &app,
        access,
        "create_task",
        json!({"project_id": "p", "title": "x"}),
    )
    .await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(
        res.header("www-authenticate").unwrap(),
        r#"Bearer realm="preqstation", error="insufficient_scope", scope="projects:read tasks:read tasks:write", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp""#
    );
}

#[tokio::test]
async fn the_consent_page_shows_no_format_characters_and_idn_hosts_as_punycode() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let redirect = "https://bücher.example/cb";
    let res = register(
        &app,
        json!({"client_name": "Good\u{202E}gnp.exe\u{200B}", "redirect_uris": [redirect]}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.json()["client_name"], "Goodgnp.exe");
    let client_id = res.json()["client_id"].as_str().unwrap().to_string();
    let res = get(
        &app,
        &authorize_url(&client_id, &[("redirect_uri", redirect)]),
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let request = query_of(res.header("location").unwrap())["request"].clone();
    let info = app
        .call(
            "oauth/consent-info",
            &[("request", &request)],
            Some(&o.cookie),
        )
        .await
        .json();
    assert_eq!(info["client_name"], "Goodgnp.exe");
    assert_eq!(info["redirect_host"], "xn--bcher-kva.example");
}
