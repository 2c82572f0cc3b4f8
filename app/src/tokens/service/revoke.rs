//! Revoking a token, and every token of an account at once.

use crate::audit::AuditAction;

use super::*;
use crate::notifications::{outbox::Notice, NoticeKind};
use crate::tokens::TokenView;
use crate::{
    audit::NewEvent,
    db::Db,
    fault::Fault,
    types::{AccountId, Timestamp},
};

/// A row an `UPDATE ... RETURNING prefix, name` just revoked.
#[derive(sqlx::FromRow)]
pub(super) struct RevokedRow {
    pub(super) prefix: String,
    pub(super) name: String,
}

/// The `token_revoked` entry for a row just revoked.
pub(super) fn revoked_event(
    base: &NewEvent,
    owner: AccountId,
    row: &RevokedRow,
    reason: &str,
) -> NewEvent {
    (base.clone())
        .with_action(AuditAction::TokenRevoked)
        .account(owner)
        .target(row.name.clone())
        .token(row.prefix.clone())
        .detail("reason", reason)
}

/// Revokes one of `owner`'s tokens at once, and with it every other working
/// member of its rotation family (successors and a predecessor in grace);
/// revoking a revoked token is a no-op. Someone else's token (or a made-up
/// id) is `NotFound`: it matches no row of this owner. The revocations and
/// their audit entries commit together.
pub async fn revoke(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    id: &str,
    why: super::Revocation<'_>,
    now: Timestamp,
) -> Result<TokenView, Fault> {
    let not_found = || Fault::NotFound("No such token.".into());
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    let run = async {
        let mut tx = db.begin().await?;
        // A write first (the account row, as rotate does): family changes of
        // one account are serialised, and on SQLite the reads below cannot
        // go stale before the writes (no SQLITE_BUSY_SNAPSHOT).
        crate::accounts::lock_row(&mut tx, owner).await?;
        let mut ids = vec![id.to_string()];
        ids.extend(super::working_relatives(&mut tx, owner, id).await?);
        super::revoke_members(&mut tx, keys, owner, &ids, why, now).await?;
        tx.commit().await
    };
    run.await.map_err(|e| Fault::db("revoke token", e))?;
    let view = get(db, owner, id, now)
        .await
        .map_err(|e| Fault::db("revoke token", e))?
        .ok_or_else(not_found)?;
    tracing::info!(account = %owner, token = %view.prefix, reason = why.reason, "token revoked");
    Ok(view)
}

/// Revokes every active token of `owner` (password change, account disabled,
/// admin invalidation), with one audit entry per token, on the caller's
/// connection (so inside its transaction). Returns how many were revoked.
pub async fn revoke_all_for_account(
    conn: &mut sqlx::AnyConnection,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    by: Option<AccountId>,
    reason: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let rows: Vec<RevokedRow> = sqlx::query_as(
        "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = $3 \
         WHERE account_id = $4 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
         RETURNING prefix, name",
    )
    .bind(now.millis())
    .bind(by.map(|b| b.to_string()))
    .bind(reason)
    .bind(owner.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let events: Vec<NewEvent> = rows
        .iter()
        .map(|r| revoked_event(base, owner, r, reason))
        .collect();
    crate::audit::chain::append(conn, keys, &events, now).await?;
    Ok(rows.len() as u64)
}

/// A token the dormant-token policy ends.
#[derive(sqlx::FromRow)]
struct DormantRow {
    id: String,
    account_id: String,
    prefix: String,
    name: String,
}

/// The dormant-token policy (GitHub's and GitLab's): revokes working API
/// keys unused for `days` (never used: since their creation), at most 500
/// a sweep, each with its `token_revoked` entry (reason `dormant`, by the
/// system). Rotated predecessors are left to their grace. Returns how many.
pub async fn revoke_dormant(
    db: &Db,
    keys: &crate::keys::Keyring,
    days: i64,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let cutoff = now.millis() - days * super::create::DAY_MS;
    let dormant: Vec<DormantRow> = sqlx::query_as(
        "SELECT id, account_id, prefix, name FROM api_tokens \
         WHERE revoked_at IS NULL AND rotated_to IS NULL AND (expires_at IS NULL OR expires_at > $1) \
         AND COALESCE(last_used_at, created_at) < $2 LIMIT 500",
    )
    .bind(now.millis())
    .bind(cutoff)
    .fetch_all(db)
    .await?;
    let mut revoked = 0;
    for row in dormant {
        let mut tx = db.begin().await?;
        // Used since it was read (on this or another instance): it stays.
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_reason = 'dormant' \
             WHERE id = $2 AND revoked_at IS NULL AND COALESCE(last_used_at, created_at) < $3",
        )
        .bind(now.millis())
        .bind(&row.id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            let event = NewEvent::new(
                AuditAction::TokenRevoked,
                crate::audit::ActorKind::System,
                crate::audit::Outcome::Success,
            )
            .account(&row.account_id)
            .target(&row.name)
            .token(&row.prefix)
            .detail("reason", "dormant")
            .detail("unused_days", days);
            let event = match AccountId::parse(&row.account_id) {
                Some(owner) => event.notify(
                    Notice::new(NoticeKind::CredentialRevoked, owner)
                        .token(&row.id, &row.name, &row.prefix)
                        .reason("dormant")
                        .by("the dormant-token policy"),
                ),
                None => event,
            };
            crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
            revoked += 1;
        }
        tx.commit().await?;
    }
    Ok(revoked)
}
