//! Authenticating a presented CI token: its shape and checksum, then one
//! statement that reads it with its account and its rule, so a disabled
//! rule, a disabled account or a revocation ends it on this very request,
//! on every instance. Its project restriction and IP allowlist are the
//! rule's as they are now; its scopes and lifetime were fixed at issue.

use crate::{
    config::Config,
    db::Db,
    projects::Reach,
    tokens::{
        allowlist::IpAllowlist,
        format::{self, FormatError},
        last_use::{self, RecentWrites},
        service::{AuthFailure, Authenticated, Identified},
        Scope,
    },
    types::{AccountId, Timestamp},
};

/// Who a CI token acts for: the run its rule trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiIdentity {
    pub rule_id: String,
    /// The identity in one line (`repo@ref run N (issuer host)`).
    pub actor: String,
    /// The identity's claims (issuer, subject, repository, ref, run, ...).
    pub claims: serde_json::Value,
}

impl CiIdentity {
    /// The `act` detail of a call by CI token `prefix` (RFC 8693 4.1's
    /// shape: the token, acting for the CI run).
    pub fn act(&self, prefix: &str) -> serde_json::Value {
        serde_json::json!({ "sub": prefix, "rule": self.rule_id, "ci": self.claims })
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    account_id: String,
    rule_id: String,
    prefix: String,
    scopes: String,
    identity: String,
    actor: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    usage_limited: i64,
    email: String,
    account_disabled_at: Option<i64>,
    rule_name: String,
    rule_disabled_at: Option<i64>,
    projects_restricted: i64,
    allowed_ips: Option<String>,
}

const SELECT: &str =
    "SELECT t.id, t.account_id, t.rule_id, t.prefix, t.scopes, t.identity, t.actor, \
        t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.last_used_ip, \
        CASE WHEN t.usage_remaining IS NULL THEN 0 ELSE 1 END AS usage_limited, \
        a.email, a.disabled_at AS account_disabled_at, r.name AS rule_name, \
        r.disabled_at AS rule_disabled_at, r.projects_restricted, r.allowed_ips \
     FROM federated_tokens t JOIN accounts a ON a.id = t.account_id \
     JOIN federation_rules r ON r.id = t.rule_id AND r.account_id = t.account_id \
     WHERE t.token_hash = $1";

async fn read(
    db: &Db,
    config: &Config,
    presented: &str,
) -> Result<Result<Row, AuthFailure>, sqlx::Error> {
    let secret = match format::parse(&super::prefix(&config.token_prefix), presented) {
        Ok(s) => s,
        Err(FormatError::Malformed) => return Ok(Err(AuthFailure::Malformed)),
        Err(FormatError::BadChecksum) => return Ok(Err(AuthFailure::BadChecksum)),
    };
    let row: Option<Row> = sqlx::query_as(SELECT)
        .bind(secret.hash())
        .fetch_optional(db)
        .await?;
    Ok(row.ok_or(AuthFailure::Unknown))
}

/// Why the token of `row` does not work at `now`, or `None` when it does.
fn refusal(row: &Row, now: Timestamp) -> Option<AuthFailure> {
    let ended = row.revoked_at.is_some()
        || row.account_disabled_at.is_some()
        || row.rule_disabled_at.is_some();
    if !ended && row.expires_at > now.millis() {
        return None;
    }
    Some(AuthFailure::ended_or_expired(
        ended,
        (&row.prefix, &row.account_id, &row.id),
        Timestamp(row.expires_at),
    ))
}

/// The CI token `presented` names when it works at `now` (recording no
/// use; the leaked-token reports' check); `None` for anything else.
pub async fn identify(
    db: &Db,
    config: &Config,
    presented: &str,
    now: Timestamp,
) -> Result<Option<Identified>, sqlx::Error> {
    let Ok(row) = read(db, config, presented).await? else {
        return Ok(None);
    };
    if refusal(&row, now).is_some() {
        return Ok(None);
    }
    Ok(AccountId::parse(&row.account_id).map(|owner| Identified {
        name: format!("CI token of rule {}", row.rule_name),
        id: row.id,
        owner,
        prefix: row.prefix,
    }))
}

/// Checks a presented CI token (see the module documentation) and keeps
/// its last use on the shared interval.
pub async fn authenticate(
    db: &Db,
    config: &Config,
    recent: &RecentWrites,
    presented: &str,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    let row = match read(db, config, presented).await? {
        Ok(row) => row,
        Err(failure) => return Ok(Err(failure)),
    };
    if let Some(failure) = refusal(&row, now) {
        return Ok(Err(failure));
    }
    let Some(account_id) = AccountId::parse(&row.account_id) else {
        return Ok(Err(AuthFailure::Unknown));
    };
    last_use::record(
        db,
        recent,
        (last_use::Table::FederatedTokens, &row.id),
        (row.last_used_at, row.last_used_ip.as_deref()),
        ip,
        now.millis(),
    )
    .await?;
    let reach = if row.projects_restricted != 0 {
        Reach::token(account_id, &row.rule_id)
    } else {
        Reach::all(account_id)
    };
    Ok(Ok(Authenticated {
        reach,
        token_id: row.id,
        account_id,
        account_email: row.email,
        name: format!("CI token of rule {}", row.rule_name),
        prefix: row.prefix,
        scopes: Scope::split(&row.scopes),
        created_at: Timestamp(row.created_at),
        expires_at: Some(Timestamp(row.expires_at)),
        new_ip: false,
        oauth: false,
        allowed_ips: IpAllowlist::from_stored(row.allowed_ips.as_deref()),
        limited: row.usage_limited != 0,
        usage_remaining: None,
        task: None,
        ci: Some(CiIdentity {
            rule_id: row.rule_id,
            actor: row.actor,
            claims: serde_json::from_str(&row.identity).unwrap_or_default(),
        }),
    }))
}
