//! The bearer-token REST API under `/api/`, for agents. Handlers are thin:
//! extract (the [`auth::TokenAuth`] extractor authenticates), call the same
//! service functions as the dashboard, map the result. Errors are
//! [`ApiError`], the JSON envelope `{"error":{"code","message"}}`.

pub mod auth;
pub mod error;

use axum::{routing::get, Json, Router};
use serde_json::{json, Value};

pub use auth::TokenAuth;
pub use error::ApiError;

use crate::state::AppState;

/// The routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/whoami", get(whoami))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Who the calling token belongs to, and what it is.
async fn whoami(TokenAuth(token): TokenAuth) -> Json<Value> {
    Json(json!({
        "account": {
            "id": token.account_id.to_string(),
            "email": token.account_email,
        },
        "token": {
            "id": token.token_id,
            "name": token.name,
            "prefix": token.prefix,
            "scopes": token.scopes,
            "created_at": token.created_at.rfc3339(),
            "expires_at": token.expires_at.map(|t| t.rfc3339()),
        }
    }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("No such API endpoint.".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
