//! The owner's side of task tokens: the live ones of a subject (its page
//! lists them), revoking one or all of them, and the sweep of old rows.
//! Every query is filtered on the owner.

use super::TaskTokenView;
use crate::{
    audit::{AuditAction, NewEvent},
    db::Db,
    fault::Fault,
    keys::Keyring,
    tokens::Scope,
    types::{AccountId, Timestamp},
};

/// Rows are kept this long after their expiry (they live at most a day).
pub const KEEP_AFTER_EXPIRY_MS: i64 = 7 * 86_400_000;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    prefix: String,
    task_id: String,
    task_title: String,
    scopes: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    usage_remaining: Option<i64>,
}

/// The live task tokens of `owner`'s subject credential `subject` (an API
/// key's id or an OAuth grant's), newest first: not revoked, not expired,
/// task not done.
pub async fn live_for_subject(
    db: &Db,
    owner: AccountId,
    subject: &str,
    now: Timestamp,
) -> Result<Vec<TaskTokenView>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.prefix, c.task_id, k.title AS task_title, c.scopes, c.created_at, c.expires_at, \
                c.last_used_at, c.last_used_ip, c.usage_remaining \
         FROM task_tokens c JOIN tasks k ON k.id = c.task_id AND k.account_id = c.account_id \
         WHERE c.account_id = $1 AND (c.subject_token_id = $2 OR c.subject_grant_id = $2) \
           AND c.revoked_at IS NULL AND c.expires_at > $3 AND k.status <> 'done' \
         ORDER BY c.created_at DESC, c.id DESC LIMIT 100",
    )
    .bind(owner.to_string())
    .bind(subject)
    .bind(now.millis())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TaskTokenView {
            id: r.id,
            prefix: r.prefix,
            task_id: r.task_id,
            task_title: r.task_title,
            scopes: Scope::split(&r.scopes),
            created_at: Timestamp(r.created_at),
            expires_at: Timestamp(r.expires_at),
            last_used_at: r.last_used_at.map(Timestamp),
            last_used_ip: r.last_used_ip,
            remaining: r.usage_remaining,
        })
        .collect())
}

/// Which of a subject's task tokens to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    One(&'a str),
    AllOf(&'a str),
}

/// Revokes `owner`'s live task tokens chosen by `which`, audited in the
/// same transaction (`task_token_revoked`, one entry per token). Returns
/// how many were live; 0 when none (or another owner's).
pub async fn revoke(
    db: &Db,
    keys: &Keyring,
    owner: AccountId,
    which: Which<'_>,
    reason: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<u64, Fault> {
    let (condition, value) = match which {
        Which::One(id) => ("id = $2", id),
        Which::AllOf(subject) => ("(subject_token_id = $2 OR subject_grant_id = $2)", subject),
    };
    let run = async {
        let mut tx = db.begin().await?;
        crate::accounts::lock_row(&mut tx, owner).await?;
        let revoked: Vec<(String, String, String)> = sqlx::query_as(&format!(
            "UPDATE task_tokens SET revoked_at = $3, revoked_reason = $4 \
             WHERE account_id = $1 AND {condition} AND revoked_at IS NULL AND expires_at > $3 \
               AND task_id NOT IN (SELECT id FROM tasks WHERE account_id = $1 AND status = 'done') \
             RETURNING prefix, subject_prefix, task_id"
        ))
        .bind(owner.to_string())
        .bind(value)
        .bind(now.millis())
        .bind(reason)
        .fetch_all(&mut *tx)
        .await?;
        let events: Vec<NewEvent> = revoked
            .iter()
            .map(|(prefix, subject, task)| {
                base.with_action(AuditAction::TaskTokenRevoked)
                    .account(owner)
                    .target(prefix.clone())
                    .token(prefix.clone())
                    .detail("subject", subject)
                    .detail("task_id", task)
                    .detail("reason", reason)
            })
            .collect();
        crate::audit::chain::append(&mut tx, keys, &events, now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(revoked.len() as u64)
    };
    run.await.map_err(|e| Fault::db("revoke task tokens", e))
}

/// Deletes rows a week past their expiry, and their project rows.
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    let before = now.millis() - KEEP_AFTER_EXPIRY_MS;
    sqlx::query(
        "DELETE FROM token_projects WHERE token_id IN \
         (SELECT id FROM task_tokens WHERE expires_at < $1)",
    )
    .bind(before)
    .execute(db)
    .await?;
    let gone = sqlx::query("DELETE FROM task_tokens WHERE expires_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(gone.rows_affected())
}
