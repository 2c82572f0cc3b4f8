//! Test harness: the real router over a fresh database per test: a SQLite
//! file in a temporary directory, or, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, a freshly created database on it.

#![allow(dead_code)]

pub mod binary;
pub mod oauth;
pub mod oidc;

use std::net::SocketAddr;

use app::{
    config::Config,
    db,
    state::AppState,
    types::{Role, Timestamp},
    web,
};
use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, HeaderMap, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub const ORIGIN: &str = "http://127.0.0.1:3000";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    /// The one-time setup code issued at start (empty once an account exists).
    pub setup_code: String,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// `name=value` of the session cookie this response sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with("__Host-session=") && !c.contains("Max-Age=0"))
            .map(|c| c.split(';').next().unwrap_or_default().to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Which database the tests run on.
pub fn backend() -> &'static str {
    if std::env::var("TEST_DATABASE_URL")
        .map(|u| u.starts_with("postgres"))
        .unwrap_or(false)
    {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A URL for a brand-new, empty database.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("preq_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            conn.close().await.ok();
            let (base, _) = admin_url.rsplit_once('/').expect("URL has a database path");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("test.sqlite").display()),
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(dir.path()).await;
        Self::open(database_url, dir, adjust).await
    }

    /// The app over an existing database (e.g. one the CLI wrote to).
    pub async fn open(
        database_url: String,
        dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config =
            Config::for_tests(database_url.clone(), dir.path().to_path_buf()).expect("test config");
        // The keyring file in the data directory, as `serve` reads it, so
        // CLI commands run with the same data directory share its keys.
        config.keys = app::keys::load(&|_| None, dir.path())
            .map_err(|p| p.message)
            .expect("keyring");
        adjust(&mut config);
        diagnostics::init_logging();
        let pool = db::connect(&database_url).await.expect("connect");
        diagnostics::watchdog(pool.clone());
        db::migrate(&pool).await.expect("migrate");
        app::audit::chain::keyed_start(&pool, &mut config.keys, true)
            .await
            .expect("pin the keyed audit chain");
        let leptos = leptos::config::LeptosOptions::builder()
            .output_name("preqstation")
            .site_root(dir.path().display().to_string())
            .site_pkg_dir("pkg")
            .build();
        let setup_code = app::auth::setup_code::issue(&pool, Timestamp::now())
            .await
            .expect("setup code");
        let state = AppState::new(leptos, pool, config);
        let router = web::router(state.clone());
        Self {
            router,
            state,
            database_url,
            dir,
            setup_code: setup_code.unwrap_or_default(),
        }
    }

    pub async fn send(&self, mut req: Request<Body>) -> TestResponse {
        if req.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        }
        // A request that never finishes fails its test at once, naming the
        // request, instead of holding the run (issue 9).
        let what = format!("{} {}", req.method(), req.uri());
        let router = self.router.clone();
        let exchange = async move {
            let res = router.oneshot(req).await.expect("router never errors");
            let status = res.status();
            let headers = res.headers().clone();
            let bytes = res.into_body().collect().await.expect("body").to_bytes();
            TestResponse {
                status,
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), exchange)
            .await
            .unwrap_or_else(|_| panic!("{what} did not finish within 60 s"))
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> TestResponse {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// Calls a server function the way the hydrated page does: a
    /// same-origin form POST.
    pub async fn call(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> TestResponse {
        self.call_from(endpoint, form, cookie, Some(ORIGIN), [127, 0, 0, 1])
            .await
    }

    pub async fn call_from(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
        origin: Option<&str>,
        ip: [u8; 4],
    ) -> TestResponse {
        let body = form_encode(form);
        let mut req = Request::post(format!("/rpc/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let mut req = req.body(Body::from(body)).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        self.send(req).await
    }

    /// Runs first-run setup and returns the admin's session cookie.
    pub async fn setup_admin(&self, email: &str) -> String {
        let res = self
            .call(
                "setup",
                &[
                    ("setup_code", &self.setup_code),
                    ("email", email),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                None,
            )
            .await;
        assert!(
            res.status.is_success(),
            "setup failed: {} {}",
            res.status,
            res.body
        );
        res.session_cookie().expect("setup sets the session cookie")
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.call("login", &[("email", email), ("password", password)], None)
            .await
    }

    /// Waits until every queued audit event is written (fails the test
    /// after 30 s).
    pub async fn flush_audit(&self) {
        assert!(
            self.state
                .audit
                .flush(std::time::Duration::from_secs(30))
                .await,
            "audit queue flushed"
        );
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_one(&self.state.db)
            .await
            .expect("count query")
            .try_get::<i64, _>(0)
            .expect("count column")
    }
}

/// Hang diagnostics, off unless `PREQ_TEST_DIAG` is set: statement-level
/// logs to stderr and, after `PREQ_TEST_DIAG` seconds, a report of the
/// pool and of the process's threads (the reproduction loop in
/// docs/development.md reads them).
mod diagnostics {
    use std::time::Duration;

    fn after() -> Option<u64> {
        std::env::var("PREQ_TEST_DIAG").ok()?.parse().ok()
    }

    pub fn init_logging() {
        if after().is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into()),
                ))
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_thread_names(true)
                .try_init();
        }
    }

    pub fn watchdog(pool: app::db::Db) {
        let Some(secs) = after() else { return };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|s| s.trim().to_string())
                .collect();
            eprintln!(
                "WATCHDOG after {secs}s: pool size={} idle={} closed={}; threads: {threads:?}",
                pool.size(),
                pool.num_idle(),
                pool.is_closed()
            );
        });
    }
}

