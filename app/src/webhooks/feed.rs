//! Turning what an endpoint's cursors pass into its deliveries.
//!
//! An endpoint keeps two durable cursors: the last audit entry and the last
//! notification-feed row it has looked at. A step reads what lies between
//! each cursor and its head (at most [`STEP`] rows of each, oldest first),
//! keeps the events the endpoint asked for (its own account's, or every
//! account's for an administrator's endpoint), numbers them with the
//! endpoint's next sequence numbers and writes them as deliveries, moving
//! both cursors, in one transaction. A restart resumes from the cursors; a
//! burst waits in the tables it was written to, not in memory; an endpoint
//! never has more than [`WINDOW`] deliveries waiting.

use serde_json::json;

use super::{
    store::{heads, EndpointRow},
    wanted,
};
use crate::{
    db::Db,
    notifications::{message, outbox::Details, NoticeKind},
    types::Timestamp,
};

/// Source rows read per step, from each source.
const STEP: i64 = 200;
/// Deliveries an endpoint may have waiting before its cursors stop.
pub const WINDOW: i64 = 500;

#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    id: String,
    at: i64,
    account_id: Option<String>,
    actor_kind: String,
    actor: Option<String>,
    action: String,
    target: Option<String>,
    outcome: String,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    token_prefix: Option<String>,
    details: Option<String>,
    security: i64,
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    seq: i64,
    account_id: String,
    kind: String,
    event_key: String,
    details: String,
    created_at: i64,
}

/// An event ready to become a delivery.
struct Event {
    at: i64,
    event_type: String,
    data: serde_json::Value,
}

/// The body of one event: the Standard Webhooks payload (`type`,
/// `timestamp`, `data`) and the endpoint's `sequence` number.
pub fn payload(event_type: &str, at: Timestamp, sequence: i64, data: serde_json::Value) -> String {
    json!({
        "type": event_type,
        "timestamp": at.rfc3339(),
        "sequence": sequence,
        "data": data,
    })
    .to_string()
}

fn audit_event(r: AuditRow) -> Event {
    let details: serde_json::Value = r
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_else(|| json!({}));
    Event {
        at: r.at,
        event_type: format!("audit.{}", r.action),
        data: json!({
            "id": r.id,
            "audit_seq": r.seq,
            "at": Timestamp(r.at).rfc3339(),
            "account_id": r.account_id,
            "actor_kind": r.actor_kind,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "outcome": r.outcome,
            "ip": r.ip,
            "user_agent": r.user_agent,
            "request_id": r.request_id,
            "token_prefix": r.token_prefix,
            "security": r.security != 0,
            "details": details,
        }),
    }
}

fn notice_event(r: FeedRow, public_url: &str) -> Option<Event> {
    let kind = NoticeKind::parse(&r.kind)?;
    let details: Details = serde_json::from_str(&r.details).unwrap_or_default();
    let words = message::render(kind, &details);
    let base = public_url.trim_end_matches('/');
    Some(Event {
        at: r.created_at,
        event_type: format!("notification.{}", r.kind),
        data: json!({
            "id": r.event_key,
            "kind": r.kind,
            "account_id": r.account_id,
            "security": kind.is_security(),
            "title": words.title,
            "text": words.text,
            "next": words.next,
            "link": words.link.map(|(path, _)| format!("{base}{path}")),
            "details": serde_json::to_value(&details).unwrap_or_else(|_| json!({})),
        }),
    })
}

