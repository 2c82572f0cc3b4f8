//! The API's handlers, one file per resource, each with its own router:
//! [`token`] (who am I, the calling token, verify), [`project`],
//! [`task`], [`worklog`]. Each handler: authenticate (the `TokenAuth`
//! extractor), prove the scope, validate, call the same service function
//! the dashboard uses, map the result. Another owner's resource is 403.
//! Here: the helpers they share.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json, Router,
};

use serde::Deserialize;

use serde_json::json;

use super::{
    dto::*,
    extract::{parse_json, read_body, ApiMeta, ApiPath, ApiQuery, PageParams},
    idempotency, ApiError, TokenAuth,
};

use crate::{
    projects,
    state::AppState,
    tasks::{self, service::TaskChange, TaskStatus},
    tokens::{self, operation::Operation},
    types::{Lookup, Timestamp},
};

fn forbidden() -> ApiError {
    ApiError::Forbidden("Insufficient permissions".into())
}

fn resolve<T>(lookup: Lookup<T>, what: &str) -> Result<T, ApiError> {
    match lookup {
        Lookup::Found(v) => Ok(v),
        Lookup::OtherOwner => Err(forbidden()),
        Lookup::Missing => Err(ApiError::NotFound(format!("No such {what}."))),
    }
}

/// Ids are UUIDs; anything else cannot exist.
fn valid_id(id: &str, what: &str) -> Result<(), ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| ApiError::NotFound(format!("No such {what}.")))
}

/// Proves the scope, then reads the body (headers kept for parsing and the
/// idempotency key): the start of every POST that creates something.
async fn scoped_body(
    state: &AppState,
    auth: &TokenAuth,
    op: Operation,
    req: Request,
) -> Result<(tokens::service::Authenticated, HeaderMap, axum::body::Bytes), ApiError> {
    let token = auth.require(op)?.clone();
    let headers = req.headers().clone();
    let body = read_body(req, state).await?;
    Ok((token, headers, body))
}

/// An audit event acted by the calling token.
pub(super) fn token_event(
    action: crate::audit::AuditAction,
    t: &tokens::service::Authenticated,
    meta: &crate::web::RequestMeta,
) -> crate::audit::NewEvent {
    use crate::audit::{ActorKind, Outcome};
    crate::audit::NewEvent::new(action, ActorKind::Token, Outcome::Success)
        .account(t.account_id)
        .actor(t.prefix.clone())
        .token(t.prefix.clone())
        .from_request(meta)
}

pub mod project;
pub mod task;
pub mod token;
pub mod worklog;

/// Every resource's routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(token::router())
        .merge(project::router())
        .merge(task::router())
        .merge(worklog::router())
}
