//! The client IP behind proxies, through the real router: the rightmost
//! untrusted address across every `X-Forwarded-For` line, only from trusted
//! peers; IPv6 clients limited by their /64; the same IP in the audit log.

mod common;

use std::net::SocketAddr;

use axum::{body::Body, extract::ConnectInfo, http::Request};
use common::TestApp;

async fn anonymous(app: &TestApp, peer: &str, xff: &[&str]) -> common::TestResponse {
    let mut req = Request::get("/api/auth/whoami");
    for line in xff {
        req = req.header("x-forwarded-for", *line);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    app.send(req).await
}

#[tokio::test]
async fn a_client_behind_a_trusted_proxy_cannot_choose_its_ip() {
    let app = TestApp::with_config(|c| {
        c.api_rate_per_ip = 3;
        c.trust_proxy = app::web::client_ip::TrustedProxies::parse("10.0.0.0/8").unwrap();
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
