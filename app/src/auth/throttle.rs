//! Sign-in throttling, stored in the database so every instance counts the
//! same attempts. An attempt is *reserved* before any password is hashed: in
//! one serialized transaction the window's count is checked and a row is
//! written for each key, so a burst of parallel guesses cannot all pass the
//! check before any failure is recorded. A success releases its rows; a
//! failure leaves them as the record.
//!
//! Keys: SHA-256 of the normalised email (whether or not the account exists,
//! so the throttle reveals nothing), the client IP (IPv6 by /64), a known
//! device (its cookie's nonce, instead of the account), and the setup code
//! (per IP).

use crate::{config::Config, db::Db, types::Timestamp};

/// What one key counts and how many attempts it allows per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    kind: &'static str,
    key: String,
    limit: i64,
}

impl Key {
    /// The account, for clients that are not a known device of it.
    pub fn account(cfg: &Config, normalized_email: &str) -> Self {
        Self {
            kind: "account",
            key: account_key(normalized_email),
            limit: cfg.login_max_failures_per_account,
        }
    }

    /// A known device of the account: its own limit, so strangers' failures
    /// against the account do not lock the owner out of their browser.
    pub fn device(cfg: &Config, device_id: &str) -> Self {
        Self {
            kind: "device",
            key: crate::crypto::sha256_hex(device_id.as_bytes()),
            limit: cfg.login_max_failures_per_account,
        }
    }

    /// The client IP (already reduced to its rate key: IPv6 by /64).
    pub fn ip(cfg: &Config, ip_key: &str) -> Self {
        Self {
            kind: "ip",
            key: ip_key.to_string(),
            limit: cfg.login_max_failures_per_ip,
        }
    }

    /// Setup-code guesses from one IP.
    pub fn setup(cfg: &Config, ip_key: &str) -> Self {
        Self {
            kind: "setup",
            key: ip_key.to_string(),
            limit: cfg.login_max_failures_per_account,
        }
    }
}

/// Too many attempts; retry after this many seconds (the real wait: until
/// the oldest counted attempt leaves the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: i64,
}

/// Rows written for one reserved attempt.
#[must_use = "release the reservation on success, or keep it as the failure record"]
#[derive(Debug)]
pub struct Reservation {
    ids: Vec<String>,
}

pub fn account_key(normalized_email: &str) -> String {
    crate::crypto::sha256_hex(normalized_email.as_bytes())
}

/// On PostgreSQL every reservation takes this transaction-scoped advisory
/// lock, so reservations from all instances are serialized (SQLite
/// serializes writers itself; the in-process mutex keeps this process's own
/// connections from racing into `SQLITE_BUSY`).
const ADVISORY_LOCK: i64 = 0x7072_6571_6c6f_6731; // "preqlog1"

static RESERVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reserves one attempt against every key, or says how long to wait if any
/// key is at its limit (then nothing is written).
pub async fn reserve(
    db: &Db,
    cfg: &Config,
    keys: &[Key],
    now: Timestamp,
) -> Result<Result<Reservation, Throttled>, sqlx::Error> {
    let window_ms = cfg.login_window_secs * 1000;
    let since = now.millis() - window_ms;
    let _serial = RESERVE.lock().await;
    let mut tx = db.begin().await?;
    if crate::db::is_postgres(db) {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ADVISORY_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    // A write first: on SQLite it takes the write lock before anything is
    // read, so the counts cannot go stale (and no SQLITE_BUSY_SNAPSHOT).
    // It also keeps the table small: nothing older than the window counts.
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(since)
        .execute(&mut *tx)
        .await?;
    let mut wait = 0;
    for k in keys {
        let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures \
             WHERE key_kind = $1 AND key = $2 AND at > $3",
        )
        .bind(k.kind)
        .bind(&k.key)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        if n >= k.limit {
            let retry_ms = oldest.unwrap_or(now.millis()) + window_ms - now.millis();
            wait = wait.max((retry_ms + 999) / 1000).max(1);
        }
    }
    if wait > 0 {
        tx.rollback().await?;
        return Ok(Err(Throttled { retry_after: wait }));
    }
    let mut ids = Vec::with_capacity(keys.len());
    for k in keys {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO login_failures (id, key_kind, key, at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(k.kind)
            .bind(&k.key)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(Ok(Reservation { ids }))
}

impl Reservation {
    /// The attempt succeeded (or was never evaluated): it does not count.
    pub async fn release(self, db: &Db) -> Result<(), sqlx::Error> {
        for id in &self.ids {
            sqlx::query("DELETE FROM login_failures WHERE id = $1")
                .bind(id)
                .execute(db)
                .await?;
        }
        Ok(())
    }

    /// The attempt failed: its rows stay as the failure record.
    pub fn keep(self) {}
}

/// After a successful sign-in the account's failures are forgotten (the
/// IP's are not: one IP guessing many accounts stays throttled).
pub async fn clear(db: &Db, key: &Key) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE key_kind = $1 AND key = $2")
        .bind(key.kind)
        .bind(&key.key)
        .execute(db)
        .await?;
    Ok(())
}

/// The user-facing sentence for a wait of `secs` seconds.
pub fn wait_message(what: &str, secs: i64) -> String {
    let minutes = (secs + 59) / 60;
    format!(
        "Too many failed {what}. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}
