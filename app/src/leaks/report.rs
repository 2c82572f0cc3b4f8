//! A leaked-token report: for each token in it that still works, revoke it
//! at once (an API key with its rotation family and the task-scoped tokens
//! made from it; an OAuth token with its grant and the grant's task
//! tokens; a task-scoped token itself), audit `token_leaked` and tell the
//! owner on every channel they have on. The answer is the partner program's
//! feedback: per token its SHA-256 (`token_hash`, never the token), its
//! reported `token_type`, and `true_positive` only for a token that worked
//! when reported. Unknown, expired and revoked tokens are `false_positive`,
//! and nothing more is said about them.
//!
//! A token is recognised only whole (its format and checksum, then its
//! hash): a prefix or a fragment matches nothing.

use serde::{Deserialize, Serialize};

use super::{MAX_REPORTS, MAX_TOKEN};
use crate::{
    audit::{chain, ActorKind, AuditAction, NewEvent, Outcome},
    config::Config,
    db::Db,
    fault::Fault,
    notifications::{outbox::Notice, NoticeKind},
    request::RequestMeta,
    tokens::{
        format,
        service::{self, Revocation},
        task::{self, manage},
    },
    types::{AccountId, Timestamp},
};

/// The reason revocations by a report carry.
pub const REASON: &str = "leaked";

/// One reported token, as GitHub's partner program sends it.
#[derive(Clone, Deserialize)]
pub struct Reported {
    pub token: String,
    #[serde(default, rename = "type")]
    pub token_type: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub source: String,
}

impl std::fmt::Debug for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reported")
            .field("token", &"<redacted>")
            .field("type", &self.token_type)
            .field("url", &self.url)
            .field("source", &self.source)
            .finish()
    }
}

/// The answer for one reported token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub token_hash: String,
    pub token_type: String,
    pub label: String,
}

/// Parses a report body: a JSON array of at most [`MAX_REPORTS`] tokens.
pub fn parse(body: &[u8]) -> Result<Vec<Reported>, String> {
    let reports: Vec<Reported> = serde_json::from_slice(body).map_err(|_| {
        "The body must be a JSON array of {\"token\", \"type\", \"url\", \"source\"} objects."
            .to_string()
    })?;
    if reports.len() > MAX_REPORTS {
        return Err(format!("At most {MAX_REPORTS} tokens per report."));
    }
    if reports.iter().any(|r| r.token.len() > MAX_TOKEN) {
        return Err(format!("A reported token is at most {MAX_TOKEN} bytes."));
    }
    Ok(reports)
}

/// A working credential a token names.
struct Found {
    owner: AccountId,
    /// The API key's, grant's or task token's id.
    id: String,
    name: String,
    prefix: String,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    ApiKey,
    Grant,
    TaskToken,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::ApiKey => "api_key",
            Kind::Grant => "oauth_token",
            Kind::TaskToken => "task_token",
        }
    }
}

