//! The browser bundle under /pkg through the real router (issue 16): hashed
//! names are cached for good, precompressed variants are sent to browsers
//! that accept them, and nothing else is cached as if it never changed.

mod common;

use axum::{body::Body, http::Request};
use common::TestApp;

const NAME: &str = "preqstation.0123456789abcdef";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The test app with a bundle in its site root (`TestApp` serves its temp
/// dir as the site root, so files written there are served).
async fn app_with_bundle() -> TestApp {
    let app = TestApp::new().await;
    let pkg = app.dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let files: [(String, &str); 5] = [
        (format!("{NAME}.js"), "export default function init() {}"),
        (format!("{NAME}.js.br"), "brotli bytes"),
        (format!("{NAME}.js.gz"), "gzip bytes"),
        (format!("{NAME}_bg.wasm"), "\0asm"),
        ("preqstation.css".into(), "body{margin:0}"),
    ];
    for (name, body) in files {
        std::fs::write(pkg.join(name), body).unwrap();
    }
    app
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> common::TestResponse {
    let mut req = Request::get(path);
    if let Some(enc) = accept_encoding {
        req = req.header("accept-encoding", enc);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn hashed_files_are_immutable_and_sent_precompressed() {
    let app = app_with_bundle().await;
    let path = format!("/pkg/{NAME}.js");

    let br = get(&app, &path, Some("br, gzip")).await;
    assert_eq!(br.status, 200);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.body, "brotli bytes");
    assert_eq!(br.header("content-type"), Some("text/javascript"));
    assert_eq!(br.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(br.header("vary"), Some("accept-encoding"));

    let gz = get(&app, &path, Some("gzip")).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.body, "gzip bytes");
    assert_eq!(gz.header("cache-control"), Some(IMMUTABLE));

    let plain = get(&app, &path, None).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, "export default function init() {}");
    assert_eq!(plain.header("cache-control"), Some(IMMUTABLE));

    // No .br beside it: the file itself, still immutable.
    let wasm = get(&app, &format!("/pkg/{NAME}_bg.wasm"), Some("br")).await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-encoding"), None);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), Some(IMMUTABLE));
}

#[tokio::test]
async fn unhashed_and_missing_files_are_not_cached_for_good() {
    let app = app_with_bundle().await;

    let css = get(&app, "/pkg/preqstation.css", Some("br, gzip")).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.body, "body{margin:0}");
    assert_eq!(css.header("cache-control"), Some("no-cache"));

    // A hashed name that is not there (yet): not remembered at all.
    let missing = get(&app, "/pkg/preqstation.fedcba9876543210.js", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("cache-control"), Some("no-store"));

    let escape = get(&app, "/pkg/../test.sqlite", None).await;
    assert_eq!(escape.status, 404);
}

#[tokio::test]
async fn html_pages_are_never_stored() {
    let app = app_with_bundle().await;
    let page = get(&app, "/setup", Some("br, gzip")).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    // The page links the stylesheet under the bundle's output name.
    assert!(
        page.body.contains("href=\"/pkg/preqstation.css\""),
        "{}",
        page.body
    );
}
