//! Token queries. Every query that reads or changes a token filters on its
//! owner's account id; functions take the pool and an explicit `now`.

use sqlx::Row;

use super::{
    format::{self, FormatError, TokenSecret},
    policy, Scope, TokenStatus, TokenView, EXPIRY_PRESETS,
};
use crate::{
    audit::NewEvent,
    config::Config,
    db::Db,
    error::AppError,
    types::{AccountId, Timestamp},
};

pub const NAME_MAX_CHARS: usize = 64;
pub const DESCRIPTION_MAX_CHARS: usize = 500;
const DAY_MS: i64 = 86_400_000;
/// Custom dates further out than this are refused (10 years).
const CUSTOM_MAX_DAYS: i64 = 3_653;
/// `last_used_*` is written at most once a minute per token (and at once
/// when the IP changes), so authentication does not write on every request.
pub const LAST_USED_INTERVAL_MS: i64 = 60_000;

/// When a new token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// A preset lifetime from now.
    Days(i64),
    /// A custom date: the token expires at the end of that day, UTC.
    Until(Timestamp),
}

impl Expiry {
    pub fn expires_at(self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Expiry::Never => None,
            Expiry::Days(d) => Some(Timestamp(now.millis() + d * DAY_MS)),
            Expiry::Until(t) => Some(t),
        }
    }
}

/// A validated create request (before the policy check).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub description: Option<String>,
    pub expiry: Expiry,
    pub scopes: Vec<Scope>,
}

impl NewToken {
    /// Validates the create form. `expiry` is a preset (`7`..`365`), `never`
    /// or `custom` (then `custom_date` is `YYYY-MM-DD`).
    pub fn from_form(
        name: &str,
        description: Option<&str>,
        expiry: &str,
        custom_date: Option<&str>,
        mut scopes: Vec<Scope>,
        now: Timestamp,
    ) -> Result<Self, AppError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::field(
                "name",
                "Give the token a name, e.g. claude-code-prod.",
            ));
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(AppError::field(
                "name",
                format!("Use at most {NAME_MAX_CHARS} characters."),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::field(
                "name",
                "The name cannot contain control characters.",
            ));
        }
        let description = description.map(str::trim).filter(|d| !d.is_empty());
        if let Some(d) = description {
            if d.chars().count() > DESCRIPTION_MAX_CHARS {
                return Err(AppError::field(
                    "description",
                    format!("Use at most {DESCRIPTION_MAX_CHARS} characters."),
                ));
            }
        }
        let expiry = match expiry.trim() {
            "never" => Expiry::Never,
            "custom" => Expiry::Until(parse_custom_date(custom_date.unwrap_or_default(), now)?),
            other => match other.parse::<i64>() {
                Ok(d) if EXPIRY_PRESETS.contains(&d) => Expiry::Days(d),
                _ => return Err(AppError::field("expiry", "Choose an expiration.")),
            },
        };
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(AppError::field("scopes", "Choose at least one scope."));
        }
        Ok(Self {
            name: name.to_string(),
            description: description.map(str::to_string),
            expiry,
            scopes,
        })
    }
}

/// `YYYY-MM-DD` → the end of that day (UTC), which must be in the future.
fn parse_custom_date(raw: &str, now: Timestamp) -> Result<Timestamp, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw.trim(), &format)
        .map_err(|_| AppError::field("custom_date", "Pick a date (YYYY-MM-DD)."))?;
    let end_of_day = date
        .next_day()
        .map(|d| d.midnight().assume_utc())
        .ok_or_else(|| AppError::field("custom_date", "Pick an earlier date."))?;
    let millis = (end_of_day.unix_timestamp_nanos() / 1_000_000) as i64;
    if millis <= now.millis() + DAY_MS / 24 {
        return Err(AppError::field("custom_date", "Pick a date in the future."));
    }
    if millis > now.millis() + CUSTOM_MAX_DAYS * DAY_MS {
        return Err(AppError::field(
            "custom_date",
            "Pick a date within 10 years.",
        ));
    }
    Ok(Timestamp(millis))
}

