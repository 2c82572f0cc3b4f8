//! Every wait has a bound: a request that waits on a database lock longer
//! than the request deadline is answered 503 (the API's envelope under
//! `/api`, `Retry-After`), promptly and without a server error, and the app
//! works again once the lock is gone.

mod common;

use std::time::{Duration, Instant};

use common::{api, owner, token_with, TestApp};
use sqlx::Connection;

async fn whoami(app: &TestApp, token: &str) -> common::TestResponse {
    api(app, "GET", "/api/auth/whoami", Some(token), None).await
}

#[tokio::test]
async fn a_request_stuck_on_a_lock_gets_503_at_the_deadline() {
    let app = TestApp::with_config(|c| c.request_timeout = Duration::from_secs(1)).await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    assert_eq!(whoami(&app, &token).await.status, 200);

    // Another client holds the token table locked, longer than the deadline.
    let mut other = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let lock = if common::backend() == "postgres" {
        "LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE"
    } else {
        // SQLite: a write lock; the token's last-use write waits behind it.
        "UPDATE api_tokens SET name = name"
    };
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query(lock).execute(&mut other).await.unwrap();
    let started = Instant::now();
    let res = whoami(&app, &token).await;
    if common::backend() == "postgres" {
        // Even the token lookup waits behind an exclusive lock.
        assert_eq!(res.status, 503, "{}", res.body);
        assert_eq!(res.json()["error"]["code"], "SERVICE_UNAVAILABLE");
        assert_eq!(res.header("retry-after"), Some("5"));
        assert!(res.header("x-request-id").is_some());
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "took {:?}",
            started.elapsed()
        );
    } else {
        // SQLite (WAL) answers reads from a snapshot; the last-use write was
        // coalesced (used a moment ago), so this one does not wait.
        assert_eq!(res.status, 200, "{}", res.body);
    }
    // A dashboard write (creating a token) needs the lock on both databases.
    let started = Instant::now();
    let res = app
        .call(
            "tokens/create",
            &[
                ("name", "second"),
                ("expiry", "30"),
                ("scope_tasks_read", "on"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 503, "{}", res.body);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.ok();
    assert_eq!(
        whoami(&app, &token).await.status,
        200,
        "works again once the lock is gone"
    );
}

/// Issue 9's hang, reproduced: building a router renders the app with a
/// process-wide "suppress resource loads" flag set (leptos #4773). When every
/// router generated its own route list, a page rendering on another thread
/// at that moment created resources that never loaded, and the response body
/// never ended (tests hung about once in 60 runs under load). Routers now
/// share one route list generated once per process, so building routers
/// while pages render is harmless.
#[tokio::test]
async fn building_routers_while_pages_render_never_hangs_a_page() {
    let app = TestApp::new().await;
    let cookie = app.setup_admin("admin@example.com").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = {
        let (state, stop) = (app.state.clone(), stop.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut built = 0;
            rt.block_on(async {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && built < 2000 {
                    drop(app::web::router(state.clone()));
                    built += 1;
                    tokio::task::yield_now().await;
                }
            });
            built
        })
    };
    for i in 0..100 {
        let res = tokio::time::timeout(Duration::from_secs(15), app.get("/", Some(&cookie)))
            .await
            .unwrap_or_else(|_| panic!("page render {i} never finished"));
        assert_eq!(res.status, 200);
        assert!(res.body.contains("</html>"), "render {i} cut short");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0);
}
