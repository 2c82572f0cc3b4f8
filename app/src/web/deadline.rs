//! A deadline on every request: whatever a handler waits for (the database,
//! the audit queue, a password hash), the client gets an answer within
//! `PREQSTATION_REQUEST_TIMEOUT` seconds: a 503, in the API's JSON envelope
//! under `/api/`, with `Retry-After`. Dropping the handler's future is safe:
//! an open transaction rolls back when its connection is dropped, and every
//! change commits with its audit entry in one transaction, so a timed-out
//! request either happened whole or not at all.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{header, HeaderValue, StatusCode};

use crate::state::AppState;

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let is_api = path.starts_with("/api/") || path == "/api" || path == "/mcp";
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::error!(%method, %path, limit_secs = limit.as_secs(), "request timed out; answered 503");
            let mut res = if is_api {
                crate::api::ApiError::Unavailable.into_response()
            } else {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "The service is temporarily unavailable. Try again in a moment.",
                )
                    .into_response()
            };
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
    }
}