/// A signed-in account owner (its session cookie).
pub struct Owner {
    pub cookie: String,
}

/// The first account (admin, through setup) or a further member.
pub async fn owner(app: &TestApp, email: &str, first: bool) -> Owner {
    let cookie = if first {
        app.setup_admin(email).await
    } else {
        let new =
            app::accounts::NewAccount::validate(email, PASSWORD.into(), Role::Member).unwrap();
        app::accounts::create(
            &app.state.db,
            &app.state.config.keys,
            new,
            &app::audit::NewEvent::new(
                app::audit::AuditAction::AccountCreated,
                app::audit::ActorKind::System,
                app::audit::Outcome::Success,
            ),
            Timestamp::now(),
        )
        .await
        .unwrap();
        app.login(email, PASSWORD).await.session_cookie().unwrap()
    };
    Owner { cookie }
}

/// A new API token with these scope form fields and expiry.
pub async fn token_with(
    app: &TestApp,
    o: &Owner,
    name: &str,
    scopes: &[&str],
    expiry: &str,
) -> String {
    let mut form = vec![("name", name), ("expiry", expiry)];
    for s in scopes {
        form.push((s, "on"));
    }
    let res = app.call("tokens/create", &form, Some(&o.cookie)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["token"].as_str().unwrap().to_string()
}

/// A new project of `o` (with two settings); returns its id.
pub async fn project(app: &TestApp, o: &Owner, name: &str) -> String {
    let res = app
        .call(
            "projects/create",
            &[
                ("name", name),
                ("description", "d"),
                ("settings", "repo = git@x:y.git\nbranch = main"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["id"].as_str().unwrap().to_string()
}

/// A REST call with an optional bearer token and JSON body.
pub async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    api_with(app, method, path, token, body, &[]).await
}

/// [`api`] with extra request headers.
pub async fn api_with(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.unwrap()).await
}

pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends one raw HTTP/1.1 request (with `Connection: close`) to the real
/// binary on `127.0.0.1:port` and returns the response's status code.
pub fn raw_status(port: u16, request: &str) -> Option<u16> {
    raw_request(port, request).map(|(status, _)| status)
}

/// [`raw_status`] with the whole response text (headers and body).
pub fn raw_request(port: u16, request: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

/// One JSON-RPC request to `/mcp` (protocol 2025-11-25) with `token`.
pub async fn mcp_request(app: &TestApp, token: &str, method: &str, params: Value) -> TestResponse {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let req = Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

/// [`mcp_request`], answered 200: its JSON-RPC answer.
pub async fn mcp(app: &TestApp, token: &str, method: &str, params: Value) -> Value {
    let res = mcp_request(app, token, method, params).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

/// `GET /api/auth/whoami` with `token`, as if from `ip`.
pub async fn whoami_from(app: &TestApp, token: &str, ip: &str) -> TestResponse {
    let mut req = Request::get("/api/auth/whoami")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let ip: std::net::IpAddr = ip.parse().unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
    app.send(req).await
}

/// A loopback port nothing listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
