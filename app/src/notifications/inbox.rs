//! The dashboard's notifications: the unread count the bell shows, the list
//! (opening it marks what it shows read), and mark read / mark all read.
//! Every query is filtered by the signed-in account.

use super::{outbox::Details, Channel, NoticeKind, NotificationItem, NotificationPage, PAGE_SIZE};
use crate::types::{AccountId, Timestamp};

/// The bell's number: in-app notifications not read yet.
pub async fn unread_count(db: &crate::db::Db, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND channel = 'in_app' AND read_at IS NULL",
    )
    .bind(account.to_string())
    .fetch_one(db)
    .await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    details: String,
    created_at: i64,
    read_at: Option<i64>,
}

/// A page of the account's notifications, newest first, older than the
/// notification `before` (an id from the previous page) when given. The
/// shown ones are marked read (each item says whether it was read before).
pub async fn open_page(
    db: &crate::db::Db,
    account: AccountId,
    before: Option<&str>,
    now: Timestamp,
) -> Result<NotificationPage, sqlx::Error> {
    // Ids are UUIDv7: their order is their creation order.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, details, created_at, read_at FROM notifications \
         WHERE account_id = $1 AND channel = $2 AND ($3 = '' OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind(account.to_string())
    .bind(Channel::InApp.as_str())
    .bind(before.unwrap_or(""))
    .bind(PAGE_SIZE + 1)
    .fetch_all(db)
    .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows: Vec<Row> = rows.into_iter().take(PAGE_SIZE as usize).collect();
    let unread_ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.read_at.is_none())
        .map(|r| r.id.as_str())
        .collect();
    if let (Some(newest), Some(oldest)) = (unread_ids.first(), unread_ids.last()) {
        sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND channel = 'in_app' \
             AND read_at IS NULL AND id <= $3 AND id >= $4",
        )
        .bind(now.millis())
        .bind(account.to_string())
        .bind(*newest)
        .bind(*oldest)
        .execute(db)
        .await?;
    }
    let items: Vec<NotificationItem> = rows.iter().filter_map(item).collect();
    Ok(NotificationPage {
        next_before: more.then(|| rows.last().map(|r| r.id.clone())).flatten(),
        items,
        unread: unread_count(db, account).await?,
    })
}

fn item(r: &Row) -> Option<NotificationItem> {
    let kind = NoticeKind::parse(&r.kind)?;
    let details: Details = serde_json::from_str(&r.details).unwrap_or_default();
    let m = super::message::render(kind, &details);
    Some(NotificationItem {
        id: r.id.clone(),
        kind,
        title: m.title,
        text: m.text,
        next: m.next,
        link: m.link,
        at: Timestamp(r.created_at),
        was_read: r.read_at.is_some(),
    })
}

/// Marks one of the account's notifications read; another account's id
/// matches nothing (`false`).
pub async fn mark_read(
    db: &crate::db::Db,
    account: AccountId,
    id: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND account_id = $3 AND channel = 'in_app'",
    )
    .bind(now.millis())
    .bind(id)
    .bind(account.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Marks every notification of the account read; returns how many were unread.
pub async fn mark_all_read(
    db: &crate::db::Db,
    account: AccountId,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND channel = 'in_app' AND read_at IS NULL",
    )
    .bind(now.millis())
    .bind(account.to_string())
    .execute(db)
    .await?
    .rows_affected())
}
