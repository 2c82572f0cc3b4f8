//! Outbound HTTP and proxies: the metadata-document fetch never goes
//! through `HTTP(S)_PROXY` (a proxy resolves names itself, defeating the
//! address pin), and `preqstation mcp` never proxies this machine (a token
//! sent to an http:// loopback URL would reach the proxy in clear text).
//! The proxy here is a listener that records whether anyone connected.

mod common;

use std::{
    io::Read,
    net::TcpListener,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{routing::get, Router};
use common::TestApp;
use serde_json::json;

/// A "proxy" on loopback that counts connections and records what arrived.
fn recording_proxy() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let (c, s) = (count.clone(), seen.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 4096];
            if let Ok(n) = stream.read(&mut buf) {
                s.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            // Drop: the client sees the connection close.
        }
    });
    (url, count, seen)
}

#[test]
fn the_stdio_server_never_sends_a_loopback_request_through_a_proxy() {
    let (proxy, count, seen) = recording_proxy();
    // A port with nothing listening: direct, the probe fails at once.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = app::tokens::format::generate("preq_").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .arg("mcp")
        .env("PREQSTATION_API_URL", format!("http://127.0.0.1:{closed}"))
        .env("PREQSTATION_TOKEN", token.expose())
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("ALL_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("binary runs");
    assert!(!out.status.success(), "nothing listens: it cannot start");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "the proxy was used: {}",
        seen.lock().unwrap()
    );
    assert!(!seen.lock().unwrap().contains(token.expose()));
}

#[tokio::test]
async fn metadata_documents_are_fetched_without_a_proxy() {
    let (proxy, count, _) = recording_proxy();
    // Only this test's process (nextest runs one test per process).
    std::env::set_var("HTTP_PROXY", &proxy);
    std::env::set_var("HTTPS_PROXY", &proxy);
    std::env::set_var("ALL_PROXY", &proxy);
    std::env::remove_var("NO_PROXY");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let doc = json!({
        "client_id": format!("{base}/client.json"),
        "client_name": "Direct",
        "redirect_uris": ["http://127.0.0.1:4711/callback"],
    })
    .to_string();
    let server = tokio::spawn(async move {
        let app = Router::new().route(
            "/client.json",
            get(move || {
                let d = doc.clone();
                async move {
                    (
                        // An absurd max-age must not overflow either.
                        [(http::header::CACHE_CONTROL, "max-age=99999999999999999")],
                        d,
                    )
                }
            }),
        );
        axum::serve(listener, app).await.unwrap();
    });
    let app =
        TestApp::with_config(|c| c.oauth_metadata_allow_hosts = vec!["127.0.0.1".into()]).await;
    let q = common::form_encode(&[
        ("response_type", "code"),
        ("client_id", &format!("{base}/client.json")),
        ("redirect_uri", "http://127.0.0.1:4711/callback"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
        ("resource", "http://127.0.0.1:3000/mcp"),
    ]);
    let res = app.get(&format!("/oauth/authorize?{q}"), None).await;
    assert_eq!(res.status, 303, "fetched directly: {}", res.body);
    assert_eq!(count.load(Ordering::SeqCst), 0, "the proxy was used");
    server.abort();
}
