//! `grant_type=refresh_token`: the refresh token is used up and a new pair
//! issued. Presenting a used refresh token again revokes the whole grant
//! (RFC 9700 4.14.2), with one exception, the leeway: MCP hosts retry a
//! refresh whose answer they lost, or refresh from two windows at once, so
//! the same client presenting the just-rotated token again within
//! `oauth_refresh_leeway_secs`, while its successor is still unused, gets
//! the same successor pair (kept sealed under the keyring until then).

use super::{grants, OAuthError};
use crate::{
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    config::Config,
    db::Db,
    tokens::{format, service::Identified},
    types::{AccountId, Timestamp},
};

/// A refresh token as stored, with its grant's client.
#[derive(sqlx::FromRow)]
struct RefreshRow {
    grant_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    replay_sealed: Option<String>,
    replay_until: Option<i64>,
    client_id: String,
    account_id: String,
    revoked_at: Option<i64>,
    prefix: String,
    client_name: String,
    disabled_at: Option<i64>,
}

impl RefreshRow {
    /// Unused and past its expiry: [`refresh`] refuses it.
    fn expired(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.expires_at < now.millis()
    }

    /// Whether presenting it (with its client's public id) would still get
    /// tokens at `now`, as [`refresh`] decides: the grant live, and the
    /// token unused and unexpired, or used with its answer still kept (the
    /// leeway). A used token past the leeway only revokes its grant.
    fn works(&self, now: Timestamp) -> bool {
        let live = match self.used_at {
            None => !self.expired(now),
            Some(_) => {
                self.replay_sealed.is_some() && self.replay_until.is_some_and(|u| u >= now.millis())
            }
        };
        live && self.revoked_at.is_none() && self.disabled_at.is_none()
    }
}

/// The AEAD context of a kept successor pair: it opens only for the refresh
/// token it answered.
fn replay_context(token_hash: &str) -> String {
    format!("oauth refresh replay {token_hash}")
}

/// Exchanges `presented` (a refresh token of `client_id`) for a new pair.
pub async fn refresh(
    db: &Db,
    config: &Config,
    client_id: &str,
    presented: &str,
    now: Timestamp,
) -> Result<grants::Issued, OAuthError> {
    let invalid = |m: &str| OAuthError::new("invalid_grant", m);
    let secret = format::parse(&grants::refresh_prefix(config), presented)
        .map_err(|_| invalid("Not a refresh token of this server."))?;
    let hash = secret.hash();
    // Twice at most: a claim lost to a concurrent refresh of the same token
    // reads the winner's committed answer the second time.
    for _ in 0..2 {
        let row = find(db, &hash)
            .await
            .map_err(OAuthError::db)?
            .ok_or_else(|| invalid("Unknown refresh token."))?;
        if row.client_id != client_id {
            // Nothing is revoked: a client id is public, and whoever sent
            // this does not hold the client's token... or sent the wrong id.
            return Err(invalid("The refresh token was issued to another client."));
        }
        if row.used_at.is_some() {
            return replay_or_reuse(db, config, &hash, row, now).await;
        }
        if row.expired(now) {
            return Err(invalid("The refresh token has expired; authorize again."));
        }
        if let Some(issued) = claim_and_issue(db, config, &hash, &row.grant_id, now).await? {
            super::clients::touch(db, client_id, now)
                .await
                .map_err(OAuthError::db)?;
            return Ok(issued);
        }
    }
    Err(invalid("This refresh token was already used."))
}

async fn find(db: &Db, hash: &str) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.grant_id, t.expires_at, t.used_at, t.replay_sealed, t.replay_until, \
                g.client_id, g.account_id, g.revoked_at, t.prefix, g.client_name, a.disabled_at \
         FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
         JOIN accounts a ON a.id = g.account_id \
         WHERE t.token_hash = $1 AND t.kind = 'refresh'",
    )
    .bind(hash)
    .fetch_optional(db)
    .await
}

/// The grant of the refresh token `presented` when the token still works
/// at `now` (read and judged as [`refresh`] reads and judges it, nothing
/// claimed); `None` for anything else.
pub async fn identify(
    db: &Db,
    config: &Config,
    presented: &str,
    now: Timestamp,
) -> Result<Option<Identified>, sqlx::Error> {
    let Ok(secret) = format::parse(&grants::refresh_prefix(config), presented) else {
        return Ok(None);
    };
    let Some(row) = find(db, &secret.hash()).await?.filter(|r| r.works(now)) else {
        return Ok(None);
    };
    Ok(AccountId::parse(&row.account_id).map(|owner| Identified {
        id: row.grant_id,
        owner,
        name: row.client_name,
        prefix: row.prefix,
    }))
}

