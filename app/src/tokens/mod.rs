//! API tokens: the format, the owner's token list, creation under the
//! deployment's policy, revocation, and bearer authentication.
//!
//! Shared (browser and server): the types the API Keys page and a token's
//! page show (`usage`: calls per day, last calls, IPs; `inventory`: every
//! account's credentials for admins). Behind `ssr`: the format (`format`),
//! the queries (`service`) and the policy (`policy`). The page's server
//! functions and the REST API call the same service functions.

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

#[cfg(feature = "ssr")]
pub mod allowlist;
#[cfg(feature = "ssr")]
pub mod format;
pub mod inventory;
#[cfg(feature = "ssr")]
pub mod last_use;
pub mod limit;
pub mod operation;
#[cfg(feature = "ssr")]
pub mod policy;
#[cfg(feature = "ssr")]
pub mod service;
pub mod snippets;
pub mod task;
pub mod usage;

/// A token of the same rotation family, linked from the token's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    pub id: String,
    pub prefix: String,
}

/// Everything a token's page (`/settings/api-keys/{id}`) shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDetail {
    pub view: TokenView,
    /// The token this one was rotated from.
    pub predecessor: Option<TokenRef>,
    /// The token this one was rotated into.
    pub successor: Option<TokenRef>,
    /// Who created it and from where, as the audit log recorded it (`None`
    /// once that entry is past retention).
    pub created_by: Option<String>,
    pub activity: usage::Activity,
    /// Its usage limit and the calls left (`None`: unlimited).
    #[serde(default)]
    pub usage: Option<limit::UsageState>,
    /// Its live task-scoped tokens (from token exchange), newest first.
    #[serde(default)]
    pub task_tokens: Vec<task::TaskTokenView>,
}

/// A project a restricted token reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenProject {
    pub id: String,
    pub name: String,
}

/// What a token may do on the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "projects:read")]
    ProjectsRead,
    #[serde(rename = "tasks:read")]
    TasksRead,
    #[serde(rename = "tasks:write")]
    TasksWrite,
    #[serde(rename = "worklogs:write")]
    WorklogsWrite,
    #[serde(rename = "tokens:rotate-self")]
    TokensRotateSelf,
    /// Exchange this token for task-scoped tokens (RFC 8693): opt-in.
    #[serde(rename = "tokens:delegate")]
    TokensDelegate,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::ProjectsRead,
        Scope::TasksRead,
        Scope::TasksWrite,
        Scope::WorklogsWrite,
        Scope::TokensRotateSelf,
        Scope::TokensDelegate,
    ];

    /// What a task-scoped token may hold (and gets when the exchange names
    /// no scope, as far as its subject holds them).
    pub const TASK: [Scope; 4] = Scope::DEFAULT;

    /// The seeds' agent rights: read and create tasks, update their status and
    /// results, list projects and their settings, create work logs.
    pub const DEFAULT: [Scope; 4] = [
        Scope::ProjectsRead,
        Scope::TasksRead,
        Scope::TasksWrite,
        Scope::WorklogsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ProjectsRead => "projects:read",
            Scope::TasksRead => "tasks:read",
            Scope::TasksWrite => "tasks:write",
            Scope::WorklogsWrite => "worklogs:write",
            Scope::TokensRotateSelf => "tokens:rotate-self",
            Scope::TokensDelegate => "tokens:delegate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::ProjectsRead => "List projects and read their settings",
            Scope::TasksRead => "List and read tasks",
            Scope::TasksWrite => "Create tasks and update their status and result",
            Scope::WorklogsWrite => "Add work logs to tasks",
            Scope::TokensRotateSelf => "Rotate this token (issue its own successor)",
            Scope::TokensDelegate => {
                "Hand sub-agents task-scoped tokens (token exchange): one task, minutes, no more than this token"
            }
        }
    }

    /// Space-separated, as stored.
    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn split(stored: &str) -> Vec<Scope> {
        let mut v: Vec<Scope> = stored.split_whitespace().filter_map(Scope::parse).collect();
        v.sort();
        v.dedup();
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn label(self) -> &'static str {
        match self {
            TokenStatus::Active => "Active",
            TokenStatus::Expired => "Expired",
            TokenStatus::Revoked => "Revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(TokenStatus::Active),
            "expired" => Some(TokenStatus::Expired),
            "revoked" => Some(TokenStatus::Revoked),
            _ => None,
        }
    }
}