async fn find(
    db: &Db,
    config: &Config,
    token: &str,
    now: Timestamp,
) -> Result<Option<Found>, sqlx::Error> {
    let token = token.trim();
    let found = |r: Option<(String, String, String, String)>, kind| {
        r.and_then(|(id, owner, name, prefix)| {
            Some(Found {
                owner: AccountId::parse(&owner)?,
                id,
                name,
                prefix,
                kind,
            })
        })
    };
    if let Ok(secret) = format::parse(&task::prefix(&config.token_prefix), token) {
        let row = sqlx::query_as(
            "SELECT id, account_id, 'task token' AS name, prefix FROM task_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(secret.hash())
        .bind(now.millis())
        .fetch_optional(db)
        .await?;
        return Ok(found(row, Kind::TaskToken));
    }
    for prefix in [
        crate::oauth::grants::access_prefix(config),
        crate::oauth::grants::refresh_prefix(config),
    ] {
        if let Ok(secret) = format::parse(&prefix, token) {
            let row = sqlx::query_as(
                "SELECT g.id, g.account_id, g.client_name, o.prefix FROM oauth_tokens o \
                 JOIN oauth_grants g ON g.id = o.grant_id WHERE o.token_hash = $1 AND g.revoked_at IS NULL",
            )
            .bind(secret.hash())
            .fetch_optional(db)
            .await?;
            return Ok(found(row, Kind::Grant));
        }
    }
    if let Ok(secret) = format::parse(&config.token_prefix, token) {
        let row = sqlx::query_as(
            "SELECT id, account_id, name, prefix FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND NOT (rotated_to IS NOT NULL AND grace_until <= $2) AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(secret.hash())
        .bind(now.millis())
        .fetch_optional(db)
        .await?;
        return Ok(found(row, Kind::ApiKey));
    }
    Ok(None)
}

/// Revokes what `f` names and what hangs from it; returns how many
/// credentials ended.
async fn revoke(
    db: &Db,
    config: &Config,
    f: &Found,
    base: &NewEvent,
    now: Timestamp,
) -> Result<u64, Fault> {
    let keys = &config.keys;
    let mut n = match f.kind {
        Kind::TaskToken => {
            return manage::revoke(
                db,
                keys,
                f.owner,
                manage::Which::One(&f.id),
                REASON,
                base,
                now,
            )
            .await;
        }
        Kind::ApiKey => {
            let family = {
                let mut conn = db
                    .acquire()
                    .await
                    .map_err(|e| Fault::db("leak report", e))?;
                service::working_relatives(&mut conn, f.owner, &f.id)
                    .await
                    .map_err(|e| Fault::db("leak report", e))?
            };
            let why = Revocation {
                by: None,
                reason: REASON,
                base,
            };
            service::revoke(db, keys, f.owner, &f.id, why, now).await?;
            let mut n = 1 + family.len() as u64;
            for member in &family {
                n += manage::revoke(
                    db,
                    keys,
                    f.owner,
                    manage::Which::AllOf(member),
                    REASON,
                    base,
                    now,
                )
                .await?;
            }
            n
        }
        Kind::Grant => {
            crate::oauth::revocation::revoke(db, keys, f.owner, &f.id, REASON, base, now)
                .await
                .map_err(|e| Fault::db("leak report", e))?;
            1
        }
    };
    n += manage::revoke(
        db,
        keys,
        f.owner,
        manage::Which::AllOf(&f.id),
        REASON,
        base,
        now,
    )
    .await?;
    Ok(n)
}

/// Handles a verified report from the key `key_id`: revokes what works,
/// and answers the feedback, one entry per reported token, in order.
pub async fn process(
    db: &Db,
    config: &Config,
    key_id: &str,
    reports: &[Reported],
    meta: &RequestMeta,
    now: Timestamp,
) -> Result<Vec<Feedback>, Fault> {
    let actor = format!("leak report (key {key_id})");
    let base = NewEvent::new(
        AuditAction::TokenRevoked,
        ActorKind::System,
        Outcome::Success,
    )
    .actor(actor.clone())
    .from_request(meta);
    let mut out = Vec::with_capacity(reports.len());
    let mut positives = 0;
    for r in reports {
        let found = find(db, config, &r.token, now)
            .await
            .map_err(|e| Fault::db("leak report", e))?;
        let label = match found {
            None => "false_positive",
            Some(f) => {
                let revoked = revoke(db, config, &f, &base, now).await?;
                let url = crate::audit::cut(&r.url);
                let event = base
                    .with_action(AuditAction::TokenLeaked)
                    .account(f.owner)
                    .target(f.prefix.clone())
                    .token(f.prefix.clone())
                    .detail("url", &url)
                    .detail("source", &r.source)
                    .detail("type", f.kind.as_str())
                    .detail("revoked", revoked)
                    .security(true)
                    .notify(
                        Notice::new(NoticeKind::TokenLeaked, f.owner)
                            .token(&f.id, &f.name, &f.prefix)
                            .reason(url)
                            .count(revoked as i64),
                    );
                chain::append_now(db, &config.keys, &[event], now)
                    .await
                    .map_err(|e| Fault::db("leak report", e))?;
                tracing::warn!(account = %f.owner, token = %f.prefix, revoked, "token reported leaked: revoked");
                positives += 1;
                "true_positive"
            }
        };
        out.push(Feedback {
            token_hash: crate::crypto::sha256_hex(r.token.as_bytes()),
            token_type: r.token_type.clone(),
            label: label.into(),
        });
    }
    let received = base
        .with_action(AuditAction::LeakReportReceived)
        .target(key_id.to_string())
        .detail("reports", reports.len())
        .detail("true_positives", positives);
    chain::append_now(db, &config.keys, &[received], now)
        .await
        .map_err(|e| Fault::db("leak report", e))?;
    Ok(out)
}