/// Claims the refresh token and issues its successor in one transaction,
/// so a failure in between leaves the token unused (the client's retry is
/// not a reuse). `None`: another request claimed it first.
async fn claim_and_issue(
    db: &Db,
    config: &Config,
    hash: &str,
    grant_id: &str,
    now: Timestamp,
) -> Result<Option<grants::Issued>, OAuthError> {
    let mut tx = db.begin().await.map_err(OAuthError::db)?;
    // The first statement writes, so on SQLite a concurrent refresh waits
    // for the lock (busy timeout) instead of failing on a stale snapshot.
    let claimed = sqlx::query(
        "UPDATE oauth_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now.millis())
    .bind(hash)
    .execute(&mut *tx)
    .await
    .map_err(OAuthError::db)?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    // This token's predecessor keeps no replay once this one is used.
    sqlx::query(
        "UPDATE oauth_tokens SET replay_sealed = NULL, replay_until = NULL WHERE successor_hash = $1",
    )
    .bind(hash)
    .execute(&mut *tx)
    .await
    .map_err(OAuthError::db)?;
    let (issued, successor) = grants::issue(&mut tx, config, grant_id, true, now).await?;
    if config.oauth_refresh_leeway_secs > 0 {
        let plain = serde_json::to_vec(&issued)
            .map_err(|_| OAuthError::new("server_error", "The answer could not be kept."))?;
        let sealed = config
            .keys
            .seal(&replay_context(hash), &plain)
            .map_err(|_| OAuthError::new("server_error", "The answer could not be sealed."))?;
        sqlx::query(
            "UPDATE oauth_tokens SET replay_sealed = $1, replay_until = $2, successor_hash = $3 \
             WHERE token_hash = $4",
        )
        .bind(sealed)
        .bind(now.millis() + config.oauth_refresh_leeway_secs * 1000)
        .bind(successor)
        .bind(hash)
        .execute(&mut *tx)
        .await
        .map_err(OAuthError::db)?;
    }
    tx.commit().await.map_err(OAuthError::db)?;
    Ok(Some(issued))
}

/// A used refresh token presented again by its own client: the kept pair
/// inside the leeway, else reuse (the grant is revoked).
async fn replay_or_reuse(
    db: &Db,
    config: &Config,
    hash: &str,
    row: RefreshRow,
    now: Timestamp,
) -> Result<grants::Issued, OAuthError> {
    let invalid = |m: &str| OAuthError::new("invalid_grant", m);
    if row.revoked_at.is_some() {
        return Err(invalid("The grant was revoked."));
    }
    let kept = match (row.replay_sealed, row.replay_until, row.used_at) {
        (Some(sealed), Some(until), Some(used)) if until >= now.millis() => Some((sealed, used)),
        _ => None,
    };
    let Some((sealed, used_at)) = kept else {
        super::revocation::revoke_for_reuse(
            db,
            config,
            &row.grant_id,
            AuditAction::OauthRefreshReused,
            now,
        )
        .await
        .map_err(OAuthError::db)?;
        return Err(invalid(
            "This refresh token was already used; the grant is revoked. Authorize again.",
        ));
    };
    let mut issued: grants::Issued = config
        .keys
        .open(&replay_context(hash), &sealed)
        .ok()
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(|| {
            tracing::error!("a kept OAuth refresh answer does not open");
            OAuthError::new("server_error", "The earlier answer could not be read.")
        })?;
    // The access token has been alive since the first answer.
    issued.expires_in = (issued.expires_in - (now.millis() - used_at) / 1000).max(1);
    let event = NewEvent::new(
        AuditAction::OauthRefreshReplayed,
        ActorKind::OauthClient,
        Outcome::Success,
    )
    .account(row.account_id)
    .actor(row.grant_id.clone())
    .target(row.grant_id)
    .detail("leeway_secs", config.oauth_refresh_leeway_secs);
    crate::audit::chain::append_now(db, &config.keys, &[event], now)
        .await
        .map_err(OAuthError::db)?;
    Ok(issued)
}
