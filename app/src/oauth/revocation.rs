//! Ending grants: by their owner (Connected apps, an administrator), by
//! their client (RFC 7009), by an account change (password, disabling,
//! "invalidate"), and because one of their codes or refresh tokens came
//! back (reuse: a security event). A revoked grant's tokens stop working on
//! the next request, on every instance (each request reads the grant).

use crate::{
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    config::Config,
    db::Db,
    types::{AccountId, Timestamp},
};

/// Revokes a grant because one of its codes or refresh tokens came back:
/// a security event.
pub async fn revoke_for_reuse(
    db: &Db,
    config: &Config,
    grant_id: &str,
    action: AuditAction,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    // Revoked now, or already: either way the entry names the account.
    sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $1, revoked_reason = 'reuse_detected' \
         WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(now.millis())
    .bind(grant_id)
    .execute(&mut *tx)
    .await?;
    let account: Option<(String, String)> =
        sqlx::query_as("SELECT account_id, client_name FROM oauth_grants WHERE id = $1")
            .bind(grant_id)
            .fetch_optional(&mut *tx)
            .await?;
    let mut event = NewEvent::new(action, ActorKind::Anonymous, Outcome::Failure)
        .target(grant_id.to_string())
        .detail("grant_revoked", true)
        .security(true);
    if let Some((a, client)) = account {
        event = event.account(&a);
        if let Some(owner) = AccountId::parse(&a) {
            // Once per grant: it is revoked now, later replays add nothing.
            event = event.notify(
                crate::notifications::outbox::Notice::new(
                    crate::notifications::NoticeKind::ReuseDetected,
                    owner,
                )
                .grant(grant_id, client)
                .reason(match action {
                    AuditAction::OauthCodeReused => "An authorization code",
                    _ => "A refresh token",
                })
                .flag(true)
                .key(format!("reuse:{grant_id}")),
            );
        }
    }
    tracing::warn!(
        grant = grant_id,
        action = action.as_str(),
        "OAuth credential reused: grant revoked"
    );
    crate::audit::chain::append(&mut tx, &config.keys, &[event], now).await?;
    tx.commit().await
}

/// The grant a presented token belongs to.
#[derive(sqlx::FromRow)]
struct PresentedRow {
    id: String,
    account_id: String,
    client_id: String,
}

/// RFC 7009: revokes the grant of an access or refresh token presented by
/// its client. Unknown tokens are not an error (the answer is the same).
pub async fn revoke_presented(
    db: &Db,
    config: &Config,
    client_id: &str,
    presented: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let hash = crate::crypto::sha256_hex(presented.as_bytes());
    let row: Option<PresentedRow> = sqlx::query_as(
        "SELECT g.id, g.account_id, g.client_id FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
         WHERE t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row.filter(|r| r.client_id == client_id) else {
        return Ok(());
    };
    let Some(account) = AccountId::parse(&row.account_id) else {
        return Ok(());
    };
    let base = NewEvent::new(
        AuditAction::OauthGrantRevoked,
        ActorKind::OauthClient,
        Outcome::Success,
    )
    .actor(client_id.to_string());
    revoke(
        db,
        &config.keys,
        account,
        &row.id,
        "revoked_by_client",
        &base,
        now,
    )
    .await
    .map(|_| ())
}

/// Revokes one of `owner`'s grants (Connected apps, an admin, the client
/// itself). False when there was no such live grant of that owner.
pub async fn revoke(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    grant_id: &str,
    reason: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let client: Option<(String,)> = sqlx::query_as(
        "UPDATE oauth_grants SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL RETURNING client_name",
    )
    .bind(now.millis())
    .bind(reason)
    .bind(grant_id)
    .bind(owner.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((client_name,)) = client else {
        return Ok(false);
    };
    let event = base
        .with_action(AuditAction::OauthGrantRevoked)
        .account(owner)
        .target(grant_id.to_string())
        .detail("client", &client_name)
        .detail("reason", reason);
    // Revoked by an administrator: the owner is told.
    let event = match reason {
        "revoked_by_admin" => event.notify(
            crate::notifications::outbox::Notice::new(
                crate::notifications::NoticeKind::CredentialRevoked,
                owner,
            )
            .grant(grant_id, &client_name)
            .reason(reason)
            .by(match base.actor_kind {
                ActorKind::Cli => "an administrator, on the server's command line",
                _ => "an administrator",
            }),
        ),
        _ => event,
    };
    crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends every live grant of an account, on the caller's transaction (a
/// password change, disabling, an admin's "invalidate"). Returns how many.
pub async fn revoke_all_for_account(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
    reason: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $1, revoked_reason = $2 WHERE account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now.millis())
    .bind(reason)
    .bind(account.to_string())
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected())
}
