//! One attempt at an endpoint's next delivery, and what its answer means.
//!
//! Deliveries go out in the endpoint's order: the lowest pending sequence
//! number first, and nothing after it until it is delivered or given up
//! (a failing event holds back the ones behind it for up to 24 hours). A
//! batching endpoint takes up to its batch size of them as one JSON array
//! (the batch keeps its `webhook-id` across retries).
//!
//! Each attempt resolves the URL again through [`crate::outbound`]'s guard,
//! is signed afresh (a new `webhook-timestamp`, the same `webhook-id`), and
//! waits at most [`TIMEOUT`]. A 2xx is delivered; `410 Gone` disables the
//! endpoint; a `Retry-After` (on 429 or 503) sets the next attempt; any
//! other answer or none is retried with exponential backoff and jitter
//! ([`backoff`]) until 24 hours after the first attempt, then failed. An
//! endpoint with no success for 3 days is disabled and its owner notified.

use std::time::{Duration, Instant};

use super::{
    secret,
    store::{DeliveryRow, EndpointRow, DELIVERY_COLUMNS},
    MAX_BATCH,
};
use crate::{config::Config, db::Db, outbound, types::Timestamp};

/// How long one attempt may take, connection and answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// A delivery is retried until this long after its first attempt.
pub const GIVE_UP_MS: i64 = 24 * 3600 * 1000;
/// An endpoint with no success for this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 3 * 24 * 3600 * 1000;
/// The first retry's delay; each next one doubles it, up to [`MAX_DELAY_MS`].
const FIRST_DELAY_MS: i64 = 5_000;
const MAX_DELAY_MS: i64 = 2 * 3600 * 1000;
/// Bytes of an answer read (and thrown away).
const MAX_ANSWER: usize = 4 * 1024;

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing pending.
    Idle,
    /// The next delivery is due at this time (milliseconds).
    Waiting(i64),
    /// This many events were delivered (a batch counts each).
    Delivered(u64),
    /// The attempt failed; it is due again later.
    Retry,
    /// Deliveries were given up (failed) after 24 hours.
    GaveUp(u64),
    /// The endpoint was disabled (`410 Gone` or 3 days of failure).
    Disabled,
}

/// The delay before the attempt after `attempts` failed ones: doubling from
/// 5 seconds to at most 2 hours, then ±20 % at random so retries of many
/// endpoints spread out.
pub fn backoff(attempts: i64) -> i64 {
    let base = FIRST_DELAY_MS
        .saturating_mul(1_i64 << (attempts - 1).clamp(0, 30))
        .min(MAX_DELAY_MS);
    let spread = base / 5;
    base - spread + rand::random_range(0..=2 * spread)
}

/// A `Retry-After` header's delay in milliseconds: seconds, or an HTTP
/// date; at least a second, at most a day.
pub fn retry_after(value: &str, now: Timestamp) -> Option<i64> {
    let value = value.trim();
    let ms = match value.parse::<i64>() {
        Ok(secs) => secs.saturating_mul(1000),
        Err(_) => {
            let at =
                time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
                    .ok()?;
            (at.unix_timestamp() * 1000).saturating_sub(now.millis())
        }
    };
    Some(ms.clamp(1_000, GIVE_UP_MS))
}

/// What came back from one attempt.
struct Answer {
    status: Option<u16>,
    retry_after: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
}

