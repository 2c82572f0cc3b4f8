//! The owner's kill switch (Settings > API Keys): every working API key and
//! connected app of the account revoked at once, in one transaction, with
//! one `credentials_revoked` entry naming the counts beside each key's own
//! `token_revoked`. Sessions stay: the owner is the one pressing it.

use super::CredentialCounts;
use crate::{
    audit::{AuditAction, NewEvent},
    db::Db,
    fault::Fault,
    tokens,
    types::{AccountId, Timestamp},
};

/// What the switch would end now (the confirmation names the counts).
pub async fn count(db: &Db, owner: AccountId, now: Timestamp) -> Result<CredentialCounts, Fault> {
    let (tokens, apps): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM api_tokens WHERE account_id = $1 AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2)), \
                (SELECT COUNT(*) FROM oauth_grants WHERE account_id = $1 AND revoked_at IS NULL)",
    )
    .bind(owner.to_string())
    .bind(now.millis())
    .fetch_one(db)
    .await
    .map_err(|e| Fault::db("count credentials", e))?;
    Ok(CredentialCounts {
        tokens: tokens.max(0) as u64,
        apps: apps.max(0) as u64,
    })
}

/// Revokes every working API key and connected app of `owner`, and
/// disables its CI federation rules (their tokens revoked with them).
pub async fn revoke_all(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    base: &NewEvent,
    now: Timestamp,
) -> Result<CredentialCounts, Fault> {
    const REASON: &str = "revoked_all_by_owner";
    let run = async {
        let mut tx = db.begin().await?;
        super::lock_row(&mut tx, owner).await?;
        let tokens = tokens::service::revoke_all_for_account(
            &mut tx,
            keys,
            owner,
            Some(owner),
            REASON,
            base,
            now,
        )
        .await?;
        let apps =
            crate::oauth::revocation::revoke_all_for_account(&mut tx, owner, REASON, now).await?;
        let (rules, ci_tokens) =
            crate::federation::rules::disable_all_for_account(&mut tx, owner, now).await?;
        let event = (base.clone())
            .with_action(AuditAction::CredentialsRevoked)
            .account(owner)
            .detail("tokens_revoked", tokens)
            .detail("apps_revoked", apps)
            .detail("federation_rules_disabled", rules)
            .detail("ci_tokens_revoked", ci_tokens)
            .security(true);
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(CredentialCounts { tokens, apps })
    };
    let counts = run
        .await
        .map_err(|e| Fault::db("revoke all credentials", e))?;
    tracing::warn!(account = %owner, tokens = counts.tokens, apps = counts.apps, "all credentials revoked by their owner");
    Ok(counts)
}