/// Issues a token under the current policy. The owner's row is locked for
/// the transaction, so two concurrent creates cannot both take the last slot
/// or the same name.
pub async fn create(
    db: &Db,
    config: &Config,
    owner: AccountId,
    new: NewToken,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(TokenSecret, TokenView), AppError> {
    let policy = policy::load(db)
        .await
        .map_err(|e| AppError::db("load policy", e))?;
    let expires_at = new.expiry.expires_at(now);
    match (expires_at, policy.max_lifetime_days) {
        (None, Some(max)) => {
            return Err(AppError::field(
                "expiry",
                format!("Your administrator requires tokens to expire within {max} days."),
            ))
        }
        (Some(at), Some(max)) if at.millis() - now.millis() > max * DAY_MS => {
            return Err(AppError::field(
                "expiry",
                format!("Your administrator allows tokens to live at most {max} days."),
            ))
        }
        _ => {}
    }
    let secret = format::generate(&config.token_prefix)
        .map_err(|e| AppError::internal("token generation", e))?;

    let run = async {
        let mut tx = db.begin().await?;
        // Serialises token creation per owner.
        crate::accounts::lock_row(&mut tx, owner).await?;
        let active = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE account_id = $1 AND {ACTIVE}"
        ))
        .bind(owner.to_string())
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if active >= policy.max_active_tokens {
            return Ok(Err(AppError::Conflict(format!(
                "You already have {active} active tokens, the most allowed. Revoke a token you no longer \
                 use (or wait for one to expire) to free a slot."
            ))));
        }
        let taken = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE account_id = $1 AND {ACTIVE} AND name = $3"
        ))
        .bind(owner.to_string())
        .bind(now.millis())
        .bind(&new.name)
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if taken > 0 {
            return Ok(Err(AppError::field(
                "name",
                "You already have an active token with this name. Choose another name.",
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, description, prefix, token_hash, scopes, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(owner.to_string())
        .bind(&new.name)
        .bind(new.description.as_deref())
        .bind(secret.display_prefix())
        .bind(secret.hash())
        .bind(Scope::join(&new.scopes))
        .bind(now.millis())
        .bind(expires_at.map(Timestamp::millis))
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            action: "token_created".into(),
            ..base.clone()
        }
        .account(owner)
        .target(new.name.clone())
        .token(secret.display_prefix())
        .detail("scopes", Scope::join(&new.scopes))
        .detail("expires_at", expires_at.map(|e| e.rfc3339()));
        crate::audit::chain::append(&mut tx, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(id))
    };
    // `check_limit`'s Err(AppError) is a refusal, not a database failure.
    let id = run.await.map_err(|e| AppError::db("create token", e))??;
    let view = TokenView {
        id,
        name: new.name,
        description: new.description,
        prefix: secret.display_prefix(),
        scopes: new.scopes,
        created_at: now,
        expires_at,
        last_used_at: None,
        last_used_ip: None,
        last_used_client: None,
        status: TokenStatus::Active,
        revoked_at: None,
        revoked_by: None,
        revoked_reason: None,
        rotated_to: None,
        grace_until: None,
        now,
    };
    Ok((secret, view))
}

/// SQL for "active at $2": not revoked, not expired.
/// A predecessor in its rotation grace period is not counted: the pair
/// takes one slot and the successor may reuse the name.
const ACTIVE: &str =
    "revoked_at IS NULL AND rotated_to IS NULL AND (expires_at IS NULL OR expires_at > $2)";

const VIEW_COLUMNS: &str = "t.id, t.name, t.description, t.prefix, t.scopes, t.created_at, t.expires_at, \
     t.last_used_at, t.last_used_ip, t.last_used_ua, t.revoked_at, r.email AS revoked_by_email, t.revoked_reason, \
     t.grace_until, (SELECT s.prefix FROM api_tokens s WHERE s.id = t.rotated_to) AS successor_prefix, \
     (SELECT s.first_used_at FROM api_tokens s WHERE s.id = t.rotated_to) AS successor_used_at";

fn view_from_row(row: &sqlx::any::AnyRow, now: Timestamp) -> Result<TokenView, sqlx::Error> {
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    let successor_prefix: Option<String> = row.try_get("successor_prefix")?;
    let grace_until: Option<i64> = row.try_get("grace_until")?;
    let successor_used: Option<i64> = row.try_get("successor_used_at")?;
    let grace_over = successor_prefix.is_some()
        && (grace_until.is_none_or(|g| g <= now.millis()) || successor_used.is_some());
    let status = if revoked_at.is_some() || grace_over {
        TokenStatus::Revoked
    } else if expires_at.is_some_and(|e| e <= now.millis()) {
        TokenStatus::Expired
    } else {
        TokenStatus::Active
    };
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        prefix: row.try_get("prefix")?,
        scopes: Scope::split(&scopes),
        created_at: Timestamp(row.try_get("created_at")?),
        expires_at: expires_at.map(Timestamp),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp),
        last_used_ip: row.try_get("last_used_ip")?,
        last_used_client: row.try_get("last_used_ua")?,
        status,
        revoked_at: revoked_at.map(Timestamp),
        revoked_by: row.try_get("revoked_by_email")?,
        revoked_reason: row.try_get("revoked_reason")?,
        rotated_to: successor_prefix,
        grace_until: if grace_over {
            None
        } else {
            grace_until.map(Timestamp)
        },
        now,
    })
}

