//! The error every server function returns, shared with the browser so the UI
//! can put a message next to the field it is about.
//!
//! Domain faults ([`crate::fault::Fault`]) convert into it, an invalid input
//! becoming a message by its form field ([`form_field`]); internal
//! failures are logged with context on the server and reach the client only
//! as a generic message.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::fault::{Fault, Input};

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
    /// A sensitive action, and the session has not confirmed the password or
    /// a second factor recently (sudo mode): the page asks, then sends the
    /// same request again.
    #[error("{0}")]
    SudoRequired(String),
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
            AppError::SudoRequired(_) => 403,
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
        Fault::internal(context, err).into()
    }

    /// Maps a database error: pool exhaustion or an unreachable server is
    /// 503 (the app recovers when the database does), everything else 500.
    pub fn db(context: &str, err: sqlx::Error) -> Self {
        Fault::db(context, err).into()
    }
}

/// A domain fault as a server function answers it: an invalid or throttled
/// input becomes a message by the form field that holds it.
impl From<Fault> for AppError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Invalid { input, message } => AppError::Field {
                field: form_field(input).to_string(),
                message,
            },
            Fault::Throttled {
                input,
                message,
                retry_after,
            } => AppError::TooManyRequests {
                field: form_field(input).to_string(),
                message,
                retry_after,
            },
            Fault::Unauthenticated(m) => AppError::Unauthorized(m),
            Fault::Forbidden(m) => AppError::Forbidden(m),
            Fault::NotFound(m) => AppError::NotFound(m),
            Fault::Conflict(m) => AppError::Conflict(m),
            Fault::Unavailable => AppError::Unavailable,
            Fault::Internal => AppError::Internal,
        }
    }
}

/// The name the dashboard's forms (and the REST API's bodies and queries)
/// give the value a rule was about.
pub fn form_field(input: Input) -> &'static str {
    match input {
        Input::Email => "email",
        Input::Password => "password",
        Input::PasswordConfirmation => "confirm",
        Input::CurrentPassword => "current_password",
        Input::NewPassword => "new_password",
        Input::Role => "role",
        Input::SetupCode => "setup_code",
        Input::Code => "code",
        Input::PasskeyName => "passkey_name",
        Input::SudoProof => "sudo_proof",
        Input::TokenName | Input::ProjectName => "name",
        Input::TokenDescription | Input::ProjectDescription | Input::TaskDescription => {
            "description"
        }
        Input::Scopes => "scopes",
        Input::Expiry => "expiry",
        Input::ExpiryDate => "custom_date",
        Input::RotationGrace => "grace",
        Input::AllowedIps => "allowed_ips",
        Input::TokenProjects => "projects",
        Input::Search => "search",
        Input::TokenStatus | Input::TaskStatus => "status",
        Input::DefaultExpiry => "default_expiry",
        Input::MaxLifetime => "max_lifetime",
        Input::MaxActiveTokens => "max_active_tokens",
        Input::RevokeFamilyOnReuse => "revoke_family_on_reuse",
        Input::RevokeUnusedAfter => "revoke_unused_after",
        Input::TaskTokenMax => "task_token_max",
        Input::UsageLimit => "usage_limit",
        Input::ProjectSettings => "settings",
        Input::Project => "project_id",
        Input::TaskTitle => "title",
        Input::TaskResult => "result",
        Input::WorkLogMessage => "message",
        Input::WorkLogMinutes => "minutes",
        Input::AuditAction => "action",
        Input::AuditToken => "token",
        Input::From => "from",
        Input::To => "to",
        Input::Cursor => "cursor",
        Input::NotificationChoice => "choice",
        Input::WebhookUrl => "url",
        Input::WebhookEvents => "events",
        Input::WebhookDescription => "webhook_description",
        Input::WebhookBatch => "batch_size",
        Input::FederationName => "rule_name",
        Input::FederationIssuer => "issuer",
        Input::FederationConditions => "conditions",
        Input::FederationLifetime => "lifetime",
    }
}