/// Works `endpoint`'s next due delivery (or batch): one attempt at most.
pub async fn step(
    db: &Db,
    config: &Config,
    endpoint: &EndpointRow,
    now: Timestamp,
) -> Result<Step, sqlx::Error> {
    let head: Option<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'pending' \
         ORDER BY seq LIMIT 1"
    ))
    .bind(&endpoint.id)
    .fetch_optional(db)
    .await?;
    let Some(head) = head else {
        return Ok(Step::Idle);
    };
    if head.next_attempt_at > now.millis() {
        return Ok(Step::Waiting(head.next_attempt_at));
    }
    let rows = batch(db, endpoint, head).await?;
    let Some(first) = rows.first() else {
        return Ok(Step::Idle);
    };
    if first
        .first_attempt_at
        .is_some_and(|t| now.millis() - t >= GIVE_UP_MS)
    {
        let n = settle(db, &rows, "failed", None, now).await?;
        metrics::counter!("webhook_deliveries_failed_total").increment(n);
        return Ok(Step::GaveUp(n));
    }
    let (id, body) = match (&first.batch_id, rows.len()) {
        (Some(batch), _) if endpoint.batch_size > 1 => (
            batch.clone(),
            format!(
                "[{}]",
                rows.iter()
                    .map(|r| r.payload.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        _ => (first.id.clone(), first.payload.clone()),
    };
    let answer = attempt(config, endpoint, &id, first, &body, now).await;
    record(db, config, endpoint, &rows, answer, now).await
}

/// The rows one attempt sends: the head alone, or for a batching endpoint
/// the batch the head belongs to (given an id the first time it is sent).
async fn batch(
    db: &Db,
    endpoint: &EndpointRow,
    head: DeliveryRow,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let size = endpoint.batch_size.clamp(1, MAX_BATCH);
    if size == 1 {
        return Ok(vec![head]);
    }
    let batch_id = match &head.batch_id {
        Some(b) => b.clone(),
        None => {
            let b = format!("msg_{}", uuid::Uuid::now_v7().simple());
            // The next `size` pending rows from the head on, not yet in a
            // batch (a resent row keeps its old batch id and goes alone).
            let last: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT MAX(seq) FROM (SELECT seq FROM webhook_deliveries WHERE endpoint_id = $1 \
                 AND state = 'pending' AND batch_id IS NULL AND seq >= $2 ORDER BY seq LIMIT {size}) AS next_rows"
            ))
            .bind(&endpoint.id)
            .bind(head.seq)
            .fetch_one(db)
            .await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET batch_id = $1 WHERE endpoint_id = $2 AND state = 'pending' \
                 AND batch_id IS NULL AND seq >= $3 AND seq <= $4",
            )
            .bind(&b)
            .bind(&endpoint.id)
            .bind(head.seq)
            .bind(last.unwrap_or(head.seq))
            .execute(db)
            .await?;
            b
        }
    };
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'pending' \
         AND batch_id = $2 ORDER BY seq LIMIT {MAX_BATCH}"
    ))
    .bind(&endpoint.id)
    .bind(&batch_id)
    .fetch_all(db)
    .await
}

/// Signs and sends `body` under `id`; never fails (what went wrong is the
/// answer).
async fn attempt(
    config: &Config,
    endpoint: &EndpointRow,
    id: &str,
    first: &DeliveryRow,
    body: &str,
    now: Timestamp,
) -> Answer {
    let started = Instant::now();
    let failed = |error: String| Answer {
        status: None,
        retry_after: None,
        latency_ms: started.elapsed().as_millis() as i64,
        error: Some(error),
    };
    let mut keys = Vec::with_capacity(2);
    match secret::open(&config.keys, &endpoint.id, &endpoint.secret_sealed) {
        Ok(k) => keys.push(k),
        Err(e) => {
            tracing::error!(endpoint = %endpoint.id, error = %e, "webhook secret does not open");
            return failed("the signing secret could not be opened (see the server's log)".into());
        }
    }
    if let (Some(old), Some(until)) = (&endpoint.old_secret_sealed, endpoint.old_secret_until) {
        if until > now.millis() {
            if let Ok(k) = secret::open(&config.keys, &endpoint.id, old) {
                keys.push(k);
            }
        }
    }
    let guarded = match outbound::guard(
        &config.webhook_allow_hosts,
        &endpoint.url,
        TIMEOUT,
        "Preqstation-Webhooks/1",
    )
    .await
    {
        Ok(g) => g,
        Err(e) => return failed(format!("not sent: the URL {e}")),
    };
    // The real clock, not the scheduler's: receivers check it.
    let timestamp = Timestamp::now().millis() / 1000;
    let signature = secret::sign(&keys, id, timestamp, body.as_bytes());
    let mut req = guarded
        .client
        .post(guarded.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature);
    if endpoint.batch_size <= 1 {
        req = req.header("webhook-sequence", first.seq.to_string());
    }
    let sent = tokio::time::timeout(TIMEOUT, async {
        let mut res = req.body(body.to_string()).send().await?;
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        // Read a little of the answer so the connection ends cleanly.
        let _ = outbound::read_limited(&mut res, MAX_ANSWER).await;
        Ok::<_, reqwest::Error>((status, retry))
    })
    .await;
    let latency_ms = started.elapsed().as_millis() as i64;
    match sent {
        Ok(Ok((status, retry))) => Answer {
            status: Some(status),
            retry_after: retry.filter(|_| matches!(status, 429 | 503)),
            latency_ms,
            error: (!(200..300).contains(&status)).then(|| {
                if (300..400).contains(&status) {
                    format!("answered {status} (redirects are not followed)")
                } else {
                    format!("answered {status}")
                }
            }),
        },
        Ok(Err(e)) => failed(format!("not delivered: {}", outbound::short(&e))),
        Err(_) => failed("not delivered: no answer within 10 seconds".into()),
    }
}