/// The owner's tokens, newest first.
pub async fn list(
    db: &Db,
    owner: AccountId,
    status: Option<TokenStatus>,
    hide_revoked: bool,
    now: Timestamp,
) -> Result<Vec<TokenView>, sqlx::Error> {
    let filter = match status {
        None if hide_revoked => "AND t.revoked_at IS NULL",
        None => "",
        Some(TokenStatus::Active) => {
            "AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
        }
        Some(TokenStatus::Expired) => "AND t.revoked_at IS NULL AND t.expires_at <= $2",
        Some(TokenStatus::Revoked) if hide_revoked => "AND 1 = 0",
        Some(TokenStatus::Revoked) => "AND t.revoked_at IS NOT NULL",
    };
    // $2 is bound in every variant so the placeholder count is fixed.
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND $2 = $2 {filter} ORDER BY t.created_at DESC, t.id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(owner.to_string())
        .bind(now.millis())
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| view_from_row(r, now)).collect()
}

/// One of the owner's tokens.
pub async fn get(
    db: &Db,
    owner: AccountId,
    id: &str,
    now: Timestamp,
) -> Result<Option<TokenView>, sqlx::Error> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND t.id = $2"
    );
    sqlx::query(&sql)
        .bind(owner.to_string())
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(|r| view_from_row(&r, now))
        .transpose()
}

/// Revokes one of `owner`'s tokens at once; revoking a revoked token is a
/// no-op. Someone else's token (or a made-up id) is `NotFound`: it matches
/// no row of this owner. The revocation and its audit entry commit together.
pub async fn revoke(
    db: &Db,
    owner: AccountId,
    id: &str,
    by: AccountId,
    reason: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<TokenView, AppError> {
    let not_found = || AppError::NotFound("No such token.".into());
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    let run = async {
        let mut tx = db.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = $3 \
             WHERE id = $4 AND account_id = $5 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(now.millis())
        .bind(by.to_string())
        .bind(reason)
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = revoked {
            let prefix: String = row.try_get("prefix")?;
            let name: String = row.try_get("name")?;
            let event = NewEvent {
                action: "token_revoked".into(),
                ..base.clone()
            }
            .account(owner)
            .target(name)
            .token(prefix)
            .detail("reason", reason);
            crate::audit::chain::append(&mut tx, &[event], now).await?;
        }
        tx.commit().await
    };
    run.await.map_err(|e| AppError::db("revoke token", e))?;
    let view = get(db, owner, id, now)
        .await
        .map_err(|e| AppError::db("revoke token", e))?
        .ok_or_else(not_found)?;
    tracing::info!(account = %owner, token = %view.prefix, reason, "token revoked");
    Ok(view)
}

/// Revokes every active token of `owner` (password change, account disabled,
/// admin invalidation), with one audit entry per token, on the caller's
/// connection (so inside its transaction). Returns how many were revoked.
pub async fn revoke_all_for_account(
    conn: &mut sqlx::AnyConnection,
    owner: AccountId,
    by: AccountId,
    reason: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = $3 \
         WHERE account_id = $4 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
         RETURNING prefix, name",
    )
    .bind(now.millis())
    .bind(by.to_string())
    .bind(reason)
    .bind(owner.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let events = rows
        .iter()
        .map(|r| {
            Ok(NewEvent {
                action: "token_revoked".into(),
                ..base.clone()
            }
            .account(owner)
            .target(r.try_get::<String, _>("name")?)
            .token(r.try_get::<String, _>("prefix")?)
            .detail("reason", reason))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    crate::audit::chain::append(conn, &events, now).await?;
    Ok(rows.len() as u64)
}

/// Looks at a presented token without using it (no last-used update): its
/// view if it is a well-formed token of `owner`, else `None`, whether it is
/// malformed, unknown or someone else's.
pub async fn inspect(
    db: &Db,
    config: &Config,
    owner: AccountId,
    presented: &str,
    now: Timestamp,
) -> Result<Option<TokenView>, sqlx::Error> {
    let Ok(secret) = format::parse(&config.token_prefix, presented) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND t.token_hash = $2"
    );
    sqlx::query(&sql)
        .bind(owner.to_string())
        .bind(secret.hash())
        .fetch_optional(db)
        .await?
        .map(|r| view_from_row(&r, now))
        .transpose()
}

/// How long a rotated token keeps working (or until the successor's first
/// use, whichever comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    None,
    OneHour,
    OneDay,
    SevenDays,
}

impl Grace {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "none" | "0" => Some(Grace::None),
            "1h" => Some(Grace::OneHour),
            "24h" => Some(Grace::OneDay),
            "7d" => Some(Grace::SevenDays),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grace::None => "none",
            Grace::OneHour => "1h",
            Grace::OneDay => "24h",
            Grace::SevenDays => "7d",
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            Grace::None => 0,
            Grace::OneHour => 3_600,
            Grace::OneDay => 86_400,
            Grace::SevenDays => 7 * 86_400,
        }
    }
}

