//! Client ID Metadata Documents (issue 15): a good document on an allowed
//! host is fetched, cached and shown as verified; hostile ones (another
//! client_id, a private address, oversized, slow, a redirect) are refused.

mod common;

use std::time::Duration;

use axum::{
    http::header,
    response::{IntoResponse, Redirect},
    routing::get,
    Router,
};
use common::TestApp;
use serde_json::json;

/// A client's web server on 127.0.0.1: its documents, good and hostile.
async fn client_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let b = base.clone();
    let doc = move |path: &str, redirect: &str| {
        json!({
            "client_id": format!("{b}{path}"),
            "client_name": "Metadata host",
            "redirect_uris": [redirect],
        })
        .to_string()
    };
    let good = doc("/good.json", "http://127.0.0.1:4711/callback");
    let mismatched = doc("/somewhere-else.json", "http://127.0.0.1:4711/callback");
    let app = Router::new()
        .route(
            "/good.json",
            get(move || {
                let body = good.clone();
                async move { ([(header::CACHE_CONTROL, "max-age=600")], body) }
            }),
        )
        .route(
            "/mismatch.json",
            get(move || {
                let b = mismatched.clone();
                async move { b }
            }),
        )
        .route("/big.json", get(|| async { "x".repeat(70 * 1024) }))
        .route(
            "/slow.json",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(8)).await;
                "{}"
            }),
        )
        .route(
            "/redirect.json",
            get(|| async { Redirect::temporary("/good.json").into_response() }),
        );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, task)
}

fn authorize(client_id: &str) -> String {
    let q = common::form_encode(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", "http://127.0.0.1:4711/callback"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
        ("state", "s"),
        ("resource", "http://127.0.0.1:3000/mcp"),
    ]);
    format!("/oauth/authorize?{q}")
}

#[tokio::test]
async fn documents_are_fetched_behind_an_ssrf_guard() {
    let (base, server) = client_server().await;
    let app =
        TestApp::with_config(|c| c.oauth_metadata_allow_hosts = vec!["127.0.0.1".into()]).await;
    let o = common::owner(&app, "owner@example.com", true).await;
    let meta = app
        .get("/.well-known/oauth-authorization-server", None)
        .await
        .json();
    assert_eq!(meta["client_id_metadata_document_supported"], true);

    // A good document: parked, shown as coming from its host, cached.
    let good = format!("{base}/good.json");
    let res = app.get(&authorize(&good), None).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let location = res.header("location").unwrap().to_string();
    let request = location.split("request=").nth(1).unwrap().to_string();
    let info = app
        .call(
            "oauth/consent-info",
            &[("request", &request)],
            Some(&o.cookie),
        )
        .await
        .json();
    assert_eq!(info["client_name"], "Metadata host");
    assert_eq!(info["source"], "127.0.0.1");
    assert_eq!(info["verified"], true);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_clients WHERE kind = 'metadata_document'")
            .await,
        1,
        "cached"
    );

    // Hostile documents are refused (shown, never redirected).
    for (path, why) in [
        ("/mismatch.json", "client_id is not the URL"),
        ("/big.json", "64 KiB"),
        ("/slow.json", "5 seconds"),
        ("/redirect.json", "redirects are not followed"),
        ("/missing.json", "answered 404"),
    ] {
        let res = app.get(&authorize(&format!("{base}{path}")), None).await;
        assert_eq!(res.status, 400, "{path}");
        assert!(res.body.contains(why), "{path}: {}", res.body);
    }
    server.abort();
}

#[tokio::test]
async fn private_addresses_and_plain_http_are_refused_unless_allowed() {
    let (base, server) = client_server().await;
    // No allowed hosts: 127.0.0.1 is loopback, and http is not https.
    let app = TestApp::new().await;
    let res = app
        .get(&authorize(&format!("{base}/good.json")), None)
        .await;
    assert_eq!(res.status, 400);
    assert!(res.body.contains("https"), "{}", res.body);
    // localhost over https resolves to loopback: refused before connecting.
    let port = base.rsplit(':').next().unwrap();
    let res = app
        .get(
            &authorize(&format!("https://localhost:{port}/good.json")),
            None,
        )
        .await;
    assert_eq!(res.status, 400);
    assert!(
        res.body.contains("private or reserved address"),
        "{}",
        res.body
    );
    for hostile in [
        "https://169.254.169.254/latest/meta-data.json",
        "https://10.0.0.1/client.json",
        "https://[::ffff:127.0.0.1]/client.json",
        "https://[fd00::1]/client.json",
    ] {
        let res = app.get(&authorize(hostile), None).await;
        assert_eq!(res.status, 400, "{hostile}");
        assert!(
            res.body.contains("private or reserved address"),
            "{hostile}: {}",
            res.body
        );
    }
    server.abort();
}
