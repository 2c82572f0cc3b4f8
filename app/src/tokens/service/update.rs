//! Changing what a working token may do after its creation: its IP
//! allowlist. The change and its `token_updated` entry commit together; a
//! running server applies it on the token's next request (every request
//! reads the token's row).

use crate::audit::AuditAction;

use super::*;
use crate::tokens::{allowlist::IpAllowlist, TokenView};
use crate::{
    audit::NewEvent,
    db::Db,
    fault::Fault,
    types::{AccountId, Timestamp},
};

/// Sets the networks one of `owner`'s tokens may be used from (empty: any).
/// Someone else's token, or a made-up id, is `NotFound`; a revoked token
/// cannot change.
pub async fn set_allowlist(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    id: &str,
    allowed: &IpAllowlist,
    base: &NewEvent,
    now: Timestamp,
) -> Result<TokenView, Fault> {
    let not_found = || Fault::NotFound("No such token.".into());
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    let run = async {
        let mut tx = db.begin().await?;
        let changed: Option<(String, String)> = sqlx::query_as(
            "UPDATE api_tokens SET allowed_ips = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(allowed.to_stored())
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((prefix, name)) = changed else {
            return Ok(false);
        };
        let event = (base.clone())
            .with_action(AuditAction::TokenUpdated)
            .account(owner)
            .target(name)
            .token(prefix)
            .detail("allowed_ips", allowed.to_stored())
            .security(true);
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(true)
    };
    let changed = run.await.map_err(|e| Fault::db("update token", e))?;
    let view = get(db, owner, id, now)
        .await
        .map_err(|e| Fault::db("update token", e))?
        .ok_or_else(not_found)?;
    if !changed {
        return Err(Fault::Conflict("A revoked token cannot be changed.".into()));
    }
    tracing::info!(account = %owner, token = %view.prefix, "token allowlist changed");
    Ok(view)
}