/// Issues a successor with the same name, description and scopes and the
/// same lifetime from now (capped by the current policy; "never" stays never
/// only if the policy still allows it). The old token keeps working for
/// `grace` or until the successor's first use. A token that was already
/// rotated is refused (409) and its successor is left alone.
pub async fn rotate(
    db: &Db,
    config: &Config,
    owner: AccountId,
    id: &str,
    grace: Grace,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(TokenSecret, TokenView), AppError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound("No such token.".into()));
    }
    let policy = policy::load(db)
        .await
        .map_err(|e| AppError::db("load policy", e))?;
    let secret = format::generate(&config.token_prefix)
        .map_err(|e| AppError::internal("token generation", e))?;
    let new_id = uuid::Uuid::now_v7().to_string();
    let run = async {
        let mut tx = db.begin().await?;
        crate::accounts::lock_row(&mut tx, owner).await?;
        let Some(old) = sqlx::query(
            "SELECT name, description, prefix, scopes, created_at, expires_at, revoked_at, rotated_to \
             FROM api_tokens WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Err(AppError::NotFound("No such token.".into())));
        };
        let rotated_to: Option<String> = old.try_get("rotated_to")?;
        if rotated_to.is_some() {
            return Ok(Err(AppError::Conflict(
                "This token has already been rotated. Rotate its successor instead.".into(),
            )));
        }
        let revoked_at: Option<i64> = old.try_get("revoked_at")?;
        let expires_at: Option<i64> = old.try_get("expires_at")?;
        if revoked_at.is_some() || expires_at.is_some_and(|e| e <= now.millis()) {
            return Ok(Err(AppError::Conflict(
                "Only an active token can be rotated.".into(),
            )));
        }
        let created_at: i64 = old.try_get("created_at")?;
        let max_ms = policy.max_lifetime_days.map(|d| d * DAY_MS);
        let new_expiry = match (expires_at.map(|e| e - created_at), max_ms) {
            (Some(lifetime), Some(max)) => Some(now.millis() + lifetime.min(max)),
            (Some(lifetime), None) => Some(now.millis() + lifetime),
            (None, Some(max)) => Some(now.millis() + max),
            (None, None) => None,
        };
        let name: String = old.try_get("name")?;
        let old_prefix: String = old.try_get("prefix")?;
        let scopes: String = old.try_get("scopes")?;
        let description: Option<String> = old.try_get("description")?;
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, description, prefix, token_hash, scopes, \
             created_at, expires_at, rotated_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&new_id)
        .bind(owner.to_string())
        .bind(&name)
        .bind(description.as_deref())
        .bind(secret.display_prefix())
        .bind(secret.hash())
        .bind(&scopes)
        .bind(now.millis())
        .bind(new_expiry)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let grace_until = now.millis() + grace.secs() * 1000;
        sqlx::query(
            "UPDATE api_tokens SET rotated_to = $1, grace_until = $2, \
               revoked_at = CASE WHEN $3 = 0 THEN $4 ELSE revoked_at END, \
               revoked_by = CASE WHEN $3 = 0 THEN $5 ELSE revoked_by END, \
               revoked_reason = CASE WHEN $3 = 0 THEN 'rotated' ELSE revoked_reason END \
             WHERE id = $6 AND account_id = $5",
        )
        .bind(&new_id)
        .bind(grace_until)
        .bind(grace.secs())
        .bind(now.millis())
        .bind(owner.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            action: "token_rotated".into(),
            ..base.clone()
        }
        .account(owner)
        .target(name.clone())
        .token(old_prefix)
        .detail("successor", secret.display_prefix())
        .detail("grace", grace.as_str())
        .detail("grace_until", Timestamp(grace_until).rfc3339());
        crate::audit::chain::append(&mut tx, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    };
    run.await.map_err(|e| AppError::db("rotate token", e))??;
    let view = get(db, owner, &new_id, now)
        .await
        .map_err(|e| AppError::db("rotate token", e))?
        .ok_or(AppError::Internal)?;
    tracing::info!(account = %owner, token = %view.prefix, grace = grace.as_str(), "token rotated");
    Ok((secret, view))
}

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
            AuthFailure::Revoked { .. } => "revoked",
        }
    }
}

