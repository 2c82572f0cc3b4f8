//! CI federation (issue 31), through the real router over a fresh database
//! and against a local OIDC issuer (`common::oidc`, real RS256/ES256 JWTs
//! signed with keys made per run, GitHub- and GitLab-shaped claims): the
//! exchange under RFC 8693 and RFC 7523, every refusal with its RFC's error,
//! the issued token's scopes, projects, allowlist and usage limit on REST and
//! MCP, the CI identity in the audit log, a disabled rule killing its
//! tokens, a replay refused on a second instance, and the CLI.

mod common;

use axum::{body::Body, http::Request};
use common::{api, binary, form_encode, oidc::Issuer, owner, Owner, TestApp};
use serde_json::{json, Value};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn app() -> TestApp {
    TestApp::with_config(|c| {
        c.federation_allow_hosts = vec!["127.0.0.1".into()];
    })
    .await
}

/// Creates a rule through the server function; `fields` are `RuleFields`'
/// names. Returns the view.
async fn rule(app: &TestApp, o: &Owner, fields: &[(&str, &str)]) -> Value {
    let res = app.call("federation/create", fields, Some(&o.cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

/// A GitHub-shaped rule for issuer `iss` pinned to owner 1001 / repo 2002.
async fn gh_rule(app: &TestApp, o: &Owner, iss: &str, more: &[(&str, &str)]) -> Value {
    let mut fields = vec![
        ("name", "deploy"),
        ("provider", "custom"),
        ("issuer", iss),
        ("scope_projects_read", "on"),
        ("scope_tasks_read", "on"),
    ];
    let conditions =
        "repository_owner_id=1001\nrepository_id=2002\nref=refs/heads/main".to_string();
    let extra = more
        .iter()
        .find(|(k, _)| *k == "conditions")
        .map(|(_, v)| *v);
    let conditions = extra
        .map(|c| format!("{conditions}\n{c}"))
        .unwrap_or(conditions);
    fields.push(("conditions", &conditions));
    fields.extend(more.iter().filter(|(k, _)| *k != "conditions").copied());
    rule(app, o, &fields).await
}

async fn post_token(app: &TestApp, form: &[(&str, &str)]) -> common::TestResponse {
    app.send(
        Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form_encode(form)))
            .unwrap(),
    )
    .await
}

async fn exchange(app: &TestApp, id_token: &str) -> common::TestResponse {
    post_token(
        app,
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN),
        ],
    )
    .await
}

async fn bearer_grant(app: &TestApp, id_token: &str) -> common::TestResponse {
    post_token(app, &[("grant_type", JWT_BEARER), ("assertion", id_token)]).await
}