/// A token as the list shows it. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub last_used_client: Option<String>,
    pub status: TokenStatus,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    /// `revoked`, `rotated`, `rotation_grace_ended`, `password_changed`, ...
    pub revoked_reason: Option<String>,
    /// The successor's prefix, once this token was rotated.
    pub rotated_to: Option<String>,
    /// Until when a rotated token still works (unless its successor is used first).
    pub grace_until: Option<Timestamp>,
    /// The networks the token may be used from (CIDRs); empty: any IP.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// The projects the token is limited to; `None`: every project.
    #[serde(default)]
    pub projects: Option<Vec<TokenProject>>,
    /// Milliseconds of the server's clock when this was read, for "in 3 days".
    pub now: Timestamp,
}

impl TokenView {
    /// Active and expiring within 7 days.
    pub fn expires_soon(&self) -> bool {
        matches!((self.status, self.expires_at), (TokenStatus::Active, Some(e)) if e.millis() - self.now.millis() <= 7 * 86_400_000)
    }
}

/// How many of an account's tokens are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub active: i64,
    pub expired: i64,
    pub revoked: i64,
}

/// One page of the list, and the counts the status filter shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPage {
    pub tokens: Vec<TokenView>,
    pub counts: StatusCounts,
    /// 1-based; `pages` is at least 1.
    pub page: u32,
    pub pages: u32,
}

/// The answer to a successful create: the token, shown exactly once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub view: TokenView,
    /// `PREQSTATION_API_URL` for the ready-to-paste snippet.
    pub api_url: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &"<redacted>")
            .field("view", &self.view)
            .finish()
    }
}

/// The deployment's token policy, set by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPolicy {
    /// Pre-selected expiry in the form, days; `None` = no expiration.
    pub default_expiry_days: Option<i64>,
    /// Longest lifetime allowed, days; `None` = no limit (and "No expiration" allowed).
    pub max_lifetime_days: Option<i64>,
    /// Active tokens an account may hold.
    pub max_active_tokens: i64,
    /// Revoke a rotation family whenever a retired member is presented,
    /// not only when it tries to rotate (off by default: a lagging agent
    /// that still holds its predecessor would otherwise lose its family).
    #[serde(default)]
    pub revoke_family_on_reuse: bool,
    /// Revoke API keys unused for this many days (never used: since
    /// creation), by the periodic sweep; `None` = off.
    #[serde(default)]
    pub revoke_unused_after_days: Option<i64>,
    /// The longest a task-scoped token may live, minutes.
    #[serde(default = "policy_limits::task_token_default")]
    pub task_token_max_minutes: i64,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            default_expiry_days: Some(90),
            max_lifetime_days: None,
            max_active_tokens: 5,
            revoke_family_on_reuse: false,
            revoke_unused_after_days: None,
            task_token_max_minutes: policy_limits::TASK_TOKEN_DEFAULT_MAX_MINUTES,
        }
    }
}

impl TokenPolicy {
    pub fn allows_never(&self) -> bool {
        self.max_lifetime_days.is_none()
    }

    pub fn allows_days(&self, days: i64) -> bool {
        self.max_lifetime_days.is_none_or(|max| days <= max)
    }
}

/// Limits shared by the policy form and the server.
pub mod policy_limits {
    /// Most active tokens an admin may allow per account.
    pub const MAX_ACTIVE_TOKENS_LIMIT: i64 = 100;
    /// The choices of "Revoke tokens unused for", days.
    pub const DORMANT_PRESETS: [i64; 5] = [30, 60, 90, 180, 365];
    /// The choices of "Task tokens live at most", minutes.
    pub const TASK_TOKEN_MAX_PRESETS: [i64; 5] = [15, 60, 240, 480, 1440];
    pub const TASK_TOKEN_DEFAULT_MAX_MINUTES: i64 = 1440;

    pub fn task_token_default() -> i64 {
        TASK_TOKEN_DEFAULT_MAX_MINUTES
    }
}

/// The expiry presets of the create form (seed 004).
pub const EXPIRY_PRESETS: [i64; 5] = [7, 30, 90, 180, 365];
