//! Authenticating a presented API key (the hot path of every API and MCP
//! call): its shape and checksum, one batched lookup, the rules on its row
//! (revoked, expired, rotated), and its last use. `crate::bearer` is the
//! one entry point: it tells an API key from an OAuth access token and
//! handles what a refusal sets off.

use super::{lookup::TokenRow, *};
use crate::notifications::{outbox::Notice, NoticeKind};
use crate::tokens::{
    allowlist::IpAllowlist,
    format::{self, FormatError},
    last_use,
    operation::{Denied, Operation},
    Scope,
};
use crate::{
    config::Config,
    db::Db,
    projects::Reach,
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
    /// The networks the token may be used from (empty: any).
    pub allowed_ips: IpAllowlist,
    /// The projects the token reaches: every project of its owner, or
    /// (restricted) the ones it lists. Pass this, not `account_id`, to the
    /// project and task services.
    pub reach: Reach,
    /// A task-scoped token: its task and the subject it acts for.
    pub task: Option<crate::tokens::task::authenticate::TaskBinding>,
    /// The token holds a usage limit: its calls are counted.
    pub limited: bool,
    /// Calls left after this request, when limited (`bearer::check` sets it).
    pub usage_remaining: Option<i64>,
    /// A CI token (federation): the run its rule trusted.
    pub ci: Option<crate::federation::authenticate::CiIdentity>,
}

impl Authenticated {
    /// Whether this token may take `op`: its scopes, and a task token's
    /// confinement ([`Operation::permits`]).
    pub fn allow(&self, op: Operation) -> Result<(), Denied> {
        op.permits(&self.scopes, self.task.is_some())
    }
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
        /// The API key's id, or the OAuth grant's (the calls rollup's key).
        credential: String,
        at: Timestamp,
    },
    Revoked {
        prefix: String,
        account: String,
        /// The API key's id, or the OAuth grant's.
        credential: String,
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
    /// A short-lived credential's refusal once it no longer works: revoked
    /// (or ended with what it hangs from) when `ended`, else expired at
    /// `at`. `(prefix, account, credential)` name it.
    pub fn ended_or_expired(
        ended: bool,
        (prefix, account, credential): (&str, &str, &str),
        at: Timestamp,
    ) -> Self {
        let (prefix, account, credential) = (
            prefix.to_string(),
            account.to_string(),
            credential.to_string(),
        );
        if ended {
            AuthFailure::Revoked {
                prefix,
                account,
                credential,
                retired: None,
            }
        } else {
            AuthFailure::Expired {
                prefix,
                account,
                credential,
                at,
            }
        }
    }

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

/// Checks a presented API key: shape and checksum offline, then one indexed
/// lookup by hash. Revocation is read from the database on every request,
/// so it takes effect at once on every instance: there is no cache of
/// lookups. Records last use (coalesced, see [`crate::tokens::last_use`]).
///
/// The lookup shares its statement with the lookups that arrive at the
/// same time (see [`TokenLookups`]); the rare writes (last use, a new IP,
/// a successor's first use) go through the pool.
pub async fn authenticate(
    db: &Db,
    lookups: &TokenLookups,
    config: &Config,
    presented: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    let secret = match format::parse(&config.token_prefix, presented) {
        Ok(s) => s,
        Err(FormatError::Malformed) => return Ok(Err(AuthFailure::Malformed)),
        Err(FormatError::BadChecksum) => return Ok(Err(AuthFailure::BadChecksum)),
    };
    let Some(row) = lookups.find(secret.hash()).await? else {
        return Ok(Err(AuthFailure::Unknown));
    };
    check(db, lookups, row, ip, user_agent, now).await
}

/// The rules on a token's row, and its last-use bookkeeping.
async fn check(
    db: &Db,
    lookups: &TokenLookups,
    row: TokenRow,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    if let Some(failure) = refusal(&row, now) {
        return Ok(Err(failure));
    }
    let TokenRow {
        token_hash: _,
        id: token_id,
        account_id: account,
        name,
        prefix,
        scopes,
        created_at,
        expires_at,
        revoked_at: _,
        last_used_at,
        last_used_ip: last_ip,
        rotated_to: _,
        rotated_from,
        grace_until: _,
        first_used_at,
        successor_used_at: _,
        email,
        disabled_at: _,
        allowed_ips,
        projects_restricted,
        usage_limited,
    } = row;
    // The successor's first use ends the predecessor's grace on every
    // instance at once, so it is written immediately, not coalesced.
    if rotated_from.is_some() && first_used_at.is_none() {
        sqlx::query(
            "UPDATE api_tokens SET first_used_at = $1 WHERE id = $2 AND first_used_at IS NULL",
        )
        .bind(now.millis())
        .bind(&token_id)
        .execute(db)
        .await?;
    }
    let ip_changed = ip.is_some() && last_ip.as_deref() != ip;
    let due = last_use::due(last_used_at, last_ip.as_deref(), ip, now.millis());
    // Only one request per (token, IP) and interval writes, on this
    // instance (see `RecentWrites`); a failed write is released for the next.
    let mut new_ip = false;
    if due && lookups.recent.claim(&token_id, ip, now.millis()) {
        let used = Use {
            token: (&token_id, &account, &name, &prefix),
            ip,
            ip_changed,
            used_before: last_ip.is_some(),
            user_agent,
        };
        match record_use(db, used, now).await {
            Ok(first_from_ip) => new_ip = first_from_ip,
            Err(e) => {
                lookups.recent.release(&token_id, ip);
                return Err(e);
            }
        }
    }
    let account_id =
        AccountId::parse(&account).ok_or_else(|| sqlx::Error::Decode("bad account id".into()))?;
    let reach = match projects_restricted {
        0 => Reach::all(account_id),
        _ => Reach::token(account_id, &token_id),
    };
    Ok(Ok(Authenticated {
        token_id,
        account_id,
        reach,
        account_email: email,
        name,
        prefix,
        scopes: Scope::split(&scopes),
        created_at: Timestamp(created_at),
        expires_at: expires_at.map(Timestamp),
        new_ip,
        oauth: false,
        allowed_ips: IpAllowlist::from_stored(allowed_ips.as_deref()),
        task: None,
        ci: None,
        limited: usage_limited != 0,
        usage_remaining: None,
    }))
}

/// The rules on a token's row: why it does not work at `now`, or `None`
/// when it does.
fn refusal(row: &TokenRow, now: Timestamp) -> Option<AuthFailure> {
    // A rotated predecessor works until its grace ends or the successor is
    // first used, whichever comes first.
    let grace_over = row.rotated_to.is_some()
        && (row.grace_until.is_none_or(|g| g <= now.millis()) || row.successor_used_at.is_some());
    if row.revoked_at.is_some() || row.disabled_at.is_some() || grace_over {
        let retired = match (&row.rotated_to, row.disabled_at) {
            (Some(_), None) => Some(row.id.clone()),
            _ => None,
        };
        return Some(AuthFailure::Revoked {
            prefix: row.prefix.clone(),
            account: row.account_id.clone(),
            credential: row.id.clone(),
            retired,
        });
    }
    let at = row.expires_at.filter(|at| *at <= now.millis())?;
    Some(AuthFailure::Expired {
        prefix: row.prefix.clone(),
        account: row.account_id.clone(),
        credential: row.id.clone(),
        at: Timestamp(at),
    })
}

/// A credential a presented token names, that works: found and judged as
/// its authentication finds and judges it, but with no use recorded. What
/// a report about the token (a leak) acts on, for each kind of token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The API key's id, the task token's, or the OAuth grant's.
    pub id: String,
    pub owner: AccountId,
    /// The API key's name, the OAuth client's, or the task token's label.
    pub name: String,
    /// The presented token's display prefix.
    pub prefix: String,
}

