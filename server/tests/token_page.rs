//! A token's page through the real router: the calls rollup equals the
//! audit log after a mixed run (and after a backfill of a log written
//! before the rollup), the last calls and IPs, editing the name, and the
//! owner filter; plus the MCP setup page.

mod common;

use common::{api, owner, token_with, whoami_from, Owner, TestApp, TestResponse};

/// Calls recorded in the log for the token with `prefix`: each `token_used`
/// and each `auth_failed` naming it (a noise summary for its repeats).
const LOG_CALLS: &str = "SELECT COUNT(*) FROM audit_events WHERE token_prefix = '{p}' \
     AND action IN ('token_used', 'auth_failed')";
const ROLLUP_CALLS: &str =
    "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM token_usage WHERE credential_id = '{id}'";

/// The token's id and prefix, by name.
async fn id_of(app: &TestApp, o: &Owner, name: &str) -> (String, String) {
    let list = app.call("tokens/list", &[], Some(&o.cookie)).await.json();
    let t = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
        .clone();
    (
        t["id"].as_str().unwrap().to_string(),
        t["prefix"].as_str().unwrap().to_string(),
    )
}

async fn detail(app: &TestApp, o: &Owner, id: &str) -> TestResponse {
    app.call("tokens/detail", &[("id", id)], Some(&o.cookie))
        .await
}

#[tokio::test]
async fn the_rollup_equals_the_audit_log_after_a_mixed_run() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    let (id, prefix) = id_of(&app, &o, "agent").await;

    for _ in 0..3 {
        assert_eq!(whoami_from(&app, &token, "192.0.2.10").await.status, 200);
    }
    assert_eq!(whoami_from(&app, &token, "2001:db8::7").await.status, 200);
    // Another 4xx, and a refusal for a missing scope.
    let missing = api(
        &app,
        "GET",
        "/api/tasks/00000000-0000-0000-0000-000000000000",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    let refused = api(&app, "GET", "/api/projects", Some(&token), None).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Revoked: its next calls are 401s, still the token's calls.
    let res = app
        .call("tokens/revoke", &[("id", &id)], Some(&o.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(whoami_from(&app, &token, "192.0.2.10").await.status, 401);
    app.flush_audit().await;

    let in_log = app.count(&LOG_CALLS.replace("{p}", &prefix)).await;
    let rolled = app.count(&ROLLUP_CALLS.replace("{id}", &id)).await;
    assert_eq!(in_log, 7);
    assert_eq!(rolled, in_log, "the rollup counts what the log holds");

    let page = detail(&app, &o, &id).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let d = page.json();
    let today = d["activity"]["usage"]["days"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    // success, refused, limited, other 4xx, 5xx
    assert_eq!(today["calls"], serde_json::json!([4, 2, 0, 1, 0]));
    assert_eq!(d["activity"]["usage"]["days"].as_array().unwrap().len(), 30);
    let calls = d["activity"]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 7);
    assert_eq!(calls[0]["status"], 401, "newest first");
    assert_eq!(calls[0]["ip"], "192.0.2.10");
    let ips = d["activity"]["ips"].as_array().unwrap();
    let v4 = ips.iter().find(|i| i["ip"] == "192.0.2.10").unwrap();
    assert_eq!(v4["calls"], 4);
    let v6 = ips.iter().find(|i| i["ip"] == "2001:db8::7").unwrap();
    assert_eq!(v6["calls"], 1);
    assert_eq!(v6["new"], true, "a second IP, first seen today");
    assert_eq!(d["view"]["status"], "revoked");
    assert!(d["created_by"]
        .as_str()
        .unwrap()
        .contains("owner@example.com"));
}

#[tokio::test]
async fn a_log_written_before_the_rollup_is_backfilled_once_and_resumably() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    let (id, prefix) = id_of(&app, &o, "agent").await;
    for _ in 0..5 {
        assert_eq!(whoami_from(&app, &token, "192.0.2.10").await.status, 200);
    }
    app.flush_audit().await;
    // As if the log predated the rollup: nothing counted, and the backfill
    // set to cover everything written so far.
    let db = &app.state.db;
    sqlx::query("DELETE FROM token_usage")
        .execute(db)
        .await
        .unwrap();
    sqlx::query("UPDATE token_ips SET calls = 0")
        .execute(db)
        .await
        .unwrap();
    sqlx::query("UPDATE token_usage_backfill SET next_seq = 1, until_seq = (SELECT last_seq FROM audit_head)")
        .execute(db)
        .await
        .unwrap();
    // Later calls are counted live.
    assert_eq!(whoami_from(&app, &token, "192.0.2.10").await.status, 200);
    app.flush_audit().await;
    assert_eq!(app.count(&ROLLUP_CALLS.replace("{id}", &id)).await, 1);

    // One batch, then the rest (as after a restart), then nothing more.
    assert!(app::audit::calls::backfill(db).await.unwrap().is_some());
    app::audit::calls::backfill_all(db).await.unwrap();
    assert_eq!(app::audit::calls::backfill(db).await.unwrap(), None);
    assert_eq!(app::audit::calls::backfill_all(db).await.unwrap(), 0);

    let in_log = app.count(&LOG_CALLS.replace("{p}", &prefix)).await;
    assert_eq!(in_log, 6);
    assert_eq!(app.count(&ROLLUP_CALLS.replace("{id}", &id)).await, in_log);
    assert_eq!(
        app.count(&format!(
            "SELECT calls FROM token_ips WHERE token_id = '{id}'"
        ))
        .await,
        6
    );
}

#[tokio::test]
async fn the_name_and_description_change_and_stay_unique() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(&app, &o, "first", &["scope_tasks_read"], "30").await;
    token_with(&app, &o, "second", &["scope_tasks_read"], "30").await;
    let (id, _) = id_of(&app, &o, "second").await;

    let taken = app
        .call(
            "tokens/label",
            &[("id", &id), ("name", "first")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.body);
    assert!(taken
        .body
        .contains("already have an active token with this name"));
    let empty = app
        .call(
            "tokens/label",
            &[("id", &id), ("name", "  ")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(empty.status, 422);

    let renamed = app
        .call(
            "tokens/label",
            &[
                ("id", &id),
                ("name", "ci-runner"),
                ("description", "GitHub Actions"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json()["name"], "ci-runner");
    assert_eq!(renamed.json()["description"], "GitHub Actions");
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_updated' AND target = 'ci-runner'")
            .await,
        1
    );
}

#[tokio::test]
async fn another_owner_sees_no_such_token() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let other = owner(&app, "other@example.com", false).await;
    token_with(&app, &o, "mine", &["scope_tasks_read"], "30").await;
    let (id, _) = id_of(&app, &o, "mine").await;
    assert_eq!(detail(&app, &other, &id).await.status, 404);
    assert_eq!(detail(&app, &o, "not-a-uuid").await.status, 404);
    let rename = app
        .call(
            "tokens/label",
            &[("id", &id), ("name", "x")],
            Some(&other.cookie),
        )
        .await;
    assert_eq!(rename.status, 404);
    assert_eq!(detail(&app, &o, &id).await.json()["view"]["name"], "mine");
}

#[tokio::test]
async fn the_token_page_and_the_mcp_setup_page_are_served() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    let (id, _) = id_of(&app, &o, "agent").await;
    let page = app
        .get(&format!("/settings/api-keys/{id}"), Some(&o.cookie))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-testid=\"usage-chart\""),
        "the chart is in the HTML"
    );
    assert!(page.body.contains("Calls per day, last 30 days"));

    let setup = app.get("/docs/mcp", None).await;
    assert_eq!(setup.status, 200);
    for needle in [
        "claude mcp add --transport http preqstation",
        "[mcp_servers.preqstation]",
        "bearer_token_env_var = &quot;PREQSTATION_TOKEN&quot;",
        "&quot;servers&quot;",
        "preqstation mcp",
    ] {
        assert!(setup.body.contains(needle), "{needle}");
    }
}

