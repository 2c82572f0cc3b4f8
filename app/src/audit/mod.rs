//! The audit log: who did what, when, from where, with what outcome, for
//! every sign-in, token and account event (docs/security.md lists them).
//! Entries form a keyed hash chain (`chain`) whose head and retention
//! anchor are MACed too (`head`); the vocabulary is typed (`action`); owner
//! actions are appended in the same transaction as their change, API
//! hot-path events go through a batched queue (`queue`). No API route
//! reads it: tokens never can.

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

#[cfg(feature = "ssr")]
pub mod chain;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod head;
#[cfg(feature = "ssr")]
pub mod noise;
#[cfg(feature = "ssr")]
pub mod query;
#[cfg(feature = "ssr")]
pub mod queue;
#[cfg(feature = "ssr")]
pub mod verify;

pub mod action;
pub mod calls;
pub use action::{ActorKind, AuditAction, Outcome};

/// An event to append. Built on the server only; never holds a secret (a
/// session is named by a hash prefix, a token by its 12-character prefix).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub at: Option<Timestamp>,
    /// The account the event belongs to (members see their own).
    pub account_id: Option<String>,
    pub actor_kind: ActorKind,
    pub actor: Option<String>,
    pub action: AuditAction,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub token_prefix: Option<String>,
    pub details: serde_json::Value,
    /// Marked on the audit page: failed logins, use of revoked or expired
    /// tokens, a token from a new IP, rate limiting.
    pub security: bool,
    /// The credential's call this entry records, for the calls rollup
    /// (`calls`); not part of the hashed entry.
    pub call: Option<calls::Call>,
    /// The notification this entry sets off, written by the chain in the
    /// same transaction (keyed by the entry's id); not part of the hashed
    /// entry.
    pub notice: Option<Box<crate::notifications::outbox::Notice>>,
}

/// Longest text stored from a request (paths, user agents), in characters.
pub const MAX_TEXT: usize = 256;

/// `s` cut to [`MAX_TEXT`] characters, with `…[cut]` marking the cut.
pub fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…[cut]", &s[..at]),
    }
}

#[cfg(feature = "ssr")]
impl NewEvent {
    pub fn new(action: AuditAction, actor_kind: ActorKind, outcome: Outcome) -> Self {
        Self {
            at: None,
            account_id: None,
            actor_kind,
            actor: None,
            action,
            target: None,
            outcome,
            ip: None,
            user_agent: None,
            request_id: None,
            token_prefix: None,
            details: serde_json::json!({}),
            security: false,
            call: None,
            notice: None,
        }
    }

    /// The same event with another action: one request's context (who,
    /// from where) shared by the entries it writes.
    /// (A notice belongs to one entry: the copy has none.)
    pub fn with_action(&self, action: AuditAction) -> Self {
        Self {
            action,
            notice: None,
            ..self.clone()
        }
    }

    /// Sets off `notice` when this entry is written; its time and IP are
    /// the entry's unless it has its own.
    pub fn notify(mut self, mut notice: crate::notifications::outbox::Notice) -> Self {
        if notice.details.ip.is_none() {
            notice.details.ip = self.ip.clone();
        }
        if notice.details.at == 0 {
            notice.details.at = self.at.map(|t| t.millis()).unwrap_or_default();
        }
        self.notice = Some(Box::new(notice));
        self
    }

