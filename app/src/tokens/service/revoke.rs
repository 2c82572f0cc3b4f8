//! Revoking a token, and every token of an account at once.

use sqlx::Row;

use super::*;
use crate::tokens::TokenView;
use crate::{
    audit::NewEvent,
    db::Db,
    error::AppError,
    types::{AccountId, Timestamp},
};

/// Revokes one of `owner`'s tokens at once, and with it every other working
/// member of its rotation family (successors and a predecessor in grace);
/// revoking a revoked token is a no-op. Someone else's token (or a made-up
/// id) is `NotFound`: it matches no row of this owner. The revocations and
/// their audit entries commit together.
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
        let relatives = super::working_relatives(&mut tx, owner, id).await?;
        super::revoke_members(&mut tx, owner, &relatives, Some(by), reason, base, now).await?;
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
