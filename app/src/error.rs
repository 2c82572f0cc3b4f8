//! The error every server function returns, shared with the browser so the UI
//! can put a message next to the field it is about.
//!
//! Domain errors (e.g. `accounts::AccountError`) convert into it; internal
//! failures are logged with context on the server and reach the client only
//! as a generic message.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input that failed validation; `field` names the form field.
    #[error("{message}")]
    Field { field: String, message: String },
    /// Not signed in, or the session ended.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Throttled; `field` lets the form show it where the user is looking,
    /// `retry_after` is the real wait in seconds (the `Retry-After` header).
    #[error("{message}")]
    TooManyRequests {
        field: String,
        message: String,
        #[serde(default)]
        retry_after: u64,
    },
    /// The database is unreachable.
    #[error("The service is temporarily unavailable. Try again in a moment.")]
    Unavailable,
    /// Anything else that went wrong on the server (details are in its log).
    #[error("Something went wrong on our side. Try again.")]
    Internal,
    /// The request itself could not be decoded or sent.
    #[error("{0}")]
    Request(String),
}

impl AppError {
    /// Throttled for `retry_after` seconds, shown next to `field`.
    pub fn throttled(field: &str, message: impl Into<String>, retry_after: i64) -> Self {
        AppError::TooManyRequests {
            field: field.to_string(),
            message: message.into(),
            retry_after: retry_after.max(1) as u64,
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Field {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The message for `name` if this error is about that field.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Field { field, message }
            | AppError::TooManyRequests { field, message, .. }
                if field == name =>
            {
                Some(message.clone())
            }
            _ => None,
        }
    }

    /// A message not tied to any field (shown at the top of a form).
    pub fn general(&self) -> Option<String> {
        match self {
            AppError::Field { .. } | AppError::TooManyRequests { .. } => None,
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status a server function answering with this error sends.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Field { .. } => 422,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests { .. } => 429,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
            AppError::Request(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::Request(format!("The form could not be read: {m}"))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Request(
                "Could not reach the server. Check your connection and try again.".into(),
            ),
            _ => AppError::Internal,
        }
    }
}

/// Server-side helpers: logging and mapping infrastructure errors.
#[cfg(feature = "ssr")]
impl AppError {
    /// Logs `err` with `context` and returns the generic error the client sees.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        AppError::Internal
    }

    /// Maps a database error: pool exhaustion or an unreachable server is
    /// 503 (the app recovers when the database does), everything else 500.
    pub fn db(context: &str, err: sqlx::Error) -> Self {
        if crate::db::is_transient(&err) {
            tracing::error!(context, error = %err, "database unavailable");
            return AppError::Unavailable;
        }
        Self::internal(context, err)
    }
}
