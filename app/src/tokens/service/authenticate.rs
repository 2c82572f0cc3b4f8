//! Authenticating a presented bearer token (the hot path of every API and
//! MCP call).

use sqlx::{AnyConnection, Row};

use super::*;
use crate::tokens::{
    format::{self, FormatError},
    Scope,
};
use crate::{
    config::Config,
    db::{Db, HotConnections},
    types::{AccountId, Timestamp},
};

/// A token that passed authentication, and its owner.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub token_id: String,
    pub account_id: AccountId,
    pub account_email: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// First request from this IP (the token had been used from others).
    pub new_ip: bool,
    /// An OAuth access token: `token_id` is then its grant's id, `name` the
    /// client's name.
    pub oauth: bool,
}

/// Why a bearer credential was refused (the audit log's `auth_failed` reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    BadChecksum,
    Unknown,
    Expired {
        prefix: String,
        account: String,
        at: Timestamp,
    },
    Revoked {
        prefix: String,
        account: String,
        /// The token's id when it was retired by rotation (a successor
        /// exists): presenting it is a reuse, a security event.
        retired: Option<String>,
    },
    /// An OAuth access token issued for another audience (another public
    /// URL of this server, or another server).
    WrongAudience {
        prefix: String,
        account: String,
    },
}

impl AuthFailure {
    pub fn reason(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::BadChecksum => "bad_checksum",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Expired { .. } => "expired",
            AuthFailure::Revoked {
                retired: Some(_), ..
            } => "retired_by_rotation",
            AuthFailure::Revoked { .. } => "revoked",
            AuthFailure::WrongAudience { .. } => "wrong_audience",
        }
    }
}

/// Checks a presented token: shape and checksum offline, then one indexed
/// lookup by hash. Revocation is read from the database on every request,
/// so it takes effect at once on every instance: there is no cache of
/// lookups. Records last use (coalesced, see [`LAST_USED_INTERVAL_MS`]).
///
/// The lookup runs on one of the `hot` connections (one round trip, where a
/// pooled connection costs three: see [`crate::db::HotConnections`]).
pub async fn authenticate(
    db: &Db,
    hot: &HotConnections,
    config: &Config,
    presented: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    if crate::oauth::grants::is_access_token(config, presented) {
        return crate::oauth::grants::authenticate(db, config, presented, ip, now).await;
    }
    let secret = match format::parse(&config.token_prefix, presented) {
        Ok(s) => s,
        Err(FormatError::Malformed) => return Ok(Err(AuthFailure::Malformed)),
        Err(FormatError::BadChecksum) => return Ok(Err(AuthFailure::BadChecksum)),
    };
    let mut lookup = hot.get(db).await?;
    // An error drops the connection (closed, not reused).
    let outcome = check(lookup.conn(), &secret.hash(), ip, user_agent, now).await?;
    lookup.done();
    Ok(outcome)
}

/// The lookup and its last-use bookkeeping, on one connection.
async fn check(
    db: &mut AnyConnection,
    hash: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.id, t.account_id, t.name, t.prefix, t.scopes, t.created_at, t.expires_at, t.revoked_at, \
                t.last_used_at, t.last_used_ip, t.rotated_to, t.rotated_from, t.grace_until, t.first_used_at, \
                s.first_used_at AS successor_used_at, a.email, a.disabled_at \
         FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
         LEFT JOIN api_tokens s ON s.id = t.rotated_to WHERE t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *db)
    .await?;
    let Some(row) = row else {
        return Ok(Err(AuthFailure::Unknown));
    };
    let prefix: String = row.try_get("prefix")?;
    let account: String = row.try_get("account_id")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    // A rotated predecessor works until its grace ends or the successor is
    // first used, whichever comes first.
    let rotated_to: Option<String> = row.try_get("rotated_to")?;
    let grace_until: Option<i64> = row.try_get("grace_until")?;
    let successor_used: Option<i64> = row.try_get("successor_used_at")?;
    let grace_over = rotated_to.is_some()
        && (grace_until.is_none_or(|g| g <= now.millis()) || successor_used.is_some());
    if revoked_at.is_some() || disabled_at.is_some() || grace_over {
        let retired = match (&rotated_to, disabled_at) {
            (Some(_), None) => Some(row.try_get::<String, _>("id")?),
            _ => None,
        };
        return Ok(Err(AuthFailure::Revoked {
            prefix,
            account,
            retired,
        }));
    }
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    if let Some(at) = expires_at.filter(|at| *at <= now.millis()) {
        return Ok(Err(AuthFailure::Expired {
            prefix,
            account,
            at: Timestamp(at),
        }));
    }
    let token_id: String = row.try_get("id")?;
    let account_id = account;
    // The successor's first use ends the predecessor's grace on every
    // instance at once, so it is written immediately, not coalesced.
    let rotated_from: Option<String> = row.try_get("rotated_from")?;
    let first_used_at: Option<i64> = row.try_get("first_used_at")?;
    if rotated_from.is_some() && first_used_at.is_none() {
        sqlx::query(
            "UPDATE api_tokens SET first_used_at = $1 WHERE id = $2 AND first_used_at IS NULL",
        )
        .bind(now.millis())
        .bind(&token_id)
        .execute(&mut *db)
        .await?;
    }
    let last_used_at: Option<i64> = row.try_get("last_used_at")?;
    let last_ip: Option<String> = row.try_get("last_used_ip")?;
    let ip_changed = ip.is_some() && last_ip.as_deref() != ip;
    let mut new_ip = false;
    if let (true, Some(ip)) = (ip_changed, ip) {
        let inserted = sqlx::query(
            "INSERT INTO token_ips (token_id, ip, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&token_id)
        .bind(ip)
        .bind(now.millis())
        .execute(&mut *db)
        .await?;
        // The very first IP is not news; a later, never-seen one is.
        new_ip = inserted.rows_affected() > 0 && last_ip.is_some();
    }
    if ip_changed || last_used_at.is_none_or(|t| now.millis() - t >= LAST_USED_INTERVAL_MS) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1, last_used_ip = $2, last_used_ua = $3 WHERE id = $4")
            .bind(now.millis())
            .bind(ip)
            .bind(user_agent.map(|ua| ua.chars().take(256).collect::<String>()))
            .bind(&token_id)
            .execute(&mut *db)
            .await?;
    }
    let scopes: String = row.try_get("scopes")?;
    Ok(Ok(Authenticated {
        token_id,
        account_id: AccountId::parse(&account_id)
            .ok_or_else(|| sqlx::Error::Decode("bad account id".into()))?,
        account_email: row.try_get("email")?,
        name: row.try_get("name")?,
        prefix,
        scopes: Scope::split(&scopes),
        created_at: Timestamp(row.try_get("created_at")?),
        expires_at: expires_at.map(Timestamp),
        new_ip,
        oauth: false,
    }))
}
