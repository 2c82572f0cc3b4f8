//! Session queries: create at sign-in, authenticate each request with sliding
//! renewal and an absolute limit, list and revoke. Every query that touches a
//! session of a signed-in account filters on that account's id.

use super::SessionSecret;
use crate::{
    config::Config,
    db::Db,
    types::{AccountId, CurrentUser, Role, SessionPublicId, Timestamp},
};

/// Renew `last_seen_at` (and the cookie) at most this often, so a busy page
/// does not write on every request.
pub const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Idle and absolute limits, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub max_age_secs: i64,
    pub absolute_secs: i64,
}

impl From<&Config> for SessionPolicy {
    fn from(c: &Config) -> Self {
        Self {
            max_age_secs: c.session_max_age_secs,
            absolute_secs: c.session_absolute_secs,
        }
    }
}

/// A valid session of an enabled account, attached to the request.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// SHA-256 of the secret: the row key. Safe to log; not a credential.
    pub id_hash: String,
    pub public_id: SessionPublicId,
    pub user: CurrentUser,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub absolute_expires_at: Timestamp,
    /// When this session last confirmed the password or a second factor
    /// (sign-in counts): sensitive actions need it within the sudo window.
    pub sudo_at: Option<Timestamp>,
    /// The administrators require a second factor and this account has none:
    /// every page but enrolment sends it there.
    pub must_enrol: bool,
}

impl AuthSession {
    /// Whether the session confirmed the password or a second factor within
    /// the last `window_secs` (sudo mode).
    pub fn in_sudo(&self, now: Timestamp, window_secs: i64) -> bool {
        self.sudo_at
            .is_some_and(|at| at <= now && now < at.plus_secs(window_secs))
    }

    /// Seconds the cookie should live from `now`: the idle timeout, but never
    /// past the absolute limit.
    pub fn cookie_max_age(&self, now: Timestamp, policy: SessionPolicy) -> i64 {
        let remaining = (self.absolute_expires_at.millis() - now.millis()) / 1000;
        policy.max_age_secs.min(remaining).max(0)
    }
}

/// Creates a session for `account` and returns its secret (for the cookie).
pub async fn create<'c, E>(
    db: E,
    user: &CurrentUser,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: Timestamp,
    policy: SessionPolicy,
) -> Result<(SessionSecret, AuthSession), CreateError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let secret = SessionSecret::generate().map_err(|e| CreateError::Random(e.to_string()))?;
    let session = AuthSession {
        id_hash: secret.id_hash(),
        public_id: SessionPublicId::new(),
        user: user.clone(),
        created_at: now,
        last_seen_at: now,
        absolute_expires_at: now.plus_secs(policy.absolute_secs),
        // Signing in is a confirmation: the first minutes are in sudo mode.
        sudo_at: Some(now),
        // The middleware reads it with the next request.
        must_enrol: false,
    };
    sqlx::query(
        "INSERT INTO sessions (id_hash, public_id, account_id, created_at, last_seen_at, \
         absolute_expires_at, ip, user_agent, sudo_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $4)",
    )
    .bind(&session.id_hash)
    .bind(session.public_id.to_string())
    .bind(user.id.to_string())
    .bind(now.millis())
    .bind(session.absolute_expires_at.millis())
    .bind(ip.map(|s| truncate(s, 64)))
    .bind(user_agent.map(|s| truncate(s, 512)))
    .execute(db)
    .await?;
    Ok((secret, session))
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the OS random number generator failed: {0}")]
    Random(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A session with its account, as [`authenticate`] reads it.
#[derive(sqlx::FromRow)]
struct AuthRow {
    public_id: String,
    created_at: i64,
    last_seen_at: i64,
    absolute_expires_at: i64,
    revoked_at: Option<i64>,
    sudo_at: Option<i64>,
    account_id: String,
    email: String,
    role: String,
    disabled_at: Option<i64>,
    two_factor_at: Option<i64>,
    require_two_factor: i64,
}

/// Looks up the session a verified cookie names. `None` when it does not
/// exist, was revoked, is idle past Max-Age, is past its absolute lifetime,
/// or its account is disabled. The `bool` is true when `last_seen_at` was
/// renewed now (so the cookie should be re-sent).
pub async fn authenticate(
    db: &Db,
    secret: &SessionSecret,
    now: Timestamp,
    policy: SessionPolicy,
) -> Result<Option<(AuthSession, bool)>, sqlx::Error> {
    let id_hash = secret.id_hash();
    let row: Option<AuthRow> = sqlx::query_as(
        "SELECT s.public_id, s.created_at, s.last_seen_at, s.absolute_expires_at, s.revoked_at, \
                s.sudo_at, a.id AS account_id, a.email, a.role, a.disabled_at, a.two_factor_at, \
                p.require_two_factor \
         FROM sessions s JOIN accounts a ON a.id = s.account_id \
              CROSS JOIN security_policy p \
         WHERE s.id_hash = $1 AND p.id = 1",
    )
    .bind(&id_hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };

    let last_seen = Timestamp(row.last_seen_at);
    let absolute = Timestamp(row.absolute_expires_at);
    if row.revoked_at.is_some()
        || row.disabled_at.is_some()
        || now >= last_seen.plus_secs(policy.max_age_secs)
        || now >= absolute
    {
        return Ok(None);
    }
    let (Some(public_id), Some(account_id), Some(role)) = (
        SessionPublicId::parse(&row.public_id),
        AccountId::parse(&row.account_id),
        Role::parse(&row.role),
    ) else {
        return Err(sqlx::Error::Decode("malformed session row".into()));
    };

    let mut session = AuthSession {
        id_hash,
        public_id,
        user: CurrentUser {
            id: account_id,
            email: row.email,
            role,
        },
        created_at: Timestamp(row.created_at),
        last_seen_at: last_seen,
        absolute_expires_at: absolute,
        sudo_at: row.sudo_at.map(Timestamp),
        must_enrol: row.require_two_factor != 0 && row.two_factor_at.is_none(),
    };

    let mut renewed = false;
    if now.millis() - last_seen.millis() >= TOUCH_INTERVAL_MS {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL",
        )
        .bind(now.millis())
        .bind(&session.id_hash)
        .execute(db)
        .await?;
        session.last_seen_at = now;
        renewed = true;
    }
    Ok(Some((session, renewed)))
}