/// Checks a presented token: shape and checksum offline, then one indexed
/// lookup by hash. Revocation is read from the database on every request,
/// so it takes effect at once on every instance. Records last use
/// (coalesced, see [`LAST_USED_INTERVAL_MS`]).
pub async fn authenticate(
    db: &Db,
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
    let row = sqlx::query(
        "SELECT t.id, t.account_id, t.name, t.prefix, t.scopes, t.created_at, t.expires_at, t.revoked_at, \
                t.last_used_at, t.last_used_ip, t.rotated_to, t.rotated_from, t.grace_until, t.first_used_at, \
                s.first_used_at AS successor_used_at, a.email, a.disabled_at \
         FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
         LEFT JOIN api_tokens s ON s.id = t.rotated_to WHERE t.token_hash = $1",
    )
    .bind(secret.hash())
    .fetch_optional(db)
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
        return Ok(Err(AuthFailure::Revoked { prefix, account }));
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
        .execute(db)
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
        .execute(db)
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
            .execute(db)
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
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn form(name: &str, expiry: &str, date: Option<&str>) -> Result<NewToken, AppError> {
        NewToken::from_form(name, None, expiry, date, Scope::DEFAULT.to_vec(), NOW)
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(form("  local-dev ", "30", None).unwrap().name, "local-dev");
        assert!(form("   ", "30", None)
            .unwrap_err()
            .for_field("name")
            .is_some());
        assert!(form(&"x".repeat(65), "30", None)
            .unwrap_err()
            .for_field("name")
            .is_some());
        assert!(form("a\u{0}b", "30", None)
            .unwrap_err()
            .for_field("name")
            .is_some());
        assert!(form(&"ü".repeat(64), "30", None).is_ok());
    }

    #[test]
    fn expiry_choices() {
        for d in EXPIRY_PRESETS {
            assert_eq!(
                form("t", &d.to_string(), None).unwrap().expiry,
                Expiry::Days(d)
            );
        }
        assert_eq!(form("t", "never", None).unwrap().expiry, Expiry::Never);
        for bad in ["", "0", "14", "forever", "-7"] {
            assert!(
                form("t", bad, None)
                    .unwrap_err()
                    .for_field("expiry")
                    .is_some(),
                "{bad}"
            );
        }
        // 1_800_000_000_000 ms is 2027-01-15; a custom date ends at midnight UTC after it.
        let until = form("t", "custom", Some("2027-02-01")).unwrap().expiry;
        assert_eq!(
            until.expires_at(NOW).unwrap().rfc3339(),
            "2027-02-02T00:00:00Z"
        );
        for bad in [
            None,
            Some(""),
            Some("2027-13-01"),
            Some("yesterday"),
            Some("2020-01-01"),
            Some("2099-01-01"),
        ] {
            assert!(
                form("t", "custom", bad)
                    .unwrap_err()
                    .for_field("custom_date")
                    .is_some(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn at_least_one_scope() {
        let err = NewToken::from_form("t", None, "30", None, vec![], NOW).unwrap_err();
        assert!(err.for_field("scopes").is_some());
    }
}