#[tokio::test]
async fn a_connected_apps_page_counts_its_calls_across_its_access_tokens() {
    use common::oauth::{code, exchange, whoami, VERIFIER};
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let (client_id, code) = code(&app, &o).await;
    let tokens = exchange(&app, &client_id, &code, VERIFIER).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(whoami(&app, &access).await.status, 200);
    }
    // A refreshed access token counts for the same app.
    let refreshed = common::oauth::post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let second = refreshed.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(whoami(&app, &second).await.status, 200);
    app.flush_audit().await;

    let apps = app
        .call("oauth/connected-apps", &[], Some(&o.cookie))
        .await
        .json();
    let id = apps[0]["id"].as_str().unwrap().to_string();
    let page = app
        .call("oauth/app-detail", &[("id", &id)], Some(&o.cookie))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let d = page.json();
    let today = d["activity"]["usage"]["days"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(today["calls"][0], 4, "both access tokens' calls");
    assert_eq!(d["activity"]["calls"].as_array().unwrap().len(), 4);
    assert_eq!(d["projects"], serde_json::Value::Null, "every project");
    let other = owner(&app, "other@example.com", false).await;
    assert_eq!(
        app.call("oauth/app-detail", &[("id", &id)], Some(&other.cookie))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/settings/connected-apps/{id}"), Some(&o.cookie))
            .await
            .status,
        200
    );
}
