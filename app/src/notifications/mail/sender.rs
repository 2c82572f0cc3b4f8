//! The sender: drains the email outbox on every instance, one email at a
//! time at the configured rate, reading the rows from the database (no
//! queue in memory, so a failing SMTP server cannot grow memory and a
//! restart loses nothing).
//!
//! At most once per row: a row is claimed (`pending` to `sending`, a
//! conditional update only one instance wins) before its email goes out, so
//! a crash between the two loses that email, never doubles it. A send the
//! server did not take is put back with a doubling delay (the first is
//! `PREQSTATION_SMTP_RETRY_SECS`, at most an hour) until a day after the
//! event; then it is `failed`, as a refusal (5xx) is at once.

use std::time::Duration;

use super::{compose, smtp, MailConfig};
use crate::{
    db::Db,
    notifications::{message, outbox::Details, NoticeKind},
    types::Timestamp,
};

/// A waiting email is given up this long after its event.
const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 3600 * 1000;
/// How often an idle sender looks for new rows.
const IDLE_POLL: Duration = Duration::from_secs(2);

#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    kind: String,
    details: String,
    created_at: i64,
    attempts: i64,
    account_id: String,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Nothing was waiting (or another instance took it).
    Idle,
    Delivered,
    /// Put back for a later attempt.
    Retry,
    Failed,
}

/// Claims the oldest due email and sends it.
pub async fn send_one(
    db: &Db,
    config: &MailConfig,
    public_url: &str,
    now: Timestamp,
) -> Result<Sent, sqlx::Error> {
    // The mark before the send: the oldest due row, taken by a conditional
    // update that only one instance wins (the loser sees no row this time).
    let claimed: Option<Claimed> = sqlx::query_as(
        "UPDATE notifications SET state = 'sending', attempts = attempts + 1, next_attempt_at = $1 \
         WHERE id = (SELECT id FROM notifications WHERE channel = 'email' AND state = 'pending' \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 1) AND state = 'pending' \
         RETURNING id, account_id, kind, details, created_at, attempts",
    )
    .bind(now.millis())
    .fetch_optional(db)
    .await?;
    let Some(row) = claimed else {
        return Ok(Sent::Idle);
    };
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM accounts WHERE id = $1")
        .bind(&row.account_id)
        .fetch_optional(db)
        .await?;
    let Some(email) = email else {
        return finish(
            db,
            &row.id,
            "failed",
            Some("the account no longer exists"),
            now,
        )
        .await;
    };
    let Some(kind) = NoticeKind::parse(&row.kind) else {
        return finish(
            db,
            &row.id,
            "failed",
            Some("unknown notification type"),
            now,
        )
        .await;
    };
    let details: Details = serde_json::from_str(&row.details).unwrap_or_default();
    let words = message::render(kind, &details);
    let envelope = compose::Envelope {
        from: &config.from,
        to: &email,
        public_url,
        id: &row.id,
    };
    let email = match compose::build(kind, &words, &envelope) {
        Ok(m) => m,
        Err(e) => return finish(db, &row.id, "failed", Some(&e.to_string()), now).await,
    };
    match smtp::send(config, &email).await {
        Ok(()) => {
            metrics::counter!("notifications_sent_total", "channel" => "email").increment(1);
            finish(db, &row.id, "sent", None, now).await
        }
        Err(smtp::SendError::NotTaken(e)) if now.millis() - row.created_at < GIVE_UP_AFTER_MS => {
            let delay = backoff(config.retry_after, row.attempts);
            tracing::warn!(notification = %row.id, attempt = row.attempts, retry_in_ms = delay, error = %e, "email not taken; will retry");
            metrics::counter!("notifications_retried_total", "channel" => "email").increment(1);
            sqlx::query(
                "UPDATE notifications SET state = 'pending', next_attempt_at = $1, last_error = $2 \
                 WHERE id = $3 AND state = 'sending'",
            )
            .bind(now.millis() + delay)
            .bind(crate::audit::cut(&e))
            .bind(&row.id)
            .execute(db)
            .await?;
            Ok(Sent::Retry)
        }
        Err(e) => {
            tracing::warn!(notification = %row.id, error = %e, "email not sent; given up");
            finish(db, &row.id, "failed", Some(&e.to_string()), now).await
        }
    }
}

/// The delay before attempt `attempts + 1`: doubling from `first`, at most
/// an hour, with up to a tenth more at random so instances spread out.
fn backoff(first: Duration, attempts: i64) -> i64 {
    let base = (first.as_millis() as i64).max(1);
    let delay = base
        .saturating_mul(1_i64 << (attempts - 1).clamp(0, 20))
        .min(MAX_BACKOFF_MS);
    delay + rand::random_range(0..=delay / 10)
}

async fn finish(
    db: &Db,
    id: &str,
    state: &str,
    error: Option<&str>,
    now: Timestamp,
) -> Result<Sent, sqlx::Error> {
    if state == "failed" {
        metrics::counter!("notifications_failed_total", "channel" => "email").increment(1);
    }
    sqlx::query(
        "UPDATE notifications SET state = $1, sent_at = $2, last_error = $3 WHERE id = $4 AND state = 'sending'",
    )
    .bind(state)
    .bind((state == "sent").then_some(now.millis()))
    .bind(error.map(crate::audit::cut))
    .bind(id)
    .execute(db)
    .await?;
    Ok(if state == "sent" {
        Sent::Delivered
    } else {
        Sent::Failed
    })
}

/// Sends until the process ends: one email per `60 / per_minute` seconds
/// at most, looking again every 2 seconds when nothing waits.
pub fn spawn(db: Db, config: MailConfig, public_url: String) {
    tokio::spawn(async move {
        let spacing = Duration::from_secs_f64(60.0 / f64::from(config.per_minute.max(1)));
        loop {
            let started = tokio::time::Instant::now();
            match send_one(&db, &config, &public_url, Timestamp::now()).await {
                Ok(Sent::Idle) => tokio::time::sleep(IDLE_POLL).await,
                Ok(_) => tokio::time::sleep_until(started + spacing).await,
                Err(e) => {
                    tracing::warn!(error = %e, "email outbox unreachable; will retry");
                    tokio::time::sleep(IDLE_POLL).await;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let first = std::time::Duration::from_secs(30);
        let one = super::backoff(first, 1);
        assert!((30_000..=33_000).contains(&one), "{one}");
        let three = super::backoff(first, 3);
        assert!((120_000..=132_000).contains(&three), "{three}");
        let many = super::backoff(first, 40);
        assert!((3_600_000..=3_960_000).contains(&many), "{many}");
    }
}