/// How a session is named: by its row key (the cookie's hash) or by the
/// public id the Sessions page shows.
pub enum SessionKey<'a> {
    Hash(&'a str),
    Public(SessionPublicId),
}

/// Ends one session of `account`. Idempotent: true when it was live.
pub async fn revoke<'c, E>(
    db: E,
    account: AccountId,
    key: SessionKey<'_>,
    now: Timestamp,
) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let (column, value) = match key {
        SessionKey::Hash(hash) => ("id_hash", hash.to_string()),
        SessionKey::Public(id) => ("public_id", id.to_string()),
    };
    let done = sqlx::query(&format!(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE {column} = $2 AND account_id = $3 AND revoked_at IS NULL"
    ))
    .bind(now.millis())
    .bind(value)
    .bind(account.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of `account` except `keep` (by row key). Returns how many.
pub async fn revoke_all_except<'c, E>(
    db: E,
    account: AccountId,
    keep: Option<&str>,
    now: Timestamp,
) -> Result<u64, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE account_id = $2 AND revoked_at IS NULL AND id_hash <> $3",
    )
    .bind(now.millis())
    .bind(account.to_string())
    .bind(keep.unwrap_or(""))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A session as the Sessions page lists it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub public_id: SessionPublicId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub is_current: bool,
}

/// A session as [`list_active`] reads it.
#[derive(sqlx::FromRow)]
struct ListedRow {
    id_hash: String,
    public_id: String,
    created_at: i64,
    last_seen_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// The account's sessions that are still valid at `now`, newest first.
pub async fn list_active(
    db: &Db,
    account: AccountId,
    current_id_hash: &str,
    now: Timestamp,
    policy: SessionPolicy,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let idle_cutoff = now.millis() - policy.max_age_secs.saturating_mul(1000);
    let rows: Vec<ListedRow> = sqlx::query_as(
        "SELECT id_hash, public_id, created_at, last_seen_at, ip, user_agent FROM sessions \
         WHERE account_id = $1 AND revoked_at IS NULL AND last_seen_at > $2 \
               AND absolute_expires_at > $3 \
         ORDER BY last_seen_at DESC",
    )
    .bind(account.to_string())
    .bind(idle_cutoff)
    .bind(now.millis())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(SessionRow {
                public_id: SessionPublicId::parse(&row.public_id)
                    .ok_or_else(|| sqlx::Error::Decode("bad session id".into()))?,
                created_at: Timestamp(row.created_at),
                last_seen_at: Timestamp(row.last_seen_at),
                ip: row.ip,
                user_agent: row.user_agent,
                is_current: row.id_hash == current_id_hash,
            })
        })
        .collect()
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Marks the session `id_hash` of `account` as confirmed now (sudo mode).
pub async fn mark_sudo(
    db: &Db,
    account: AccountId,
    id_hash: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET sudo_at = $1 WHERE id_hash = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now.millis())
    .bind(id_hash)
    .bind(account.to_string())
    .execute(db)
    .await?;
    Ok(())
}
