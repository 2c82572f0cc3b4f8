//! The rows behind webhooks and the small reads every part shares.

use crate::db::Db;

/// An endpoint as the feed and the sender read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub account_id: String,
    pub all_accounts: i64,
    pub url: String,
    pub description: String,
    pub events: String,
    pub batch_size: i64,
    pub secret_sealed: String,
    pub old_secret_sealed: Option<String>,
    pub old_secret_until: Option<i64>,
    pub state: String,
    pub audit_cursor: i64,
    pub notice_cursor: i64,
    pub failing_since: Option<i64>,
}

pub const ENDPOINT_COLUMNS: &str = "id, account_id, all_accounts, url, description, events, batch_size, \
     secret_sealed, old_secret_sealed, old_secret_until, state, audit_cursor, notice_cursor, failing_since";

impl EndpointRow {
    /// The event types it asked for.
    pub fn patterns(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    /// Its name in messages: the description, or the URL's host.
    pub fn label(&self) -> String {
        if !self.description.trim().is_empty() {
            return self.description.clone();
        }
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| self.id.clone())
    }
}

/// The endpoint `id`, whoever owns it (the sender's read; doors filter by
/// owner in `service`).
pub async fn endpoint(db: &Db, id: &str) -> Result<Option<EndpointRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A delivery as the sender reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub seq: i64,
    pub event_type: String,
    pub payload: String,
    pub attempts: i64,
    pub first_attempt_at: Option<i64>,
    pub next_attempt_at: i64,
    pub batch_id: Option<String>,
}

pub const DELIVERY_COLUMNS: &str =
    "id, seq, event_type, payload, attempts, first_attempt_at, next_attempt_at, batch_id";

/// The two heads the cursors chase: the audit log's last sequence number
/// and the notification feed's. Every row at or below them is committed
/// (both counters stay locked until their writer commits).
pub async fn heads(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let audit: i64 = sqlx::query_scalar("SELECT last_seq FROM audit_head WHERE id = 1")
        .fetch_one(db)
        .await?;
    let feed: i64 = sqlx::query_scalar("SELECT last_seq FROM notification_feed_head WHERE id = 1")
        .fetch_one(db)
        .await?;
    Ok((audit, feed))
}

/// Deliveries per endpoint state and delivery state, for /metrics.
pub async fn counts(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.state, d.state, COUNT(*) FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id GROUP BY e.state, d.state",
    )
    .fetch_all(db)
    .await
}
