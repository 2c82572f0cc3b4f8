//! The client IP behind proxies, through the real router: the rightmost
//! untrusted address across every line of the one header the operator names
//! (`PREQSTATION_TRUST_PROXY_HEADER`), only from trusted peers, never from
//! another forwarding header; IPv6 clients limited by their /64 on every
//! per-IP limit (API, OAuth, registration); the same IP in the audit log.

mod common;

use std::net::SocketAddr;

use app::web::client_ip::TrustedProxies;
use axum::{body::Body, extract::ConnectInfo, http::Request};
use common::TestApp;

async fn anonymous(app: &TestApp, peer: &str, xff: &[&str]) -> common::TestResponse {
    let lines: Vec<(&str, &str)> = xff.iter().map(|l| ("x-forwarded-for", *l)).collect();
    whoami(app, peer, &lines).await
}

/// An anonymous `GET /api/auth/whoami` (401, audited as `auth_failed`) from
/// `peer` carrying `headers`.
async fn whoami(app: &TestApp, peer: &str, headers: &[(&str, &str)]) -> common::TestResponse {
    let mut req = Request::get("/api/auth/whoami");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    app.send(req).await
}

fn trust(proxies: &str, header: &str) -> TrustedProxies {
    TrustedProxies::parse(proxies, header).unwrap()
}

#[tokio::test]
async fn a_client_behind_a_trusted_proxy_cannot_choose_its_ip() {
    let app = TestApp::with_config(|c| {
        c.api_rate_per_ip = 3;
        c.trust_proxy = trust("10.0.0.0/8", "x-forwarded-for");
    })
    .await;
    // HAProxy appends its own line; the client's spoofed line changes nothing.
    for spoof in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let res = anonymous(&app, "10.0.0.2:5000", &[spoof, "203.0.113.7"]).await;
        assert_eq!(res.status, 401);
    }
    let res = anonymous(&app, "10.0.0.2:5000", &["4.4.4.4", "203.0.113.7"]).await;
    assert_eq!(res.status, 429, "the same client, whatever it wrote");
    // Another client behind the same proxy has its own budget.
    assert_eq!(
        anonymous(&app, "10.0.0.2:5000", &["203.0.113.8"])
            .await
            .status,
        401
    );
    // An untrusted peer's header is ignored: it is counted as itself.
    for _ in 0..3 {
        assert_eq!(
            anonymous(&app, "192.0.2.1:5000", &["203.0.113.9"])
                .await
                .status,
            401
        );
    }
    assert_eq!(
        anonymous(&app, "192.0.2.1:5000", &["203.0.113.10"])
            .await
            .status,
        429
    );

    app.flush_audit().await;
    let ips = app
        .count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'auth_failed' AND ip = '203.0.113.7'",
        )
        .await;
    // The first failure, then one entry counting the two repeats of that minute.
    assert_eq!(ips, 2, "the audit log records the forwarded client");
    let repeats = app
        .count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'auth_failed' AND ip = '203.0.113.7' \
             AND details LIKE '%\"repeated\":2%'",
        )
        .await;
    assert_eq!(repeats, 1);
    let spoofed = app
        .count("SELECT COUNT(*) FROM audit_events WHERE ip IN ('1.1.1.1', '2.2.2.2', '3.3.3.3', '203.0.113.9')")
        .await;
    assert_eq!(spoofed, 0);
}

#[tokio::test]
async fn ipv6_clients_share_the_limit_of_their_64() {
    let app = TestApp::with_config(|c| c.api_rate_per_ip = 2).await;
    assert_eq!(
        anonymous(&app, "[2001:db8:1:2::1]:5000", &[]).await.status,
        401
    );
    assert_eq!(
        anonymous(&app, "[2001:db8:1:2::ffff]:5000", &[])
            .await
            .status,
        401
    );
    assert_eq!(
        anonymous(&app, "[2001:db8:1:2:abcd::9]:5000", &[])
            .await
            .status,
        429
    );
    assert_eq!(
        anonymous(&app, "[2001:db8:1:3::1]:5000", &[]).await.status,
        401,
        "another /64"
    );
}

/// What reaches the server through a proxy at 10.0.0.1 that writes `named`
/// for the client 203.0.113.7 (after whatever the client wrote there), while
/// the client's own values of the other two headers pass through untouched,
/// different on every request (`n`).
fn through_proxy(named: &'static str, n: u32) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("forwarded", format!("for=9.9.9.{n}")),
        ("x-forwarded-for", format!("9.9.8.{n}")),
        ("x-real-ip", format!("9.9.7.{n}")),
    ];
    let proxied = match named {
        "forwarded" => format!("for=6.6.6.{n}, for=203.0.113.7;proto=https"),
        "x-forwarded-for" => format!("6.6.6.{n}, 203.0.113.7"),
        _ => "203.0.113.7".to_string(),
    };
    headers.retain(|(name, _)| *name != named);
    headers.push((named, proxied));
    headers
}

