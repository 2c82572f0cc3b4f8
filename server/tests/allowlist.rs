//! A token's IP allowlist through the real router: set at creation and
//! later, IPv4 and IPv6 in and out, on REST and MCP alike, bad networks
//! refused by the field, inherited by a rotation's successor, and audited.

mod common;

use std::net::{IpAddr, SocketAddr};

use axum::{body::Body, extract::ConnectInfo, http::Request};
use common::{owner, whoami_from, Owner, TestApp, TestResponse};
use serde_json::json;
use sqlx::Row;

/// `tools/list` on `/mcp` with `token`, from `ip`.
async fn mcp_from(app: &TestApp, token: &str, ip: &str) -> TestResponse {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let mut req = Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let ip: IpAddr = ip.parse().unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
    app.send(req).await
}

/// Creates a token limited to `allowed`; returns (token, id).
async fn token_from(app: &TestApp, o: &Owner, name: &str, allowed: &str) -> TestResponse {
    app.call(
        "tokens/create",
        &[
            ("name", name),
            ("expiry", "30"),
            ("scope_tasks_read", "on"),
            ("allowed_ips", allowed),
        ],
        Some(&o.cookie),
    )
    .await
}

#[tokio::test]
async fn a_token_works_only_from_its_networks_on_rest_and_mcp() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let res = token_from(&app, &o, "ci", "203.0.113.0/24\n2001:db8::/32").await;
    assert_eq!(res.status, 200, "{}", res.body);
    let token = res.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        res.json()["view"]["allowed_ips"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );

    for inside in ["203.0.113.7", "2001:db8:ab::1", "::ffff:203.0.113.9"] {
        let res = whoami_from(&app, &token, inside).await;
        assert_eq!(res.status, 200, "{inside}: {}", res.body);
    }
    for outside in ["198.51.100.1", "2001:db9::1", "127.0.0.1"] {
        let res = whoami_from(&app, &token, outside).await;
        assert_eq!(res.status, 403, "{outside}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], "FORBIDDEN");
        assert_eq!(
            res.json()["error"]["message"],
            "Token not allowed from this IP"
        );
    }
    assert_eq!(mcp_from(&app, &token, "203.0.113.7").await.status, 200);
    let res = mcp_from(&app, &token, "198.51.100.1").await;
    assert_eq!(res.status, 403, "{}", res.body);

    // The token stays valid: refused calls do not revoke it.
    assert_eq!(whoami_from(&app, &token, "203.0.113.8").await.status, 200);

    // Each refusal is the token's security event.
    app.flush_audit().await;
    let denied = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'access_denied' AND security = 1 \
         AND ip = '198.51.100.1'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap()
    .get::<i64, _>("n");
    assert_eq!(denied, 2, "REST and MCP refusals are audited");
}

#[tokio::test]
async fn bad_networks_are_refused_by_the_field() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    for (bad, says) in [
        ("10.0.0.1/24", "did you mean 10.0.0.0/24"),
        ("10.0.0.0/33", "not an IP address"),
        ("example.com", "not an IP address"),
    ] {
        let res = token_from(&app, &o, "bad", bad).await;
        assert_eq!(res.status, 422, "{bad}: {}", res.body);
        let body = res.json();
        assert_eq!(body["Field"]["field"], "allowed_ips", "{}", res.body);
        let message = body["Field"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{bad}: {message}");
    }
    // Nothing was created.
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens")
        .fetch_one(&app.state.db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_allowlist_changes_later_and_survives_rotation() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let res = token_from(&app, &o, "agent", "").await;
    let token = res.json()["token"].as_str().unwrap().to_string();
    let id = res.json()["view"]["id"].as_str().unwrap().to_string();
    assert_eq!(whoami_from(&app, &token, "198.51.100.1").await.status, 200);

    let set = |list: &'static str| {
        let (app, o, id) = (&app, &o, id.clone());
        async move {
            app.call(
                "tokens/allowlist",
                &[("id", &id), ("allowed_ips", list)],
                Some(&o.cookie),
            )
            .await
        }
    };
    let res = set("192.0.2.0/24").await;
    assert_eq!(res.status, 200, "{}", res.body);
    // The next request sees it (every request reads the token's row).
    assert_eq!(whoami_from(&app, &token, "198.51.100.1").await.status, 403);
    assert_eq!(whoami_from(&app, &token, "192.0.2.10").await.status, 200);

    // Another owner cannot change it.
    let other = owner(&app, "other@example.com", false).await;
    let res = app
        .call(
            "tokens/allowlist",
            &[("id", &id), ("allowed_ips", "")],
            Some(&other.cookie),
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.body);

    // A rotation's successor keeps the allowlist.
    let res = app
        .call(
            "tokens/rotate",
            &[("id", &id), ("grace", "0")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let successor = res.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        whoami_from(&app, &successor, "198.51.100.1").await.status,
        403
    );
    assert_eq!(
        whoami_from(&app, &successor, "192.0.2.10").await.status,
        200
    );

    // Emptied: any IP again; the change is audited.
    let successor_id: String = sqlx::query("SELECT id FROM api_tokens WHERE rotated_from = $1")
        .bind(&id)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
        .get("id");
    let res = app
        .call(
            "tokens/allowlist",
            &[("id", &successor_id), ("allowed_ips", "")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        whoami_from(&app, &successor, "198.51.100.1").await.status,
        200
    );
    app.flush_audit().await;
    let updates: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'token_updated' AND security = 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap()
    .get("n");
    assert_eq!(updates, 2);
}
