//! Task-scoped tokens: an orchestrating agent's credential (the subject: an
//! API key or an OAuth access token holding `tokens:delegate`) exchanged
//! (RFC 8693, at `/oauth/token`) for a short-lived token that reaches one
//! task and nothing else. The prefix is the deployment's plus `tt_`
//! (`preq_tt_...`), with the same checksum and a published regex.
//!
//! A task token is read on every request with its subject and its task
//! (`authenticate`), so it dies on the next request, on every instance, when
//! its task is marked done, its subject is revoked, expires or is rotated
//! (an OAuth subject: its grant ends), or its owner revokes it. What it may
//! do is [`super::operation::Operation::for_task_token`]; which rows, the
//! owner filter (`projects::Reach::task`). Shared: what the subject's page
//! lists. Behind `ssr`: `exchange`, `authenticate`, `manage`.

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

#[cfg(feature = "ssr")]
pub mod authenticate;
#[cfg(feature = "ssr")]
pub mod exchange;
#[cfg(feature = "ssr")]
pub mod manage;

/// Lifetime when the exchange asks for none: 15 minutes.
pub const DEFAULT_TTL_SECS: i64 = 900;
/// Live task tokens one subject may hold.
pub const MAX_LIVE_PER_SUBJECT: i64 = 100;
/// The RFC 9396 `authorization_details` type.
pub const DETAILS_TYPE: &str = "preqstation_task";
/// RFC 8693 grant and token types.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A live task token, as its subject's page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTokenView {
    pub id: String,
    pub prefix: String,
    pub task_id: String,
    pub task_title: String,
    pub scopes: Vec<super::Scope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// Calls left, when it has a usage limit.
    pub remaining: Option<i64>,
}

/// The prefix of task tokens under the deployment prefix `base`.
pub fn prefix(base: &str) -> String {
    format!("{base}tt_")
}