/// The API key `presented` names when it works at `now` (the lookup and
/// rules of [`authenticate`], recording no use); `None` for anything else.
pub async fn identify(
    lookups: &TokenLookups,
    config: &Config,
    presented: &str,
    now: Timestamp,
) -> Result<Option<Identified>, sqlx::Error> {
    let Ok(secret) = format::parse(&config.token_prefix, presented) else {
        return Ok(None);
    };
    let Some(row) = lookups.find(secret.hash()).await? else {
        return Ok(None);
    };
    if refusal(&row, now).is_some() {
        return Ok(None);
    }
    Ok(AccountId::parse(&row.account_id).map(|owner| Identified {
        id: row.id,
        owner,
        name: row.name,
        prefix: row.prefix,
    }))
}

/// One use to record.
struct Use<'a> {
    /// The token's id, account, name and prefix.
    token: (&'a str, &'a str, &'a str, &'a str),
    ip: Option<&'a str>,
    /// The IP differs from the last use's.
    ip_changed: bool,
    used_before: bool,
    user_agent: Option<&'a str>,
}

/// Records a use: the IP among the token's IPs when it changed (true when
/// never seen before and not the token's first, and then its owner is
/// notified in the same transaction), and the last use.
async fn record_use(db: &Db, used: Use<'_>, now: Timestamp) -> Result<bool, sqlx::Error> {
    let (token_id, account, name, prefix) = used.token;
    let last_use = sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1, last_used_ip = $2, last_used_ua = $3 WHERE id = $4",
    )
    .bind(now.millis())
    .bind(used.ip)
    .bind(used.user_agent.map(|ua| ua.chars().take(256).collect::<String>()))
    .bind(token_id);
    let (true, Some(ip)) = (used.ip_changed, used.ip) else {
        // The common case: one statement, no transaction.
        last_use.execute(db).await?;
        return Ok(false);
    };
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO token_ips (token_id, ip, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(token_id)
    .bind(ip)
    .bind(now.millis())
    .execute(&mut *tx)
    .await?;
    // The very first IP is not news; a later, never-seen one is.
    let new_ip = inserted.rows_affected() > 0 && used.used_before;
    if let (true, Some(owner)) = (new_ip, AccountId::parse(account)) {
        let notice = Notice::new(NoticeKind::TokenNewIp, owner)
            .token(token_id, name, prefix)
            .ip(Some(ip));
        let key = format!("token_new_ip:{token_id}:{ip}");
        crate::notifications::outbox::enqueue(&mut tx, &notice, &key, now).await?;
    }
    last_use.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(new_ip)
}
