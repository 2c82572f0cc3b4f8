//! The credentials inventory (administrators): every account's API keys and
//! OAuth grants in one list, with filters and a search by prefix or by the
//! whole token, so an admin who finds `preq_AbC123...` in a log knows whose
//! it is; and an admin's revocation of any of them, recorded in the owner's
//! audit trail and the admin's. The `/admin/credentials` page and the
//! `preqstation tokens` command both call these functions.

use serde::{Deserialize, Serialize};

use super::TokenStatus;
use crate::types::Timestamp;

/// Rows the inventory shows at most (narrow it with a filter or a search).
pub const MAX_ROWS: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    ApiKey,
    OauthGrant,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::OauthGrant => "oauth_grant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api_key" => Some(CredentialKind::ApiKey),
            "oauth_grant" => Some(CredentialKind::OauthGrant),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "API key",
            CredentialKind::OauthGrant => "Connected app",
        }
    }
}

/// One credential, as the inventory lists it. Never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub kind: CredentialKind,
    pub id: String,
    pub account_id: String,
    pub owner: String,
    /// The key's name, or the app's (client's) name.
    pub name: String,
    /// The key's prefix, or the grant's newest access token's.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// IPs it was used from.
    pub ips: i64,
    /// API keys: the networks it may be used from (empty: any).
    pub allowed_ips: Vec<String>,
    pub status: TokenStatus,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    pub revoked_reason: Option<String>,
}

/// The inventory's filters (GitLab's credentials inventory asks the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    Expiring7,
    Expiring30,
    NeverUsed,
    Unused90,
    NoExpiry,
    NoAllowlist,
}

impl Filter {
    pub const ALL: [Filter; 6] = [
        Filter::Expiring7,
        Filter::Expiring30,
        Filter::NeverUsed,
        Filter::Unused90,
        Filter::NoExpiry,
        Filter::NoAllowlist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Expiring7 => "expiring_7",
            Filter::Expiring30 => "expiring_30",
            Filter::NeverUsed => "never_used",
            Filter::Unused90 => "unused_90",
            Filter::NoExpiry => "no_expiry",
            Filter::NoAllowlist => "no_allowlist",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Filter::Expiring7 => "Expiring in 7 days",
            Filter::Expiring30 => "Expiring in 30 days",
            Filter::NeverUsed => "Never used",
            Filter::Unused90 => "Unused for 90 days",
            Filter::NoExpiry => "No expiry",
            Filter::NoAllowlist => "No IP allowlist",
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub filter: Option<Filter>,
    /// A prefix (any leading part of a token) or a whole token.
    pub search: Option<String>,
    /// One account's credentials, by email.
    pub account: Option<String>,
    pub status: Option<TokenStatus>,
}

#[cfg(feature = "ssr")]
mod server;
#[cfg(feature = "ssr")]
pub use server::*;
