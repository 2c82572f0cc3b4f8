//! What went wrong in a rule, in the domain's words. Services return a
//! [`Fault`]; each door maps it to its own form: server functions to a
//! message by a form field (`error::AppError`), the REST API and MCP tools to
//! the JSON envelope (`api::ApiError`), the OAuth endpoints to RFC 6749
//! errors. The domain never names a form field: an [`Input`] says which value
//! broke the rule, and the door knows what its form or body calls it.

/// A rule the caller broke, or a failure underneath it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// A value broke a rule; `input` says which one.
    #[error("{message}")]
    Invalid { input: Input, message: String },
    /// Too many attempts at `input`; the next one counts after `retry_after`
    /// seconds.
    #[error("{message}")]
    Throttled {
        input: Input,
        message: String,
        retry_after: u64,
    },
    /// No one is signed in, or the session ended.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The database is unreachable or its pool exhausted; it recovers.
    #[error("The service is temporarily unavailable. Try again in a moment.")]
    Unavailable,
    /// Anything else (the details are in the server's log).
    #[error("Something went wrong on our side. Try again.")]
    Internal,
}

/// The value a rule was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    // Accounts and sign-in.
    Email,
    Password,
    PasswordConfirmation,
    CurrentPassword,
    NewPassword,
    Role,
    SetupCode,
    // The second factor and sudo mode.
    /// An authenticator or recovery code.
    Code,
    PasskeyName,
    /// The password or code that confirms a sensitive action (sudo mode).
    SudoProof,
    // Tokens.
    TokenName,
    TokenDescription,
    Scopes,
    Expiry,
    ExpiryDate,
    RotationGrace,
    TokenStatus,
    AllowedIps,
    TokenProjects,
    /// The credentials inventory's search (a prefix or a whole token).
    Search,
    // The deployment's token policy.
    DefaultExpiry,
    MaxLifetime,
    MaxActiveTokens,
    RevokeFamilyOnReuse,
    RevokeUnusedAfter,
    TaskTokenMax,
    UsageLimit,
    // Projects, tasks and work logs.
    ProjectName,
    ProjectDescription,
    ProjectSettings,
    Project,
    TaskTitle,
    TaskDescription,
    TaskStatus,
    TaskResult,
    WorkLogMessage,
    WorkLogMinutes,
    // Audit log filters.
    AuditAction,
    AuditToken,
    From,
    To,
    Cursor,
    // Notification preferences.
    NotificationChoice,
    // Webhook endpoints.
    WebhookUrl,
    WebhookEvents,
    WebhookDescription,
    WebhookBatch,
    // CI federation's trust rules.
    FederationName,
    FederationIssuer,
    FederationConditions,
    FederationLifetime,
}

impl Fault {
    /// `input` broke a rule, as `message` says.
    pub fn invalid(input: Input, message: impl Into<String>) -> Self {
        Fault::Invalid {
            input,
            message: message.into(),
        }
    }

    /// Throttled for `retry_after` seconds (at least one).
    pub fn throttled(input: Input, message: impl Into<String>, retry_after: i64) -> Self {
        Fault::Throttled {
            input,
            message: message.into(),
            retry_after: retry_after.max(1) as u64,
        }
    }

    /// The input this fault is about, if any.
    pub fn input(&self) -> Option<Input> {
        match self {
            Fault::Invalid { input, .. } | Fault::Throttled { input, .. } => Some(*input),
            _ => None,
        }
    }
}

#[cfg(feature = "ssr")]
impl Fault {
    /// Logs `err` with `context` and returns the generic fault the caller sees.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        Fault::Internal
    }

    /// Maps a database error: pool exhaustion or an unreachable server is
    /// [`Fault::Unavailable`] (the app recovers when the database does),
    /// everything else [`Fault::Internal`]. Both are logged with `context`.
    pub fn db(context: &str, err: sqlx::Error) -> Self {
        if crate::db::is_transient(&err) {
            tracing::error!(context, error = %err, "database unavailable");
            return Fault::Unavailable;
        }
        Self::internal(context, err)
    }
}
