//! The HTTP surface: one axum router serving the Leptos pages, the server
//! functions, the health probes and the browser bundle, wrapped in the
//! middleware every request passes (security headers, body limit, CSRF,
//! sessions).
//!
//! `router(state)` is what the binary serves and what the integration tests
//! drive, so tests exercise exactly the production stack.

pub mod assets;
pub mod client_ip;
mod csrf;
mod deadline;
mod headers;
mod health;
mod meta;
pub mod request_id;
pub(crate) mod session;
mod sfn;

use axum::{
    middleware,
    routing::{get, post},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;

pub use headers::CspNonce;
pub use meta::RequestMeta;
pub use session::{percent_encode, safe_next, MaybeSession};
pub use sfn::ServerFnContext;

use crate::{
    app::{shell, App},
    state::AppState,
};

/// The one limit on request bodies, for every router (pages, `/api`, `/mcp`,
/// `/oauth`): larger bodies are refused with 413 before a handler reads them.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Builds the application router over `state`.
pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let context = {
        let state = state.clone();
        move || leptos_context(&state)
    };
    let app_fn = {
        let options = state.leptos.clone();
        move || shell(options.clone())
    };

    // The pages: health probes, the API reference, Leptos routes and server
    // functions, behind the browser-facing middleware (innermost first:
    // sessions, server-function status codes, CSRF, the body limit).
    let pages = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/docs/api", get(crate::api::docs::page))
        .route("/docs/mcp", get(crate::api::docs::mcp_page))
        .route(
            "/settings/audit-logs/export.csv",
            get(crate::audit::export::csv),
        )
        .route(
            "/settings/audit-logs/export.jsonl",
            get(crate::audit::export::jsonl),
        )
        // The consent form's answer (the page itself is a Leptos route).
        .route("/oauth/decision", post(crate::oauth::http::consent))
        .leptos_routes_with_context(&state, routes, context.clone(), app_fn)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Inside the session layer: a refused server function is audited
        // with the account that asked.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            sfn::status_layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::layer))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES));

    // The bearer-token API has its own limits and error envelope; around
    // everything, the request deadline (no request waits forever), the
    // security headers (so even refusals carry them) and the request id.
    // MCP tool calls run their REST route in process, through this router.
    let api_in_process = Router::new()
        .nest("/api", crate::api::router(state.clone()))
        .with_state(state.clone());
    // The built assets (/pkg) need no session, CSRF check or Leptos render.
    let router = Router::new()
        .nest("/api", crate::api::router(state.clone()))
        .merge(crate::mcp::http::routes(&state, api_in_process))
        .merge(crate::oauth::http::routes(&state))
        .merge(assets::routes(&state.leptos))
        .merge(pages)
        // Every extractor that reads a body (Json, Form, Bytes) under any
        // router stops at the one limit (axum's default is 2 MiB).
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::oauth::discovery::challenge_layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            deadline::layer,
        ))
        // A streamed page whose next chunk never comes is cut off, too.
        .layer(tower_http::timeout::ResponseBodyTimeoutLayer::new(
            state.config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::layer,
        ));
    // Counted and timed per matched route, only when metrics are served: no
    // work on the request path otherwise.
    let router = if state.config.metrics_listen.is_some() {
        router.layer(middleware::from_fn(crate::metrics::layer))
    } else {
        router
    };
    router
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// The Leptos routes, generated once per process. Generating them renders
/// the app with a process-wide flag set (leptos_server's
/// `SuppressResourceLoad`, leptos issue #4773): a resource created by any
/// other render while it is set never loads, and that page never finishes.
/// Building a second router while serving (tests build one per test, on
/// parallel threads) hit that window; now only the first call renders.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Context for every Leptos render and server function: the app state and
/// this response's CSP nonce (so hydration scripts carry it).
fn leptos_context(state: &AppState) {
    provide_context(state.clone());
    if let Some(parts) = use_context::<http::request::Parts>() {
        if let Some(nonce) = parts.extensions.get::<CspNonce>() {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
        }
    }
}

/// Leptos options from the `LEPTOS_*` variables cargo-leptos also sets,
/// with defaults matching the build scripts (`target/site/pkg/preqstation.*`).
/// The output name gets the content hash of the bundle in the site root
/// (`preqstation.<hash>`, see [`assets::output_name`]).
pub fn leptos_options(config: &crate::config::Config) -> LeptosOptions {
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let site_root = var("LEPTOS_SITE_ROOT", "target/site");
    let output_name = assets::output_name(&site_root, &var("LEPTOS_OUTPUT_NAME", "preqstation"));
    LeptosOptions::builder()
        .output_name(output_name)
        .site_root(site_root)
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.listen)
        .build()
}
