//! CI federation: a pipeline (GitHub Actions, GitLab CI, any OIDC issuer)
//! trades its platform's signed ID token for a short-lived token of its own
//! prefix (`preq_ci_`), under an owner's trust rule: which issuer, which
//! claims (immutable ids pinned for the shared public issuers), and what
//! the token may do. No secret is stored in the pipeline.
//!
//! Shared with the browser: the rule's form and views. Behind `ssr`:
//! - `conditions`: checking a rule's claim conditions, and matching them;
//! - `jwks`: the issuers' discovery documents and keys, fetched through the
//!   SSRF guard and cached per `Cache-Control`;
//! - `verify`: an ID token's signature (RS256, ES256) and time claims;
//! - `exchange`: the exchange rule every grant calls (RFC 8693, RFC 7523);
//! - `authenticate`: a presented CI token, read with its rule on every
//!   request (a disabled rule ends its tokens at once);
//! - `rules`: what the Settings page calls, with the owner filter.

#[cfg(feature = "ssr")]
pub mod authenticate;
#[cfg(feature = "ssr")]
pub mod conditions;
#[cfg(feature = "ssr")]
pub mod exchange;
#[cfg(feature = "ssr")]
pub mod jwks;
#[cfg(feature = "ssr")]
pub mod rules;
#[cfg(feature = "ssr")]
pub mod verify;

use serde::{Deserialize, Serialize};

use crate::{tokens::Scope, types::Timestamp};

/// GitHub Actions' issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// GitLab.com's issuer.
pub const GITLAB_ISSUER: &str = "https://gitlab.com";
/// RFC 8693's token types an ID token may be presented as.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// RFC 7523's grant.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A token's lifetime when the rule says nothing: 15 minutes.
pub const DEFAULT_TTL_SECS: i64 = 900;
/// The longest lifetime a rule may give: an hour.
pub const MAX_TTL_SECS: i64 = 3600;
/// Rules per account.
pub const MAX_RULES: i64 = 25;
/// Live tokens one rule may have issued at once.
pub const MAX_LIVE_PER_RULE: i64 = 100;
/// Exchanges a rule's page lists.
pub const RECENT_EXCHANGES: i64 = 50;
/// Longest rule name, in characters.
pub const MAX_NAME: usize = 100;
/// What a token from a rule may hold: the agent scopes (never one that
/// makes or rotates tokens).
pub const SCOPES: [Scope; 4] = Scope::DEFAULT;

/// The path under the public URL that names a rule in an audience.
pub const AUDIENCE_PATH: &str = "/federation/";

/// The audience a rule's ID tokens must carry.
pub fn audience(public_url: &str, rule_id: &str) -> String {
    format!(
        "{}{AUDIENCE_PATH}{rule_id}",
        public_url.trim_end_matches('/')
    )
}

/// The prefix of CI tokens under the deployment prefix `base`.
pub fn prefix(base: &str) -> String {
    format!("{base}ci_")
}

/// Which platform an issuer is, by its URL: the two shared public issuers
/// have presets (and must pin immutable ids); any other is `Custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    GithubActions,
    Gitlab,
    Custom,
}

impl Provider {
    pub fn of(issuer: &str) -> Provider {
        match issuer.trim_end_matches('/') {
            GITHUB_ISSUER => Provider::GithubActions,
            GITLAB_ISSUER => Provider::Gitlab,
            _ => Provider::Custom,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Provider::GithubActions => "GitHub Actions",
            Provider::Gitlab => "GitLab.com",
            Provider::Custom => "OIDC issuer",
        }
    }

    /// The claims a rule must pin to exact values (immutable ids).
    pub fn pinned(self) -> &'static [&'static str] {
        match self {
            Provider::GithubActions => &["repository_owner_id", "repository_id"],
            Provider::Gitlab => &["namespace_id", "project_id"],
            Provider::Custom => &[],
        }
    }
}

/// One claim condition: the claim must equal `pattern`, or match it when
/// it holds a glob (`*` within a path segment, `**` across, `?`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub claim: String,
    pub pattern: String,
}

/// A rule as the form sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    pub name: String,
    pub issuer: String,
    pub conditions: Vec<Condition>,
    /// Accept `pull_request_target` and `workflow_run` events.
    pub allow_fork_events: bool,
    pub scopes: Vec<Scope>,
    /// `None`: every project of the owner.
    pub projects: Option<Vec<String>>,
    /// One CIDR or address per line (empty: any).
    pub allowed_ips: String,
    /// Minutes, 1 to 60 (`None`: 15).
    pub lifetime_minutes: Option<i64>,
    /// Calls each issued token may make (empty: no limit).
    pub usage_limit: String,
}

/// A rule as its owner (or an administrator) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: String,
    /// The owner's email (an administrator sees every account's rules).
    pub owner_email: String,
    /// The viewer owns it (may change and delete it).
    pub owned: bool,
    pub name: String,
    pub provider: Provider,
    pub issuer: String,
    pub audience: String,
    pub conditions: Vec<Condition>,
    pub allow_fork_events: bool,
    pub scopes: Vec<Scope>,
    pub projects: Option<Vec<String>>,
    pub allowed_ips: Vec<String>,
    pub ttl_secs: i64,
    pub usage_limit: Option<i64>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    pub last_exchange_at: Option<Timestamp>,
    pub live_tokens: i64,
}

/// One exchange a rule allowed: the token it issued and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeView {
    pub prefix: String,
    /// The CI identity in one line (repository, ref, run).
    pub actor: String,
    /// The identity's claims, as (claim, value) pairs.
    pub identity: Vec<(String, String)>,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// Why it no longer works, if it was ended early.
    pub revoked_reason: Option<String>,
}

/// A rule and its recent exchanges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDetail {
    pub rule: RuleView,
    pub exchanges: Vec<ExchangeView>,
}