    pub fn account(mut self, id: impl ToString) -> Self {
        self.account_id = Some(id.to_string());
        self
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn token(mut self, prefix: impl Into<String>) -> Self {
        self.token_prefix = Some(prefix.into());
        self
    }

    /// Adds a detail; a string longer than [`MAX_TEXT`] characters (a path
    /// or header an anonymous client chose) is stored cut, and marked.
    pub fn detail(mut self, key: &str, value: impl Serialize) -> Self {
        if let Some(map) = self.details.as_object_mut() {
            let value = match serde_json::to_value(value).unwrap_or_default() {
                serde_json::Value::String(s) => serde_json::Value::String(cut(&s)),
                other => other,
            };
            map.insert(key.into(), value);
        }
        self
    }

    /// Marks the entry as one call by the credential `credential` (an API
    /// key's or an OAuth grant's id) that ended with HTTP `status`.
    pub fn call(mut self, credential: impl Into<String>, status: u16) -> Self {
        self.call = Some(calls::Call {
            credential: credential.into(),
            outcome: calls::CallOutcome::of_status(status),
        });
        self
    }

    pub fn security(mut self, flag: bool) -> Self {
        self.security = flag;
        self
    }

    /// Client IP, User-Agent and request id of the request that caused it.
    pub fn from_request(mut self, meta: &crate::request::RequestMeta) -> Self {
        self.ip = meta.ip.clone();
        self.user_agent = meta.user_agent.as_deref().map(cut);
        self.request_id = meta.request_id.clone();
        self
    }
}

/// An entry as the Audit Logs page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub account_email: Option<String>,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub token_prefix: Option<String>,
    pub details: String,
    pub security: bool,
}

impl AuditEntry {
    /// The details as labelled values for people (`Method: GET`, `Status:
    /// 401`, `Scopes: tasks:read, tasks:write`): the request's own first
    /// (method, path, status, reason), the rest by name. A details string
    /// that is not a JSON object is shown as one value.
    pub fn detail_fields(&self) -> Vec<(String, String)> {
        const FIRST: [&str; 6] = ["method", "path", "status", "reason", "tool", "mcp_method"];
        let parsed =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&self.details);
        match parsed {
            Ok(map) => {
                let mut fields: Vec<_> = map.into_iter().collect();
                fields.sort_by_key(|(k, _)| {
                    (
                        FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()),
                        k.clone(),
                    )
                });
                fields
                    .into_iter()
                    .map(|(k, v)| (detail_label(&k), detail_value(&v)))
                    .collect()
            }
            Err(_) if self.details.trim().is_empty() => Vec::new(),
            Err(_) => vec![("Details".into(), self.details.clone())],
        }
    }
}

/// `new_ip` -> `New IP`, `mcp_method` -> `MCP method`.
fn detail_label(key: &str) -> String {
    let words: Vec<String> = key
        .split('_')
        .enumerate()
        .map(|(i, w)| match w {
            "ip" => "IP".to_string(),
            "mcp" => "MCP".to_string(),
            "id" => "ID".to_string(),
            "ua" => "user agent".to_string(),
            _ if i == 0 => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            }
            _ => w.to_string(),
        })
        .collect();
    words.join(" ")
}

fn detail_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        serde_json::Value::Null => "none".to_string(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(detail_value)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Filters of the page and the exports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub token: Option<String>,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Admins only: every account's events.
    pub all_accounts: Option<String>,
    /// Only security events (failed logins, misused tokens, new IPs, rate limiting).
    pub security_only: Option<String>,
}

impl AuditFilter {
    /// The query string for the export links (empty fields left out).
    pub fn query_string(&self) -> String {
        let keep = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let trimmed = AuditFilter {
            action: keep(&self.action),
            token: keep(&self.token),
            from: keep(&self.from),
            to: keep(&self.to),
            all_accounts: keep(&self.all_accounts),
            security_only: keep(&self.security_only),
        };
        serde_urlencoded::to_string(&trimmed).unwrap_or_default()
    }
}

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
    pub is_admin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_labelled_values() {
        let entry = AuditEntry {
            seq: 1,
            at: Timestamp(0),
            account_email: None,
            actor_kind: "token".into(),
            actor: None,
            action: "token_used".into(),
            target: None,
            outcome: "success".into(),
            ip: None,
            user_agent: None,
            request_id: None,
            token_prefix: None,
            details: r#"{"method":"GET","status":401,"new_ip":true,"mcp_method":"tools/call","scopes":["tasks:read","tasks:write"]}"#.into(),
            security: false,
        };
        assert_eq!(
            entry.detail_fields(),
            [
                ("Method", "GET"),
                ("Status", "401"),
                ("MCP method", "tools/call"),
                ("New IP", "yes"),
                ("Scopes", "tasks:read, tasks:write"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let odd = AuditEntry {
            details: "not json".into(),
            ..entry
        };
        assert_eq!(
            odd.detail_fields(),
            [("Details".to_string(), "not json".to_string())]
        );
    }
}