/// The exchange is refused with `code` and a description containing `says`.
async fn refused(app: &TestApp, id_token: &str, says: &str) {
    let res = exchange(app, id_token).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(res.json()["error"], "invalid_request", "{}", res.body);
    let why = res.json()["error_description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains(says), "{why:?} should say {says:?}");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_ci_token_holds_its_rules_scopes_projects_and_identity_on_rest_and_mcp() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let p1 = common::project(&app, &o, "shipped").await;
    let _p2 = common::project(&app, &o, "secret").await;
    let iss = issuer.url("gh");
    let r = gh_rule(
        &app,
        &o,
        &iss,
        &[
            ("reach", "selected"),
            ("project_ids[]", &p1),
            ("lifetime_minutes", "10"),
        ],
    )
    .await;
    let aud = r["audience"].as_str().unwrap().to_string();
    assert_eq!(
        aud,
        format!(
            "http://127.0.0.1:3000/federation/{}",
            r["id"].as_str().unwrap()
        )
    );
    let id_token = issuer.mint("gh", &aud, json!({}), json!({})).await;
    let res = exchange(&app, &id_token).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let answer = res.json();
    let token = answer["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("preq_ci_"), "{token}");
    assert_eq!(
        answer["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 600);
    assert_eq!(answer["scope"], "projects:read tasks:read");

    // REST: one project, reads only.
    let list = api(&app, "GET", "/api/projects", Some(&token), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<String> = list.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["shipped"], "{}", list.body);
    let write = api(
        &app,
        "POST",
        "/api/tasks",
        Some(&token),
        Some(json!({"project_id": p1, "title": "nope"})),
    )
    .await;
    assert_eq!(write.status, 403, "{}", write.body);

    // MCP: the same token, the same bounds.
    let tools = common::mcp(&app, &token, "tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"list_projects"), "{names:?}");
    assert!(!names.contains(&"create_task"), "{names:?}");
    let call = common::mcp(
        &app,
        &token,
        "tools/call",
        json!({"name": "list_projects", "arguments": {}}),
    )
    .await;
    let text = call["result"].to_string();
    assert!(
        text.contains("shipped") && !text.contains("secret"),
        "{text}"
    );

    // The audit names the CI run.
    app.flush_audit().await;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor_kind, actor, details FROM audit_events WHERE action = 'token_used' \
         AND token_prefix LIKE 'preq_ci_%' ORDER BY seq",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert!(rows.len() >= 3, "{rows:?}");
    let (kind, actor, details) = &rows[0];
    assert_eq!(kind, "ci");
    assert!(
        actor.ends_with("for octo-org/octo-repo@refs/heads/main run 123456789 (127.0.0.1)"),
        "{actor}"
    );
    let d: Value = serde_json::from_str(details).unwrap();
    assert_eq!(d["act"]["ci"]["repository"], "octo-org/octo-repo");
    assert_eq!(d["act"]["ci"]["run_id"], "123456789");
    let issued: (String, String) = sqlx::query_as(
        "SELECT actor_kind, actor FROM audit_events WHERE action = 'federated_token_issued'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(issued.0, "ci");
    assert!(issued
        .1
        .starts_with("octo-org/octo-repo@refs/heads/main run 123456789"));

    // The rule's page lists the exchange; RFC 7523's grant works as well.
    let other = issuer
        .mint("gh", &aud, json!({"run_id": "555"}), json!({}))
        .await;
    let res = bearer_grant(&app, &other).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.json().get("issued_token_type").is_none());
    let page = app
        .call(
            "federation/get",
            &[("id", r["id"].as_str().unwrap())],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = page.json();
    let exchanges = page["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 2, "{page}");
    assert!(exchanges[0]["actor"].as_str().unwrap().contains("run 555"));
    assert_eq!(page["rule"]["live_tokens"], 2);
}

#[tokio::test]
async fn every_refusal_has_its_rfcs_error() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    let iss = issuer.url("gh");
    let r = gh_rule(&app, &o, &iss, &[]).await;
    let aud = r["audience"].as_str().unwrap().to_string();
    // Another account's rule for another repository of the same issuer.
    let theirs = rule(
        &app,
        &member,
        &[
            ("name", "theirs"),
            ("provider", "custom"),
            ("issuer", &iss),
            ("conditions", "repository_owner_id=1001\nrepository_id=7777"),
            ("scope_tasks_read", "on"),
        ],
    )
    .await;
    let their_aud = theirs["audience"].as_str().unwrap();
    let good = issuer.mint("gh", &aud, json!({}), json!({})).await;
    assert_eq!(exchange(&app, &good).await.status, 200);

    // Replayed.
    refused(&app, &good, "already exchanged").await;
    // Our pipeline's token presented to the other account's rule.
    let wrong = issuer.mint("gh", their_aud, json!({}), json!({})).await;
    refused(&app, &wrong, "repository_id does not match").await;
    // An audience naming no rule.
    let nowhere = issuer
        .mint(
            "gh",
            "http://127.0.0.1:3000/federation/nope",
            json!({}),
            json!({}),
        )
        .await;
    refused(&app, &nowhere, "names no trust rule").await;
    // Expired, not yet valid, issued in the future.
    let t = now();
    let expired = issuer
        .mint(
            "gh",
            &aud,
            json!({"iat": t - 900, "nbf": t - 900, "exp": t - 120}),
            json!({}),
        )
        .await;
    refused(&app, &expired, "expired").await;
    let early = issuer
        .mint(
            "gh",
            &aud,
            json!({"nbf": t + 600, "exp": t + 900}),
            json!({}),
        )
        .await;
    refused(&app, &early, "not valid yet").await;
    let future = issuer
        .mint(
            "gh",
            &aud,
            json!({"iat": t + 600, "exp": t + 900}),
            json!({}),
        )
        .await;
    refused(&app, &future, "in the future").await;
    // Same repository name, another repository id (a re-created repo).
    let reborn = issuer
        .mint("gh", &aud, json!({"repository_id": "9999"}), json!({}))
        .await;
    refused(&app, &reborn, "repository_id does not match").await;
    // Another branch.
    let branch = issuer
        .mint("gh", &aud, json!({"ref": "refs/heads/feature"}), json!({}))
        .await;
    refused(&app, &branch, "ref does not match").await;
    // A fork's code under the repository's identity.
    let fork = issuer
        .mint(
            "gh",
            &aud,
            json!({"event_name": "pull_request_target"}),
            json!({}),
        )
        .await;
    refused(&app, &fork, "pull_request_target").await;
    // No signature, and an HMAC keyed with the public key.
    let none = issuer
        .mint("gh", &aud, json!({}), json!({"alg": "none"}))
        .await;
    refused(&app, &none, "RS256 or ES256").await;
    let hs = issuer
        .mint("gh", &aud, json!({}), json!({"alg": "HS256-public"}))
        .await;
    refused(&app, &hs, "only RS256 and ES256").await;
    // No jti.
    let no_jti = issuer
        .mint("gh", &aud, json!({"jti": null}), json!({}))
        .await;
    refused(&app, &no_jti, "jti").await;
    // RFC 7523 says invalid_grant.
    let again = bearer_grant(&app, &good).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant", "{}", again.body);
    let junk = bearer_grant(&app, "not.a.jwt").await;
    assert_eq!(junk.json()["error"], "invalid_grant", "{}", junk.body);
    let missing = post_token(&app, &[("grant_type", JWT_BEARER)]).await;
    assert_eq!(
        missing.json()["error"],
        "invalid_request",
        "{}",
        missing.body
    );

    // Each refusal of a known rule is audited for its owner; no token issued.
    app.flush_audit().await;
    let n = app
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'federated_exchange_refused'")
        .await;
    assert!(n >= 10, "{n}");
    assert_eq!(app.count("SELECT COUNT(*) FROM federated_tokens").await, 1);
}

#[tokio::test]
async fn a_fork_event_passes_only_where_the_rule_allows_it() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let r = gh_rule(&app, &o, &issuer.url("gh"), &[("allow_fork_events", "on")]).await;
    let aud = r["audience"].as_str().unwrap();
    assert_eq!(r["allow_fork_events"], true);
    let fork = issuer
        .mint("gh", aud, json!({"event_name": "workflow_run"}), json!({}))
        .await;
    assert_eq!(exchange(&app, &fork).await.status, 200);
}

#[tokio::test]
async fn keys_rotate_at_a_bounded_rate_and_the_discovery_issuer_must_match() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let r = gh_rule(&app, &o, &issuer.url("gh"), &[]).await;
    let aud = r["audience"].as_str().unwrap().to_string();
    let first = issuer.mint("gh", &aud, json!({}), json!({})).await;
    assert_eq!(exchange(&app, &first).await.status, 200);
    assert_eq!(issuer.jwks_fetches("gh").await, 1);
    // Cached: a second exchange fetches nothing.
    let second = issuer.mint("gh", &aud, json!({}), json!({})).await;
    assert_eq!(exchange(&app, &second).await.status, 200);
    assert_eq!(issuer.jwks_fetches("gh").await, 1);
    // A kid nobody published: refused, and no fetch so soon after the last.
    let stranger = issuer
        .mint("gh", &aud, json!({}), json!({"key": "unpublished"}))
        .await;
    refused(&app, &stranger, "kid").await;
    assert_eq!(issuer.jwks_fetches("gh").await, 1);
    // The issuer rotates: within the refresh interval the new kid is still
    // unknown; after it, one fetch finds it.
    issuer.rotate("gh").await;
    let rotated = issuer.mint("gh", &aud, json!({}), json!({})).await;
    refused(&app, &rotated, "kid").await;
    tokio::time::sleep(app::federation::jwks::MIN_REFRESH).await;
    let rotated = issuer.mint("gh", &aud, json!({}), json!({})).await;
    let res = exchange(&app, &rotated).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(issuer.jwks_fetches("gh").await, 2);
    // The old key is gone from the set: its tokens no longer verify.
    refused(&app, &first, "").await;

    // A discovery document that names another issuer.
    let liar = rule(
        &app,
        &o,
        &[
            ("name", "liar"),
            ("provider", "custom"),
            ("issuer", &issuer.url("liar")),
            (
                "conditions",
                "sub=repo:octo-org/octo-repo:ref:refs/heads/main",
            ),
            ("scope_tasks_read", "on"),
        ],
    )
    .await;
    let token = issuer
        .mint(
            "liar",
            liar["audience"].as_str().unwrap(),
            json!({}),
            json!({}),
        )
        .await;
    refused(&app, &token, "names another issuer").await;
}

#[tokio::test]
async fn es256_from_a_gitlab_shaped_issuer() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let r = rule(
        &app,
        &o,
        &[
            ("name", "gitlab"),
            ("provider", "custom"),
            ("issuer", &issuer.url("gl")),
            (
                "conditions",
                "namespace_id=4004\nproject_id=5005\nref_protected=true",
            ),
            ("scope_tasks_read", "on"),
        ],
    )
    .await;
    let token = issuer
        .mint("gl", r["audience"].as_str().unwrap(), json!({}), json!({}))
        .await;
    let res = exchange(&app, &token).await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test]
async fn the_allowlist_and_usage_limit_hold_and_a_disabled_rule_kills_its_tokens() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let iss = issuer.url("gh");
    let fenced = gh_rule(&app, &o, &iss, &[("allowed_ips", "10.0.0.0/8")]).await;
    let token = issuer
        .mint(
            "gh",
            fenced["audience"].as_str().unwrap(),
            json!({}),
            json!({}),
        )
        .await;
    let ci = exchange(&app, &token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        common::whoami_from(&app, &ci, "127.0.0.1").await.status,
        403
    );
    assert_eq!(common::whoami_from(&app, &ci, "10.1.2.3").await.status, 200);
    // MCP from outside the allowlist: refused too.
    let res = common::mcp_request(&app, &ci, "tools/list", json!({})).await;
    assert_eq!(res.status, 403, "{}", res.body);

    let limited = gh_rule(&app, &o, &iss, &[("usage_limit", "2")]).await;
    let token = issuer
        .mint(
            "gh",
            limited["audience"].as_str().unwrap(),
            json!({}),
            json!({}),
        )
        .await;
    let ci = exchange(&app, &token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for expected in [200, 200, 429] {
        let res = api(&app, "GET", "/api/auth/whoami", Some(&ci), None).await;
        assert_eq!(res.status, expected, "{}", res.body);
    }

    // Disabled: its live token dies at once, and it exchanges no more.
    let id = limited["id"].as_str().unwrap();
    let token = issuer
        .mint(
            "gh",
            limited["audience"].as_str().unwrap(),
            json!({}),
            json!({}),
        )
        .await;
    let live = exchange(&app, &token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .call(
            "federation/enable",
            &[("id", id), ("enabled", "false")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.json()["disabled_at"].is_number(), "{}", res.body);
    assert_eq!(res.json()["live_tokens"], 0);
    let res = api(&app, "GET", "/api/auth/whoami", Some(&live), None).await;
    assert_eq!(res.status, 401, "{}", res.body);
    let token = issuer
        .mint(
            "gh",
            limited["audience"].as_str().unwrap(),
            json!({}),
            json!({}),
        )
        .await;
    refused(&app, &token, "No enabled trust rule").await;
}

#[tokio::test]
async fn rules_pin_ids_and_admins_see_and_disable_every_rule() {
    let app = app().await;
    let admin = owner(&app, "admin@example.com", true).await;
    let member = owner(&app, "member@example.com", false).await;
    // GitHub's preset: both ids required, exact.
    let res = app
        .call(
            "federation/create",
            &[
                ("name", "ci"),
                ("provider", "github_actions"),
                ("owner_id", "1001"),
                ("repo_id", ""),
                ("scope_tasks_read", "on"),
            ],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(
        res.body.contains("conditions") && res.body.contains("must pin"),
        "{}",
        res.body
    );
    for (conditions, says) in [
        ("repository=*/octo-repo", "owner part"),
        ("repository_owner=octo-*", "no glob"),
        ("aud=x", "checked by the exchange"),
    ] {
        let res = app
            .call(
                "federation/create",
                &[
                    ("name", "ci"),
                    ("provider", "github_actions"),
                    ("owner_id", "1001"),
                    ("repo_id", "2002"),
                    ("conditions", conditions),
                    ("scope_tasks_read", "on"),
                ],
                Some(&member.cookie),
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.body.contains(says), "{}", res.body);
    }
    let lifetime = app
        .call(
            "federation/create",
            &[
                ("name", "ci"),
                ("provider", "github_actions"),
                ("owner_id", "1001"),
                ("repo_id", "2002"),
                ("scope_tasks_read", "on"),
                ("lifetime_minutes", "61"),
            ],
            Some(&member.cookie),
        )
        .await;
    assert_eq!(lifetime.status, 422, "{}", lifetime.body);
    assert!(lifetime.body.contains("lifetime"), "{}", lifetime.body);
    let made = rule(
        &app,
        &member,
        &[
            ("name", "ci"),
            ("provider", "github_actions"),
            ("owner_id", "1001"),
            ("repo_id", "2002"),
            ("scope_tasks_read", "on"),
        ],
    )
    .await;
    assert_eq!(made["provider"], "github_actions");
    assert_eq!(
        made["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(made["ttl_secs"], 900);
    let id = made["id"].as_str().unwrap();
    // The admin sees it (with its owner) and may disable it, not delete it.
    let all = app.call("federation/list", &[], Some(&admin.cookie)).await;
    assert_eq!(all.json()[0]["owner_email"], "member@example.com");
    assert_eq!(all.json()[0]["owned"], false);
    let res = app
        .call(
            "federation/enable",
            &[("id", id), ("enabled", "false")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .call(
            "federation/enable",
            &[("id", id), ("enabled", "true")],
            Some(&admin.cookie),
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    let res = app
        .call("federation/delete", &[("id", id)], Some(&admin.cookie))
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    // Another member sees nothing of it.
    let other = owner(&app, "other@example.com", false).await;
    let none = app.call("federation/list", &[], Some(&other.cookie)).await;
    assert_eq!(none.json(), json!([]));
    let res = app
        .call("federation/get", &[("id", id)], Some(&other.cookie))
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    // The owner changes it (the same checks as creating); nobody else can.
    let change = [
        ("id", id),
        ("name", "ci main"),
        ("provider", "github_actions"),
        ("owner_id", "1001"),
        ("repo_id", "2002"),
        ("conditions", "ref=refs/heads/main"),
        ("scope_tasks_read", "on"),
        ("lifetime_minutes", "20"),
    ];
    let res = app
        .call("federation/update", &change, Some(&other.cookie))
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    let res = app
        .call("federation/update", &change, Some(&member.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["ttl_secs"], 1200);
    assert_eq!(res.json()["name"], "ci main");
    assert_eq!(res.json()["audience"], made["audience"]);
    let mut bad = change.to_vec();
    bad[4] = ("repo_id", "");
    let res = app
        .call("federation/update", &bad, Some(&member.cookie))
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    let res = app
        .call("federation/delete", &[("id", id)], Some(&member.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    app.flush_audit().await;
    for action in [
        "federation_rule_created",
        "federation_rule_updated",
        "federation_rule_disabled",
        "federation_rule_deleted",
    ] {
        let n = app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
            ))
            .await;
        assert_eq!(n, 1, "{action}");
    }
}

/// `preqstation ARGS` with `env` (and no ambient CI variables), waited for
/// without blocking the test's runtime.
async fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_preqstation"));
    cmd.args(args);
    for var in [
        "PREQSTATION_TOKEN",
        "PREQSTATION_ID_TOKEN",
        "PREQSTATION_AUDIENCE",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_refused_on_a_second_instance_and_the_cli_exchanges() {
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let r = gh_rule(&app, &o, &issuer.url("gh"), &[]).await;
    let aud = r["audience"].as_str().unwrap().to_string();
    let b = binary::start_with(&app, &[("PREQSTATION_FEDERATION_ALLOW_HOSTS", "127.0.0.1")]);
    let token = issuer.mint("gh", &aud, json!({}), json!({})).await;
    let res = exchange(&app, &token).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let ci = res.json()["access_token"].as_str().unwrap().to_string();
    app.flush_audit().await;
    let body = form_encode(&[
        ("grant_type", EXCHANGE),
        ("subject_token", &token),
        ("subject_token_type", ID_TOKEN),
    ]);
    let port = b.port;
    let raw = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = tokio::task::spawn_blocking(move || common::raw_request(port, &raw))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("already exchanged"), "{text}");
    // The token issued on one instance works on the other.
    let whoami = format!(
        "GET /api/auth/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ci}\r\nConnection: close\r\n\r\n"
    );
    let w = whoami.clone();
    let status = tokio::task::spawn_blocking(move || common::raw_status(port, &w))
        .await
        .unwrap();
    assert_eq!(status, Some(200));

    // The CLI in a GitHub Actions job: it asks the runtime for an ID token
    // for the audience, exchanges it, prints the export lines.
    let api_url = format!("http://127.0.0.1:{port}");
    let request_url = format!("{}/actions-token?api-version=2.0", issuer.base);
    let out = cli(
        &["tokens", "exchange", "--oidc", "--audience", &aud],
        &[
            ("PREQSTATION_API_URL", &api_url),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "actions-runtime-token"),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued = stdout
        .lines()
        .find_map(|l| l.strip_prefix("export PREQSTATION_TOKEN="))
        .unwrap()
        .to_string();
    assert!(issued.starts_with("preq_ci_"));
    assert!(stdout.contains(&format!("export PREQSTATION_API_URL={api_url}")));
    let res = api(&app, "GET", "/api/auth/whoami", Some(&issued), None).await;
    assert_eq!(res.status, 200, "{}", res.body);
    // GitLab: the ID token is in the variable `id_tokens:` names.
    let gl_token = issuer.mint("gh", &aud, json!({}), json!({})).await;
    let out = cli(
        &["tokens", "exchange", "--oidc"],
        &[
            ("PREQSTATION_API_URL", &api_url),
            ("PREQSTATION_ID_TOKEN", &gl_token),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Disabled on this instance: dead on the other at once.
    let res = app
        .call(
            "federation/enable",
            &[("id", r["id"].as_str().unwrap()), ("enabled", "false")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let status = tokio::task::spawn_blocking(move || common::raw_status(port, &whoami))
        .await
        .unwrap();
    assert_eq!(status, Some(401));
    binary::stop(b);
}

#[tokio::test]
async fn a_leaked_ci_token_is_revoked_by_a_signed_report() {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use p256::{
        ecdsa::{signature::Signer, Signature, SigningKey},
        pkcs8::{EncodePublicKey, LineEnding},
    };
    let app = app().await;
    let issuer = Issuer::start();
    let o = owner(&app, "owner@example.com", true).await;
    let r = gh_rule(&app, &o, &issuer.url("gh"), &[]).await;
    let id_token = issuer
        .mint("gh", r["audience"].as_str().unwrap(), json!({}), json!({}))
        .await;
    let ci = exchange(&app, &id_token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let key = SigningKey::from_slice(&[9; 32]).unwrap();
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    app::leaks::keys::add(
        &app.state.db,
        &app.state.config,
        "k1",
        &pem,
        app::types::Timestamp::now(),
    )
    .await
    .unwrap();
    let body = serde_json::to_vec(&json!([{"token": ci, "type": "preq_ci", "url": "https://gist.example/1", "source": "gist"}])).unwrap();
    let sig: Signature = key.sign(&body);
    let res = app
        .send(
            Request::post("/api/secret-scanning/report")
                .header("content-type", "application/json")
                .header("github-public-key-identifier", "k1")
                .header(
                    "github-public-key-signature",
                    STANDARD.encode(sig.to_der().as_bytes()),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()[0]["label"], "true_positive", "{}", res.body);
    let res = api(&app, "GET", "/api/auth/whoami", Some(&ci), None).await;
    assert_eq!(res.status, 401, "{}", res.body);
    let page = app
        .call(
            "federation/get",
            &[("id", r["id"].as_str().unwrap())],
            Some(&o.cookie),
        )
        .await
        .json();
    assert_eq!(page["exchanges"][0]["revoked_reason"], "leaked", "{page}");
}