/// Writes what an attempt found, and what it means for the endpoint.
async fn record(
    db: &Db,
    config: &Config,
    endpoint: &EndpointRow,
    rows: &[DeliveryRow],
    answer: Answer,
    now: Timestamp,
) -> Result<Step, sqlx::Error> {
    let delivered = answer.error.is_none();
    let attempts = rows.first().map_or(1, |r| r.attempts + 1);
    let next = now.millis() + answer.retry_after.unwrap_or_else(|| backoff(attempts));
    for r in rows {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, \
             first_attempt_at = COALESCE(first_attempt_at, $2), last_attempt_at = $2, next_attempt_at = $3, \
             last_status = $4, last_latency_ms = $5, last_error = $6 WHERE id = $7 AND state = 'pending'",
        )
        .bind(if delivered { "delivered" } else { "pending" })
        .bind(now.millis())
        .bind(if delivered { now.millis() } else { next })
        .bind(answer.status.map(i64::from))
        .bind(answer.latency_ms)
        .bind(answer.error.as_deref().map(crate::audit::cut))
        .bind(&r.id)
        .execute(db)
        .await?;
    }
    let n = rows.len() as u64;
    if delivered {
        metrics::counter!("webhook_deliveries_delivered_total").increment(n);
        sqlx::query(
            "UPDATE webhook_endpoints SET last_success_at = $1, failing_since = NULL WHERE id = $2",
        )
        .bind(now.millis())
        .bind(&endpoint.id)
        .execute(db)
        .await?;
        return Ok(Step::Delivered(n));
    }
    metrics::counter!("webhook_attempts_failed_total").increment(1);
    tracing::info!(endpoint = %endpoint.id, status = ?answer.status, error = ?answer.error, "webhook attempt failed; will retry");
    if answer.status == Some(410) {
        super::service::disable_by_server(db, config, endpoint, "it answered 410 Gone", now)
            .await?;
        return Ok(Step::Disabled);
    }
    let since = endpoint.failing_since.unwrap_or(now.millis());
    if now.millis() - since >= DISABLE_AFTER_MS {
        super::service::disable_by_server(
            db,
            config,
            endpoint,
            "no delivery succeeded for 3 days",
            now,
        )
        .await?;
        return Ok(Step::Disabled);
    }
    if endpoint.failing_since.is_none() {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL",
        )
        .bind(now.millis())
        .bind(&endpoint.id)
        .execute(db)
        .await?;
    }
    Ok(Step::Retry)
}

/// Marks `rows` `state` without an attempt (given up).
async fn settle(
    db: &Db,
    rows: &[DeliveryRow],
    state: &str,
    error: Option<&str>,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    for r in rows {
        n += sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, \
             last_error = COALESCE($3, last_error) WHERE id = $4 AND state = 'pending'",
        )
        .bind(state)
        .bind(now.millis())
        .bind(error.unwrap_or("given up: not delivered within 24 hours of the first attempt"))
        .bind(&r.id)
        .execute(db)
        .await?
        .rows_affected();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_two_hours() {
        for _ in 0..50 {
            let one = backoff(1);
            assert!((4_000..=6_000).contains(&one), "{one}");
            let four = backoff(4);
            assert!((32_000..=48_000).contains(&four), "{four}");
            let many = backoff(60);
            assert!((5_760_000..=8_640_000).contains(&many), "{many}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_within_bounds() {
        let now = Timestamp(1_000_000_000_000);
        assert_eq!(retry_after("30", now), Some(30_000));
        assert_eq!(retry_after("0", now), Some(1_000));
        assert_eq!(retry_after("999999999", now), Some(GIVE_UP_MS));
        assert_eq!(retry_after("soon", now), None);
        let in_a_minute = time::OffsetDateTime::from_unix_timestamp(1_000_000_060)
            .unwrap()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        assert_eq!(retry_after(&in_a_minute, now), Some(60_000));
    }
}
