//! The bearer-token REST API under `/api/`, for agents. Handlers are thin:
//! extract (the [`auth::TokenAuth`] extractor authenticates), prove the
//! scope, call the same service functions as the dashboard, map the result.
//! Errors are [`ApiError`], the JSON envelope `{"error":{"code","message"}}`.

pub mod auth;
pub mod docs;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod leak_report;
pub mod limits;
pub mod meta;
pub mod openapi;
pub mod rotation;
pub mod routes;

use axum::{
    middleware,
    routing::{get, post},
    Json, Router,
};

pub use auth::TokenAuth;
pub use error::ApiError;

use crate::state::AppState;

/// The routes, relative to `/api`, with the API's own middleware.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(openapi::json()) }))
        .merge(routes::router())
        .route("/tokens/self/rotate", post(rotation::rotate_self))
        .route(
            "/secret-scanning/report",
            post(leak_report::report)
                .layer(axum::extract::DefaultBodyLimit::max(crate::leaks::MAX_BODY)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state, meta::layer))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("No such API endpoint.".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
