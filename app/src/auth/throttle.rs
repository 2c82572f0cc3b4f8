//! Sign-in throttling, stored in the database so every instance counts the
//! same failures. Keys: SHA-256 of the normalised email (whether or not the
//! account exists, so the throttle reveals nothing) and the client IP.

use sqlx::Row;

use crate::{config::Config, db::Db, types::Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    No,
    /// Too many failures; retry after this many seconds.
    RetryAfter(i64),
}

pub fn account_key(normalized_email: &str) -> String {
    crate::crypto::sha256_hex(normalized_email.as_bytes())
}

/// Whether another attempt for this account/IP is allowed at `now`.
pub async fn check(
    db: &Db,
    cfg: &Config,
    account_key: &str,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<Throttled, sqlx::Error> {
    let since = now.millis() - cfg.login_window_secs * 1000;
    let mut worst = Throttled::No;
    let mut keys = vec![(
        "account",
        account_key.to_string(),
        cfg.login_max_failures_per_account,
    )];
    if let Some(ip) = ip {
        keys.push(("ip", ip.to_string(), cfg.login_max_failures_per_ip));
    }
    for (kind, key, limit) in keys {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures \
             WHERE key_kind = $1 AND key = $2 AND at > $3",
        )
        .bind(kind)
        .bind(&key)
        .bind(since)
        .fetch_one(db)
        .await?;
        let n: i64 = row.try_get("n")?;
        if n >= limit {
            let oldest: Option<i64> = row.try_get("oldest")?;
            let retry_ms =
                oldest.unwrap_or(now.millis()) + cfg.login_window_secs * 1000 - now.millis();
            let secs = (retry_ms / 1000).max(1);
            worst = match worst {
                Throttled::RetryAfter(s) if s >= secs => worst,
                _ => Throttled::RetryAfter(secs),
            };
        }
    }
    Ok(worst)
}

/// Records one failed attempt against the account key and the IP, and
/// deletes records older than the window (keeps the table small).
pub async fn record_failure(
    db: &Db,
    cfg: &Config,
    account_key: &str,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut keys = vec![("account", account_key)];
    if let Some(ip) = ip {
        keys.push(("ip", ip));
    }
    for (kind, key) in keys {
        sqlx::query("INSERT INTO login_failures (id, key_kind, key, at) VALUES ($1, $2, $3, $4)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(kind)
            .bind(key)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(now.millis() - cfg.login_window_secs * 1000)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// After a successful sign-in the account's failures are forgotten (the
/// IP's are not: one IP guessing many accounts stays throttled).
pub async fn clear_account(db: &Db, account_key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE key_kind = 'account' AND key = $1")
        .bind(account_key)
        .execute(db)
        .await?;
    Ok(())
}
