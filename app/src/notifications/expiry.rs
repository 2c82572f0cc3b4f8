//! Expiry warnings: the periodic sweep finds API keys that expire within 7
//! days, then within 1 day, and claims each warning once per token (a
//! conditional update of `api_tokens.expiry_warned_days`, so two instances
//! sweeping at once write one) in the transaction that writes its notice.
//! A token that already has less than 7 days left when first seen gets the
//! first warning at once (with the days it has left), as GitLab does.

use super::{
    outbox::{enqueue, Notice},
    NoticeKind,
};
use crate::types::{AccountId, Timestamp};

const DAY_MS: i64 = 86_400_000;
/// Tokens looked at per sweep; the rest wait for the next minute.
const BATCH: i64 = 2_000;

#[derive(sqlx::FromRow)]
struct Due {
    id: String,
    account_id: String,
    name: String,
    prefix: String,
    expires_at: i64,
}

/// Writes the warnings now due; returns how many tokens got one.
pub async fn warn_due(db: &crate::db::Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    let rows: Vec<Due> = sqlx::query_as(
        "SELECT id, account_id, name, prefix, expires_at FROM api_tokens \
         WHERE revoked_at IS NULL AND rotated_to IS NULL AND expires_at > $1 AND expires_at <= $2 \
         AND (expiry_warned_days IS NULL OR (expiry_warned_days > 1 AND expires_at <= $3)) \
         ORDER BY expires_at LIMIT $4",
    )
    .bind(now.millis())
    .bind(now.millis() + 7 * DAY_MS)
    .bind(now.millis() + DAY_MS)
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    let mut warned = 0;
    for row in rows {
        let days: i64 = if row.expires_at - now.millis() <= DAY_MS {
            1
        } else {
            7
        };
        let mut tx = db.begin().await?;
        let claimed = sqlx::query(
            "UPDATE api_tokens SET expiry_warned_days = $1 WHERE id = $2 \
             AND (expiry_warned_days IS NULL OR expiry_warned_days > $1)",
        )
        .bind(days)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if let (1, Some(owner)) = (claimed, AccountId::parse(&row.account_id)) {
            let mut notice = Notice::new(NoticeKind::TokenExpiring, owner)
                .token(&row.id, &row.name, &row.prefix)
                .count(days);
            notice.details.expires_at = Some(row.expires_at);
            let key = format!("token_expiring:{days}:{}", row.id);
            enqueue(&mut tx, &notice, &key, now).await?;
            warned += 1;
        }
        tx.commit().await?;
    }
    Ok(warned)
}
