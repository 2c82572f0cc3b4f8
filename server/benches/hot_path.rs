//! Benchmarks of the API hot path (run: `cargo bench -p server --bench hot_path`).
//! Not a test: it measures, prints, and asserts nothing about time.
//!
//! - token format check (checksum, offline);
//! - `GET /api/auth/whoami` through the real router over a SQLite file
//!   (authentication: one indexed lookup; last-used coalesced; audit queued);
//! - `POST /api/tasks` through the real router (insert + queued audit event).

use std::time::{Duration, Instant};

use app::{
    config::Config, db, state::AppState, tokens::format, types::Role, types::Timestamp, web,
};
use axum::{body::Body, http::Request};
use tower::ServiceExt;

fn report(name: &str, n: u32, elapsed: Duration) {
    let per = elapsed / n;
    println!(
        "{name:<48} {n:>7} iterations  {per:>10.2?} each  {:>10.0} /s",
        n as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let token = format::generate(format::DEFAULT_PREFIX).unwrap();
    let text = token.expose().to_string();
    let n = 200_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            format::parse(format::DEFAULT_PREFIX, std::hint::black_box(&text)).is_ok(),
        );
    }
    report(
        "token format + checksum check (offline)",
        n,
        start.elapsed(),
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.sqlite").display()
    );
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let mut config = Config::for_tests(url, dir.path().to_path_buf()).unwrap();
    config.api_rate_per_ip = u32::MAX;
    config.api_rate_per_token = u32::MAX;
    let leptos = leptos::config::LeptosOptions::builder()
        .output_name("preqstation")
        .site_root(".")
        .build();
    let state = AppState::new(leptos, pool.clone(), config);
    let router = web::router(state.clone());

    let new = app::accounts::NewAccount::validate(
        "bench@example.com",
        "a long benchmark passphrase".into(),
        Role::Admin,
    )
    .unwrap();
    let owner = app::accounts::create(
        &pool,
        &state.config.keys,
        new,
        &app::audit::NewEvent::new("account_created", "system", "success"),
        Timestamp::now(),
    )
    .await
    .unwrap();
    let base = app::audit::NewEvent::new("token_created", "system", "success");
    let request = app::tokens::service::NewToken::from_form(
        "bench",
        None,
        "30",
        None,
        app::tokens::Scope::DEFAULT.to_vec(),
        Timestamp::now(),
    )
    .unwrap();
    let (secret, _) = app::tokens::service::create(
        &pool,
        &state.config,
        owner.id,
        request,
        &base,
        Timestamp::now(),
    )
    .await
    .unwrap();
    let project = app::projects::service::create(
        &pool,
        owner.id,
        "bench",
        None,
        Default::default(),
        Timestamp::now(),
    )
    .await
    .unwrap();
    let bearer = format!("Bearer {}", secret.expose());

    let n = 3_000;
    let start = Instant::now();
    for _ in 0..n {
        let req = Request::get("/api/auth/whoami")
            .header("authorization", &bearer)
            .body(Body::empty())
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
    }
    report("GET /api/auth/whoami (router, SQLite)", n, start.elapsed());

    let n = 1_000;
    let body = format!(
        r#"{{"project_id":"{}","title":"benchmark task"}}"#,
        project.id
    );
    let start = Instant::now();
    for _ in 0..n {
        let req = Request::post("/api/tasks")
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 201);
    }
    report("POST /api/tasks (router, SQLite)", n, start.elapsed());

    let start = Instant::now();
    state.audit.flush(std::time::Duration::from_secs(30)).await;
    report("audit queue drain after the runs above", 1, start.elapsed());

    audit_writer(&pool, "SQLite").await;
    // PostgreSQL too when given an empty database (migrated here), e.g.
    // BENCH_POSTGRES_URL=postgres://preq_test:preq_test@127.0.0.1/bench.
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        let pg = db::connect(&url).await.unwrap();
        db::migrate(&pg).await.unwrap();
        audit_writer(&pg, "PostgreSQL").await;
    }
}

/// The audit writer's sustained rate: batches of 500 events (the queue's
/// batch size), each appended and committed in one transaction.
async fn audit_writer(pool: &db::Db, backend: &str) {
    let keys = app::keys::Keyring::generate().unwrap();
    let batches = 40;
    let batch: Vec<app::audit::NewEvent> = (0..500)
        .map(|_| {
            app::audit::NewEvent::new("token_used", "token", "success")
                .actor("preq_AbCdEfG")
                .token("preq_AbCdEfG")
                .detail("method", "GET")
                .detail("path", "/api/auth/whoami")
                .detail("status", 200)
        })
        .collect();
    let start = Instant::now();
    for _ in 0..batches {
        app::audit::chain::append_now(pool, &keys, &batch, Timestamp::now())
            .await
            .unwrap();
    }
    report(
        &format!("audit append, events in 500-event batches ({backend})"),
        batches * 500,
        start.elapsed(),
    );
}
