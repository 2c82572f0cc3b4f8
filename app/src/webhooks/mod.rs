//! Signed webhooks: an account (or an administrator, for every account)
//! registers HTTPS endpoints and the event types to send them, every audit
//! action (`audit.<action>`) and every notification (`notification.<kind>`),
//! signed as the Standard Webhooks specification says.
//!
//! Nothing waits in memory: each endpoint has durable cursors over the
//! audit log and the notification feed, and what they pass becomes
//! delivery rows numbered in the endpoint's own order (the `sequence` every
//! delivery carries). Behind `ssr`:
//! - `secret`: `whsec_` secrets, sealed under the keyring, and signing;
//! - `service`: what the doors call (endpoints, the delivery log, resend,
//!   a test event), with the owner filter on every query;
//! - `feed`: turning what the cursors pass into deliveries;
//! - `deliver`: one attempt at an endpoint's next delivery (or batch), its
//!   retry schedule, `Retry-After`, `410 Gone`, three days of failure;
//! - `dispatch`: the loop that works every endpoint with something due, one
//!   task per endpoint and one instance per endpoint at a time (a lease).

#[cfg(feature = "ssr")]
pub mod deliver;
#[cfg(feature = "ssr")]
pub mod dispatch;
#[cfg(feature = "ssr")]
pub mod feed;
#[cfg(feature = "ssr")]
pub mod secret;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::{audit::AuditAction, notifications::NoticeKind, types::Timestamp};

/// The event type of the "send test event" button.
pub const TEST_EVENT: &str = "webhook.test";
/// Endpoints per account.
pub const MAX_ENDPOINTS: i64 = 10;
/// Events in one request of a batching endpoint.
pub const MAX_BATCH: i64 = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 200;
/// Longest URL, in bytes.
pub const MAX_URL: usize = 2048;
/// Patterns in one endpoint's list.
pub const MAX_PATTERNS: usize = 200;

/// Every event type an endpoint can ask for, grouped as the form shows
/// them: notifications first (what a person acts on), then audit actions.
pub fn event_types() -> Vec<String> {
    NoticeKind::ALL
        .iter()
        .map(|k| format!("notification.{}", k.as_str()))
        .chain(
            AuditAction::ALL
                .iter()
                .map(|a| format!("audit.{}", a.as_str())),
        )
        .collect()
}

/// True when `event_type` is one `patterns` asks for: the type itself,
/// `notification.*`, `audit.*` or `*`. The test event always is.
pub fn wanted(patterns: &[String], event_type: &str) -> bool {
    event_type == TEST_EVENT
        || patterns.iter().any(|p| {
            p == "*"
                || p == event_type
                || p.strip_suffix(".*")
                    .is_some_and(|group| event_type.split('.').next() == Some(group))
        })
}

/// Checks an endpoint's list of event types: each a known type or a group
/// wildcard, at least one, duplicates dropped.
pub fn check_patterns(patterns: &[String]) -> Result<Vec<String>, String> {
    let known = event_types();
    let mut out: Vec<String> = Vec::new();
    for p in patterns {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let ok = matches!(p, "*" | "audit.*" | "notification.*") || known.iter().any(|k| k == p);
        if !ok {
            return Err(format!(
                "“{}” is not an event type (notification.<type>, audit.<action>, notification.*, audit.* or *).",
                p.chars().take(80).collect::<String>()
            ));
        }
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    if out.is_empty() {
        return Err("Choose at least one event type.".into());
    }
    if out.len() > MAX_PATTERNS {
        return Err(format!("At most {MAX_PATTERNS} event types."));
    }
    Ok(out)
}

/// What the form sends to create or change an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointForm {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// Events per request: 1 sends each on its own (the Standard Webhooks
    /// body); more sends a JSON array of up to this many (for a SIEM).
    pub batch_size: i64,
    /// Every account's events (administrators only).
    pub all_accounts: bool,
}

/// An endpoint as Settings > Webhooks lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub batch_size: i64,
    pub all_accounts: bool,
    pub enabled: bool,
    /// Why it was disabled (its owner, `410 Gone`, three days of failure).
    pub disabled_reason: Option<String>,
    /// The account it belongs to, when an administrator sees another's.
    pub owner_email: Option<String>,
    pub created_at: Timestamp,
    /// While a rolled secret's predecessor still signs.
    pub old_secret_until: Option<Timestamp>,
    /// Failing since then, with no success after.
    pub failing_since: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    pub pending: i64,
    pub failed: i64,
}

/// A new endpoint (or a rolled secret) and its signing secret, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedEndpoint {
    pub endpoint: EndpointView,
    pub secret: String,
}

impl std::fmt::Debug for CreatedEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedEndpoint")
            .field("endpoint", &self.endpoint)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One row of an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The `webhook-id` every attempt carries.
    pub id: String,
    pub sequence: i64,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    pub next_attempt_at: Option<Timestamp>,
    pub last_status: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_types_groups_and_everything() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wanted(&p(&["audit.token_created"]), "audit.token_created"));
        assert!(!wanted(&p(&["audit.token_created"]), "audit.token_revoked"));
        assert!(wanted(&p(&["audit.*"]), "audit.token_revoked"));
        assert!(!wanted(&p(&["audit.*"]), "notification.token_leaked"));
        assert!(wanted(&p(&["*"]), "notification.token_leaked"));
        assert!(wanted(&p(&[]), TEST_EVENT));
        assert_eq!(
            check_patterns(&p(&["audit.*", "audit.*", " notification.token_leaked "])).unwrap(),
            p(&["audit.*", "notification.token_leaked"])
        );
        assert!(check_patterns(&p(&["audit.nope"])).is_err());
        assert!(check_patterns(&p(&["audit.token_*"])).is_err());
        assert!(check_patterns(&p(&[""])).is_err());
        assert!(event_types().contains(&"notification.webhook_disabled".to_string()));
    }
}
