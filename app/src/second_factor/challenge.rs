//! Short-lived server-side states, at most [`PENDING_SECS`] old:
//! - a sign-in whose password was right, waiting for its second factor,
//!   bound to the browser that typed the password by a random cookie
//!   (`__Host-preq-2fa`) whose SHA-256 is the row key. No session and no
//!   known-device cookie exist until the second factor is given;
//! - a passkey ceremony's state (`webauthn-rs` keeps the challenge there),
//!   so any instance can finish what another began.
//!
//! Bounded: an account keeps at most [`MAX_PER_ACCOUNT`] of each purpose
//! (older ones are dropped), and the sweep deletes expired rows.

use base64::Engine;

use super::PENDING_SECS;
use crate::{
    db::Db,
    fault::Fault,
    types::{AccountId, Timestamp},
};

/// The cookie that binds a half-signed-in state to its browser.
pub const COOKIE_NAME: &str = "__Host-preq-2fa";
/// Live states per account and purpose.
pub const MAX_PER_ACCOUNT: i64 = 5;

/// What a state is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    PasskeyRegister,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::PasskeyRegister => "passkey_register",
        }
    }
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id_hash: String,
    pub account: AccountId,
    /// The browser had no known-device cookie of this account.
    pub new_device: bool,
    /// A passkey assertion's state, once one was asked for.
    pub state: Option<String>,
}

/// The row key of a state named by `secret` (a cookie value, or a session's
/// id hash for a passkey registration).
pub fn key(purpose: Purpose, secret: &str) -> String {
    crate::crypto::sha256_hex(format!("{}:{secret}", purpose.as_str()).as_bytes())
}

/// Stores a state for `account` under `id_hash`, dropping the account's
/// oldest of the same purpose beyond the bound.
pub async fn put(
    db: &Db,
    id_hash: &str,
    account: AccountId,
    purpose: Purpose,
    new_device: bool,
    state: Option<&str>,
    now: Timestamp,
) -> Result<(), Fault> {
    let run = async {
        let mut tx = db.begin().await?;
        sqlx::query("DELETE FROM auth_challenges WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM auth_challenges WHERE account_id = $1 AND purpose = $2 AND id_hash IN \
             (SELECT id_hash FROM auth_challenges WHERE account_id = $1 AND purpose = $2 \
              ORDER BY created_at DESC LIMIT 1000 OFFSET $3)",
        )
        .bind(account.to_string())
        .bind(purpose.as_str())
        .bind(MAX_PER_ACCOUNT - 1)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO auth_challenges (id_hash, account_id, purpose, new_device, state, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(account.to_string())
        .bind(purpose.as_str())
        .bind(i64::from(new_device))
        .bind(state)
        .bind(now.millis())
        .bind(now.plus_secs(PENDING_SECS).millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    };
    run.await.map_err(|e| Fault::db("auth challenge", e))
}

/// Begins a half-signed-in state; returns the cookie value that names it.
pub async fn begin_sign_in(
    db: &Db,
    account: AccountId,
    new_device: bool,
    now: Timestamp,
) -> Result<String, Fault> {
    let bytes = crate::crypto::random_bytes::<32>().map_err(|e| Fault::internal("random", e))?;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    put(
        db,
        &key(Purpose::SignIn, &secret),
        account,
        Purpose::SignIn,
        new_device,
        None,
        now,
    )
    .await?;
    Ok(secret)
}

#[derive(sqlx::FromRow)]
struct Row {
    id_hash: String,
    account_id: String,
    new_device: i64,
    state: Option<String>,
}

/// The live state `id_hash` of `purpose`.
async fn find(
    db: &Db,
    id_hash: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Option<Pending>, Fault> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id_hash, account_id, new_device, state FROM auth_challenges \
         WHERE id_hash = $1 AND purpose = $2 AND expires_at > $3",
    )
    .bind(id_hash)
    .bind(purpose.as_str())
    .bind(now.millis())
    .fetch_optional(db)
    .await
    .map_err(|e| Fault::db("auth challenge", e))?;
    Ok(row.and_then(|r| {
        Some(Pending {
            account: AccountId::parse(&r.account_id)?,
            id_hash: r.id_hash,
            new_device: r.new_device != 0,
            state: r.state,
        })
    }))
}

/// The half-signed-in state the browser's cookie names, if still live.
pub async fn pending_sign_in(
    db: &Db,
    cookie: Option<&str>,
    now: Timestamp,
) -> Result<Option<Pending>, Fault> {
    match cookie.filter(|c| !c.is_empty() && c.len() <= 64) {
        Some(c) => find(db, &key(Purpose::SignIn, c), Purpose::SignIn, now).await,
        None => Ok(None),
    }
}

/// Keeps a passkey assertion's state with the sign-in it belongs to.
pub async fn set_state(db: &Db, id_hash: &str, state: &str) -> Result<(), Fault> {
    sqlx::query("UPDATE auth_challenges SET state = $1 WHERE id_hash = $2")
        .bind(state)
        .bind(id_hash)
        .execute(db)
        .await
        .map_err(|e| Fault::db("auth challenge", e))?;
    Ok(())
}

/// Ends a state: true for the one caller that ended it (a state is used
/// once).
pub async fn finish(db: &Db, id_hash: &str) -> Result<bool, Fault> {
    let done = sqlx::query("DELETE FROM auth_challenges WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db)
        .await
        .map_err(|e| Fault::db("auth challenge", e))?;
    Ok(done.rows_affected() == 1)
}

/// Takes (reads and ends) the state of `account` under `id_hash`.
pub async fn take(
    db: &Db,
    id_hash: &str,
    account: AccountId,
    purpose: Purpose,
    now: Timestamp,
) -> Result<Option<String>, Fault> {
    let Some(p) = find(db, id_hash, purpose, now).await? else {
        return Ok(None);
    };
    if p.account != account || !finish(db, id_hash).await? {
        return Ok(None);
    }
    Ok(p.state)
}

/// Deletes expired states (the maintenance sweep).
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM auth_challenges WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(db)
            .await?
            .rows_affected(),
    )
}