/// With `named` trusted, spoofed values of the other headers change
/// nothing: the per-IP limit counts one client, and the audit log names it.
async fn only_the_named_header_is_read(named: &'static str) {
    let app = TestApp::with_config(|c| {
        c.api_rate_per_ip = 3;
        c.trust_proxy = trust("10.0.0.1", named);
    })
    .await;
    for n in 0..3 {
        let headers = through_proxy(named, n);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(whoami(&app, "10.0.0.1:5000", &headers).await.status, 401);
    }
    let headers = through_proxy(named, 3);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        whoami(&app, "10.0.0.1:5000", &headers).await.status,
        429,
        "{named}: one client, whatever the other headers say"
    );
    app.flush_audit().await;
    let client = app
        .count("SELECT COUNT(*) FROM audit_events WHERE ip = '203.0.113.7'")
        .await;
    assert!(client > 0, "{named}: the audit log names the client");
    let others = app
        .count("SELECT COUNT(*) FROM audit_events WHERE ip IS NOT NULL AND ip <> '203.0.113.7'")
        .await;
    assert_eq!(others, 0, "{named}: no spoofed address in the audit log");
}

#[tokio::test]
async fn behind_an_x_forwarded_for_proxy_a_clients_own_forwarded_is_ignored() {
    only_the_named_header_is_read("x-forwarded-for").await;
}

#[tokio::test]
async fn with_forwarded_named_only_forwarded_is_read() {
    only_the_named_header_is_read("forwarded").await;
}

#[tokio::test]
async fn with_x_real_ip_named_only_x_real_ip_is_read() {
    only_the_named_header_is_read("x-real-ip").await;
}

/// `req` through the trusted proxy at 10.0.0.1 for the client `client`.
async fn via_proxy(
    app: &TestApp,
    req: axum::http::request::Builder,
    client: &str,
    body: &'static str,
) -> common::TestResponse {
    let mut req = req
        .header("content-type", "application/json")
        .header("x-forwarded-for", client)
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo("10.0.0.1:5000".parse::<SocketAddr>().unwrap()));
    app.send(req).await
}

const REGISTRATION: &str =
    r#"{"client_name": "host", "redirect_uris": ["http://127.0.0.1:4711/cb"]}"#;

#[tokio::test]
async fn oauth_registration_limits_ipv6_clients_by_their_64() {
    let app = TestApp::with_config(|c| c.trust_proxy = trust("10.0.0.1", "x-forwarded-for")).await;
    let (mut passed, mut limited) = (0, 0);
    // 25 addresses of one /64, one registration each (limit: 10 a minute).
    for n in 1..=25u32 {
        let client = format!("2001:db8:1:2::{n:x}");
        let res = via_proxy(
            &app,
            Request::post("/oauth/register"),
            &client,
            REGISTRATION,
        )
        .await;
        match res.status.as_u16() {
            201 => passed += 1,
            429 => limited += 1,
            other => panic!("registration {n}: {other} {}", res.body),
        }
    }
    // GCRA refills one every 6 s: a slow run may see one more pass.
    assert!(passed <= 11, "{passed} registrations passed from one /64");
    assert_eq!(passed + limited, 25);
    let res = via_proxy(
        &app,
        Request::post("/oauth/register"),
        "2001:db8:1:3::1",
        REGISTRATION,
    )
    .await;
    assert_eq!(res.status, 201, "another /64: {}", res.body);
}

#[tokio::test]
async fn the_oauth_per_ip_limit_groups_ipv6_by_64_like_the_api() {
    let app = TestApp::with_config(|c| {
        c.api_rate_per_ip = 3;
        c.trust_proxy = trust("10.0.0.1", "x-forwarded-for");
    })
    .await;
    let metadata = || Request::get("/.well-known/oauth-authorization-server");
    for n in 1..=3 {
        let client = format!("2001:db8:1:2::{n}");
        let res = via_proxy(&app, metadata(), &client, "").await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let res = via_proxy(&app, metadata(), "2001:db8:1:2::4", "").await;
    assert_eq!(res.status, 429, "the fourth address of the same /64");
    let res = via_proxy(&app, metadata(), "2001:db8:1:3::1", "").await;
    assert_eq!(res.status, 200, "another /64");
}

/// A tool call through `/mcp` (which runs its REST route in process) is
/// audited and recorded as the token's use under the client, whichever
/// header the proxy writes.
#[tokio::test]
async fn mcp_tool_calls_name_the_client_for_every_header() {
    for named in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let app = TestApp::with_config(|c| c.trust_proxy = trust("127.0.0.1", named)).await;
        let o = common::owner(&app, "owner@example.com", true).await;
        let token = common::token_with(&app, &o, "agent", &["scope_tasks_write"], "30").await;
        let p = common::project(&app, &o, "site").await;
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "create_task", "arguments": {"project_id": p, "title": "t"}}});
        let mut req = Request::post("/mcp")
            .header("host", "127.0.0.1:3000")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("authorization", format!("Bearer {token}"));
        for (name, value) in through_proxy(named, 1) {
            req = req.header(name, value);
        }
        let res = app
            .send(req.body(Body::from(body.to_string())).unwrap())
            .await;
        assert_eq!(res.status, 200, "{named}: {}", res.body);
        assert!(
            res.json()["result"]["isError"] != true,
            "{named}: {}",
            res.body
        );
        app.flush_audit().await;
        let client = app
            .count("SELECT COUNT(*) FROM audit_events WHERE actor_kind = 'token' AND ip = '203.0.113.7'")
            .await;
        let other = app
            .count(
                "SELECT COUNT(*) FROM audit_events WHERE actor_kind = 'token' \
                 AND (ip IS NULL OR ip <> '203.0.113.7')",
            )
            .await;
        assert!(client > 0, "{named}: the tool call is audited");
        assert_eq!(
            other, 0,
            "{named}: every entry of the call names the client"
        );
    }
}