/// One step for `endpoint`: returns how many deliveries it wrote (0 when
/// the cursors are at the heads, the window is full, or another instance
/// moved them first).
pub async fn fill(
    db: &Db,
    endpoint: &EndpointRow,
    public_url: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let (audit_head, feed_head) = heads(db).await?;
    if endpoint.audit_cursor >= audit_head && endpoint.notice_cursor >= feed_head {
        return Ok(0);
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'pending'",
    )
    .bind(&endpoint.id)
    .fetch_one(db)
    .await?;
    if waiting >= WINDOW {
        return Ok(0);
    }
    let patterns = endpoint.patterns();
    let every = endpoint.all_accounts != 0;
    let owner_filter = if every { "" } else { " AND account_id = $3" };
    let mut events: Vec<(u8, i64, Event)> = Vec::new();

    let mut audit_to = audit_head;
    let wants_audit = patterns.iter().any(|p| p == "*" || p.starts_with("audit."));
    if wants_audit && endpoint.audit_cursor < audit_head {
        let sql = format!(
            "SELECT seq, id, at, account_id, actor_kind, actor, action, target, outcome, ip, user_agent, \
             request_id, token_prefix, details, security FROM audit_events \
             WHERE seq > $1 AND seq <= $2{owner_filter} ORDER BY seq LIMIT {STEP}"
        );
        let rows = sqlx::query_as::<_, AuditRow>(&sql)
            .bind(endpoint.audit_cursor)
            .bind(audit_head);
        let rows = if every {
            rows
        } else {
            rows.bind(&endpoint.account_id)
        }
        .fetch_all(db)
        .await?;
        if rows.len() as i64 == STEP {
            audit_to = rows.last().map_or(audit_head, |r| r.seq);
        }
        events.extend(rows.into_iter().map(|r| (0, r.seq, audit_event(r))));
    }

    let mut feed_to = feed_head;
    let wants_notices = patterns
        .iter()
        .any(|p| p == "*" || p.starts_with("notification."));
    if wants_notices && endpoint.notice_cursor < feed_head {
        let sql = format!(
            "SELECT seq, account_id, kind, event_key, details, created_at FROM notification_feed \
             WHERE seq > $1 AND seq <= $2{owner_filter} ORDER BY seq LIMIT {STEP}"
        );
        let rows = sqlx::query_as::<_, FeedRow>(&sql)
            .bind(endpoint.notice_cursor)
            .bind(feed_head);
        let rows = if every {
            rows
        } else {
            rows.bind(&endpoint.account_id)
        }
        .fetch_all(db)
        .await?;
        if rows.len() as i64 == STEP {
            feed_to = rows.last().map_or(feed_head, |r| r.seq);
        }
        events.extend(
            rows.into_iter()
                .filter_map(|r| Some((1, r.seq, notice_event(r, public_url)?))),
        );
    }

    // One order for both sources: by time, then audit before notification
    // (an entry and the notice it set off share a time), then source order.
    events.retain(|(_, _, e)| wanted(&patterns, &e.event_type));
    events.sort_by_key(|(source, seq, e)| (e.at, *source, *seq));
    let n = events.len() as i64;

    let mut tx = db.begin().await?;
    // The write first (SQLite takes its lock here): the cursors move only
    // from where this step read them, and the numbers are taken here.
    let next: Option<i64> = sqlx::query_scalar(
        "UPDATE webhook_endpoints SET audit_cursor = $1, notice_cursor = $2, next_seq = next_seq + $3 \
         WHERE id = $4 AND audit_cursor = $5 AND notice_cursor = $6 AND state = 'active' RETURNING next_seq",
    )
    .bind(audit_to.max(endpoint.audit_cursor))
    .bind(feed_to.max(endpoint.notice_cursor))
    .bind(n)
    .bind(&endpoint.id)
    .bind(endpoint.audit_cursor)
    .bind(endpoint.notice_cursor)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(next) = next else {
        tx.rollback().await?;
        return Ok(0);
    };
    let first = next - n;
    for (i, (_, _, e)) in events.into_iter().enumerate() {
        let seq = first + i as i64;
        insert(
            &mut tx,
            &endpoint.id,
            seq,
            &e.event_type,
            Timestamp(e.at),
            e.data,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if n > 0 {
        metrics::counter!("webhook_deliveries_queued_total").increment(n as u64);
    }
    Ok(n as u64)
}

/// Writes one delivery numbered `seq` for `endpoint_id`, due now.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    endpoint_id: &str,
    seq: i64,
    event_type: &str,
    at: Timestamp,
    data: serde_json::Value,
    now: Timestamp,
) -> Result<String, sqlx::Error> {
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, seq, event_type, payload, created_at, state, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
    )
    .bind(&id)
    .bind(endpoint_id)
    .bind(seq)
    .bind(event_type)
    .bind(payload(event_type, at, seq, data))
    .bind(at.millis())
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
