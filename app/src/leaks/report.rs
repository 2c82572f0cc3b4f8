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
    bearer,
    config::Config,
    db::Db,
    fault::Fault,
    keys::Keyring,
    notifications::{outbox::Notice, NoticeKind},
    oauth::{grants, refresh},
    request::RequestMeta,
    tokens::{
        service::{self, Identified, Revocation, TokenLookups},
        task::{self, manage},
    },
    types::Timestamp,
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

pub const TRUE_POSITIVE: &str = "true_positive";
pub const FALSE_POSITIVE: &str = "false_positive";

/// Parses a report body: a JSON array of at most [`MAX_REPORTS`] tokens,
/// each at most [`MAX_TOKEN`] bytes.
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

/// What a working token belongs to, and so what revoking it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ApiKey,
    /// An OAuth access or refresh token: its grant.
    Grant,
    TaskToken,
    /// A CI token (federation).
    CiToken,
}

/// The working credential `token` names, found and judged by the function
/// that authenticates its kind (nothing recorded as a use): an API key, an
/// OAuth access or refresh token (its grant), or a task token. `None` for
/// anything else, including a fragment or a prefix of a token.
async fn find(
    db: &Db,
    lookups: &TokenLookups,
    config: &Config,
    token: &str,
    now: Timestamp,
) -> Result<Option<(Kind, Identified)>, sqlx::Error> {
    let token = token.trim();
    // Not a bearer credential, so not one of `bearer::Kind`'s.
    if token.starts_with(&grants::refresh_prefix(config)) {
        let found = refresh::identify(db, config, token, now).await?;
        return Ok(found.map(|f| (Kind::Grant, f)));
    }
    let found = match bearer::Kind::of(config, token) {
        bearer::Kind::OAuthAccess => grants::identify(db, config, token, now)
            .await?
            .map(|f| (Kind::Grant, f)),
        bearer::Kind::TaskToken => task::authenticate::identify(db, config, token, now)
            .await?
            .map(|f| (Kind::TaskToken, f)),
        bearer::Kind::CiToken => crate::federation::authenticate::identify(db, config, token, now)
            .await?
            .map(|f| (Kind::CiToken, f)),
        bearer::Kind::ApiKey => service::identify(lookups, config, token, now)
            .await?
            .map(|f| (Kind::ApiKey, f)),
    };
    Ok(found)
}

/// Revokes the credential `f` and what hangs from it: an API key's working
/// rotation family (one transaction, serialised with the owner's other
/// family changes), and the task tokens made from any of them or from a
/// grant. Returns how many credentials ended; 0 when `f` itself had ended
/// in the meantime (another report, its owner), and then nothing is done.
async fn revoke(
    db: &Db,
    keys: &Keyring,
    kind: Kind,
    f: &Identified,
    base: &NewEvent,
    now: Timestamp,
) -> Result<u64, Fault> {
    let fault = |e| Fault::db("leak report", e);
    let children = |subject: &str| {
        let subject = subject.to_string();
        async move {
            manage::revoke(
                db,
                keys,
                f.owner,
                manage::Which::AllOf(&subject),
                REASON,
                base,
                now,
            )
            .await
        }
    };
    match kind {
        Kind::CiToken => crate::federation::rules::revoke_token(db, f.owner, &f.id, REASON, now)
            .await
            .map_err(fault),
        Kind::TaskToken => {
            let one = manage::Which::One(&f.id);
            manage::revoke(db, keys, f.owner, one, REASON, base, now).await
        }
        Kind::Grant => {
            let revoked =
                crate::oauth::revocation::revoke(db, keys, f.owner, &f.id, REASON, base, now)
                    .await
                    .map_err(fault)?;
            if !revoked {
                return Ok(0);
            }
            Ok(1 + children(&f.id).await?)
        }
        Kind::ApiKey => {
            let why = Revocation {
                by: None,
                reason: REASON,
                base,
            };
            let mut tx = db.begin().await.map_err(fault)?;
            crate::accounts::lock_row(&mut tx, f.owner)
                .await
                .map_err(fault)?;
            let relatives = service::working_relatives(&mut tx, f.owner, &f.id)
                .await
                .map_err(fault)?;
            let own = std::slice::from_ref(&f.id);
            let mut n = service::revoke_members(&mut tx, keys, f.owner, own, why, now)
                .await
                .map_err(fault)?;
            if n == 0 {
                return Ok(0);
            }
            n += service::revoke_members(&mut tx, keys, f.owner, &relatives, why, now)
                .await
                .map_err(fault)?;
            tx.commit().await.map_err(fault)?;
            for member in own.iter().chain(&relatives) {
                n += children(member).await?;
            }
            Ok(n)
        }
    }
}

/// Handles a verified report signed by the key `key_id`: revokes each
/// reported token that works, with one `token_leaked` entry (and the
/// owner's notice) each, records the report (`leak_report_received`), and
/// answers the feedback, one entry per reported token, in order.
pub async fn process(
    db: &Db,
    lookups: &TokenLookups,
    config: &Config,
    key_id: &str,
    reports: &[Reported],
    meta: &RequestMeta,
    now: Timestamp,
) -> Result<Vec<Feedback>, Fault> {
    let base = NewEvent::new(
        AuditAction::TokenRevoked,
        ActorKind::System,
        Outcome::Success,
    )
    .actor(key_id.to_string())
    .from_request(meta);
    let mut out = Vec::with_capacity(reports.len());
    let mut positives = 0;
    for r in reports {
        let found = find(db, lookups, config, &r.token, now)
            .await
            .map_err(|e| Fault::db("leak report", e))?;
        let revoked = match &found {
            Some((kind, f)) => revoke(db, &config.keys, *kind, f, &base, now).await?,
            None => 0,
        };
        let label = match found {
            Some((_, f)) if revoked > 0 => {
                let url = crate::audit::cut(&r.url);
                let event = base
                    .with_action(AuditAction::TokenLeaked)
                    .account(f.owner)
                    .target(f.prefix.clone())
                    .token(f.prefix.clone())
                    .detail("url", &url)
                    .detail("source", &r.source)
                    .detail("type", &r.token_type)
                    .detail("revoked", revoked)
                    .security(true)
                    .notify(
                        Notice::new(NoticeKind::TokenLeaked, f.owner)
                            .token(&f.id, &f.name, &f.prefix)
                            .reason(url)
                            .count(i64::try_from(revoked).unwrap_or(i64::MAX)),
                    );
                chain::append_now(db, &config.keys, &[event], now)
                    .await
                    .map_err(|e| Fault::db("leak report", e))?;
                tracing::warn!(account = %f.owner, token = %f.prefix, revoked, key = key_id, "token reported leaked: revoked");
                positives += 1;
                TRUE_POSITIVE
            }
            _ => FALSE_POSITIVE,
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
