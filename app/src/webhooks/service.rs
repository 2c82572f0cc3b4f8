//! What the doors call for webhooks: an account's endpoints (every
//! endpoint for an administrator), creating, changing, enabling, deleting,
//! rolling the secret, the delivery log, resending and a test event. Each
//! query carries the owner filter; each change is audited in its
//! transaction. A URL is audited by its origin only: a receiver's path may
//! carry its own secret (a chat relay's, for one).

use serde_json::json;

use super::{
    check_patterns, feed, secret,
    store::{heads, EndpointRow},
    CreatedEndpoint, DeliveryView, EndpointForm, EndpointView, MAX_BATCH, MAX_DESCRIPTION,
    MAX_ENDPOINTS, MAX_URL, TEST_EVENT,
};
use crate::{
    audit::{chain, ActorKind, AuditAction, NewEvent, Outcome},
    config::Config,
    db::Db,
    fault::{Fault, Input},
    notifications::{outbox::Notice, NoticeKind},
    outbound,
    state::AppState,
    types::{AccountId, Timestamp},
};

/// Who asks: an account, and whether it administers the server (then it
/// sees and manages every endpoint).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub account: AccountId,
    pub admin: bool,
}

/// A rolled secret's predecessor signs too for this long.
pub const ROLL_OVERLAP_MS: i64 = 24 * 3600 * 1000;
/// Delivery log rows per page.
pub const LOG_PAGE: i64 = 50;
/// Deliveries are kept this long.
pub const KEEP_DAYS: i64 = 30;
/// How long "send test event" waits for the attempt's answer.
const TEST_WAIT: std::time::Duration = std::time::Duration::from_secs(12);

fn db_fault(context: &'static str) -> impl Fn(sqlx::Error) -> Fault {
    move |e| Fault::db(context, e)
}

fn not_found() -> Fault {
    Fault::NotFound("No such webhook endpoint.".into())
}

/// `scheme://host[:port]` of a URL: what the audit log keeps of it.
fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A checked form.
struct Checked {
    url: String,
    description: String,
    events: Vec<String>,
    batch_size: i64,
    all_accounts: bool,
}

async fn check(config: &Config, caller: Caller, form: &EndpointForm) -> Result<Checked, Fault> {
    let url = form.url.trim();
    if url.len() > MAX_URL {
        return Err(Fault::invalid(
            Input::WebhookUrl,
            format!("The URL is longer than {MAX_URL} characters."),
        ));
    }
    let allow = &config.webhook_allow_hosts;
    outbound::check_shape(allow, url)
        .map_err(|e| Fault::invalid(Input::WebhookUrl, format!("The URL {e}.")))?;
    // Resolved now too, so a name pointing inside is refused at once (it
    // is checked again before every delivery).
    if let Err(outbound::Refused::Private) = outbound::guard(
        allow,
        url,
        std::time::Duration::from_secs(3),
        "Preqstation-Webhooks/1",
    )
    .await
    {
        return Err(Fault::invalid(
            Input::WebhookUrl,
            "The URL resolves to a private or reserved address; webhooks go to public addresses only.",
        ));
    }
    let description = form.description.trim();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        return Err(Fault::invalid(
            Input::WebhookDescription,
            format!("The description is at most {MAX_DESCRIPTION} characters, on one line."),
        ));
    }
    let events =
        check_patterns(&form.events).map_err(|m| Fault::invalid(Input::WebhookEvents, m))?;
    if !(1..=MAX_BATCH).contains(&form.batch_size) {
        return Err(Fault::invalid(
            Input::WebhookBatch,
            format!("Events per request is 1 (one event each) to {MAX_BATCH} (a JSON array)."),
        ));
    }
    if form.all_accounts && !caller.admin {
        return Err(Fault::Forbidden(
            "Only administrators can send every account's events.".into(),
        ));
    }
    Ok(Checked {
        url: url.to_string(),
        description: description.to_string(),
        events,
        batch_size: form.batch_size,
        all_accounts: form.all_accounts,
    })
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    account_id: String,
    url: String,
    description: String,
    events: String,
    batch_size: i64,
    all_accounts: i64,
    state: String,
    disabled_reason: Option<String>,
    created_at: i64,
    old_secret_until: Option<i64>,
    failing_since: Option<i64>,
    last_success_at: Option<i64>,
    email: Option<String>,
    pending: i64,
    failed: i64,
}

const VIEW_SELECT: &str = "SELECT e.id, e.account_id, e.url, e.description, e.events, e.batch_size, e.all_accounts, \
     e.state, e.disabled_reason, e.created_at, e.old_secret_until, e.failing_since, e.last_success_at, a.email, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending') AS pending, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'failed') AS failed \
     FROM webhook_endpoints e LEFT JOIN accounts a ON a.id = e.account_id \
     WHERE (e.account_id = $1 OR $2 = 1)";

fn view(r: ViewRow, caller: Caller, now: Timestamp) -> EndpointView {
    let mine = r.account_id == caller.account.to_string();
    EndpointView {
        id: r.id,
        url: r.url,
        description: r.description,
        events: serde_json::from_str(&r.events).unwrap_or_default(),
        batch_size: r.batch_size,
        all_accounts: r.all_accounts != 0,
        enabled: r.state == "active",
        disabled_reason: r.disabled_reason,
        owner_email: if mine { None } else { r.email },
        created_at: Timestamp(r.created_at),
        old_secret_until: r
            .old_secret_until
            .filter(|t| *t > now.millis())
            .map(Timestamp),
        failing_since: r.failing_since.map(Timestamp),
        last_success_at: r.last_success_at.map(Timestamp),
        pending: r.pending,
        failed: r.failed,
    }
}

/// The caller's endpoints (an administrator: every endpoint), newest first.
pub async fn list(db: &Db, caller: Caller, now: Timestamp) -> Result<Vec<EndpointView>, Fault> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "{VIEW_SELECT} ORDER BY e.created_at DESC LIMIT 1000"
    ))
    .bind(caller.account.to_string())
    .bind(i64::from(caller.admin))
    .fetch_all(db)
    .await
    .map_err(db_fault("list webhook endpoints"))?;
    Ok(rows.into_iter().map(|r| view(r, caller, now)).collect())
}

/// One endpoint the caller may see.
pub async fn get(db: &Db, caller: Caller, id: &str, now: Timestamp) -> Result<EndpointView, Fault> {
    let row: Option<ViewRow> = sqlx::query_as(&format!("{VIEW_SELECT} AND e.id = $3"))
        .bind(caller.account.to_string())
        .bind(i64::from(caller.admin))
        .bind(id)
        .fetch_optional(db)
        .await
        .map_err(db_fault("read webhook endpoint"))?;
    row.map(|r| view(r, caller, now)).ok_or_else(not_found)
}

/// The owner of endpoint `id`, if the caller may manage it.
async fn owned(db: &Db, caller: Caller, id: &str) -> Result<EndpointRow, Fault> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {} FROM webhook_endpoints WHERE id = $1 AND (account_id = $2 OR $3 = 1)",
        super::store::ENDPOINT_COLUMNS
    ))
    .bind(id)
    .bind(caller.account.to_string())
    .bind(i64::from(caller.admin))
    .fetch_optional(db)
    .await
    .map_err(db_fault("read webhook endpoint"))?;
    row.ok_or_else(not_found)
}

fn entry(base: &NewEvent, action: AuditAction, endpoint: &EndpointRow) -> NewEvent {
    base.with_action(action)
        .account(&endpoint.account_id)
        .target(&endpoint.id)
        .detail("url", origin(&endpoint.url))
}

/// Registers an endpoint for the caller; its secret is in the answer, once.
pub async fn create(
    state: &AppState,
    caller: Caller,
    form: &EndpointForm,
    base: &NewEvent,
    now: Timestamp,
) -> Result<CreatedEndpoint, Fault> {
    let c = check(&state.config, caller, form).await?;
    let db = &state.db;
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = $1")
            .bind(caller.account.to_string())
            .fetch_one(db)
            .await
            .map_err(db_fault("count webhook endpoints"))?;
    if count >= MAX_ENDPOINTS {
        return Err(Fault::Conflict(format!(
            "An account can have at most {MAX_ENDPOINTS} webhook endpoints; delete one first."
        )));
    }
    let id = format!("we_{}", uuid::Uuid::now_v7().simple());
    let text = secret::generate().map_err(|e| Fault::internal("webhook secret", e))?;
    let sealed = secret::seal(&state.config.keys, &id, &text)
        .map_err(|e| Fault::internal("seal webhook secret", e))?;
    let (audit_head, feed_head) = heads(db).await.map_err(db_fault("read heads"))?;
    let row = EndpointRow {
        id: id.clone(),
        account_id: caller.account.to_string(),
        all_accounts: i64::from(c.all_accounts),
        url: c.url,
        description: c.description,
        events: serde_json::to_string(&c.events).unwrap_or_else(|_| "[]".into()),
        batch_size: c.batch_size,
        secret_sealed: sealed,
        old_secret_sealed: None,
        old_secret_until: None,
        state: "active".into(),
        audit_cursor: audit_head,
        notice_cursor: feed_head,
        failing_since: None,
    };
    let mut tx = db
        .begin()
        .await
        .map_err(db_fault("create webhook endpoint"))?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, account_id, all_accounts, url, description, events, batch_size, \
         secret_sealed, state, created_at, updated_at, audit_cursor, notice_cursor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $9, $10, $11)",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(row.all_accounts)
    .bind(&row.url)
    .bind(&row.description)
    .bind(&row.events)
    .bind(row.batch_size)
    .bind(&row.secret_sealed)
    .bind(now.millis())
    .bind(row.audit_cursor)
    .bind(row.notice_cursor)
    .execute(&mut *tx)
    .await
    .map_err(db_fault("create webhook endpoint"))?;
    let event = entry(base, AuditAction::WebhookCreated, &row)
        .detail("events", &c.events)
        .detail("all_accounts", c.all_accounts);
    chain::append(&mut tx, &state.config.keys, &[event], now)
        .await
        .map_err(db_fault("audit webhook endpoint"))?;
    tx.commit()
        .await
        .map_err(db_fault("create webhook endpoint"))?;
    Ok(CreatedEndpoint {
        endpoint: get(db, caller, &id, now).await?,
        secret: text.to_string(),
    })
}

/// Changes an endpoint's URL, description, events, batch size or scope.
pub async fn update(
    state: &AppState,
    caller: Caller,
    id: &str,
    form: &EndpointForm,
    base: &NewEvent,
    now: Timestamp,
) -> Result<EndpointView, Fault> {
    let endpoint = owned(&state.db, caller, id).await?;
    let c = check(&state.config, caller, form).await?;
    let events = serde_json::to_string(&c.events).unwrap_or_else(|_| "[]".into());
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(db_fault("update webhook endpoint"))?;
    sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, description = $2, events = $3, batch_size = $4, \
         all_accounts = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&c.url)
    .bind(&c.description)
    .bind(&events)
    .bind(c.batch_size)
    .bind(i64::from(c.all_accounts))
    .bind(now.millis())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db_fault("update webhook endpoint"))?;
    let mut event = entry(base, AuditAction::WebhookUpdated, &endpoint)
        .detail("events", &c.events)
        .detail("all_accounts", c.all_accounts);
    if origin(&c.url) != origin(&endpoint.url) {
        event = event.detail("new_url", origin(&c.url));
    }
    chain::append(&mut tx, &state.config.keys, &[event], now)
        .await
        .map_err(db_fault("audit webhook endpoint"))?;
    tx.commit()
        .await
        .map_err(db_fault("update webhook endpoint"))?;
    get(&state.db, caller, id, now).await
}

/// Enables or disables an endpoint. Enabled again, it starts from the
/// present (what happened while it was off is not queued); what was
/// waiting is sent.
pub async fn set_enabled(
    state: &AppState,
    caller: Caller,
    id: &str,
    enabled: bool,
    base: &NewEvent,
    now: Timestamp,
) -> Result<EndpointView, Fault> {
    let endpoint = owned(&state.db, caller, id).await?;
    let (audit_head, feed_head) = heads(&state.db).await.map_err(db_fault("read heads"))?;
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(db_fault("enable webhook endpoint"))?;
    let changed = if enabled {
        sqlx::query(
            "UPDATE webhook_endpoints SET state = 'active', disabled_reason = NULL, failing_since = NULL, \
             audit_cursor = $1, notice_cursor = $2, updated_at = $3 WHERE id = $4 AND state <> 'active'",
        )
        .bind(audit_head)
        .bind(feed_head)
        .bind(now.millis())
        .bind(id)
    } else {
        sqlx::query(
            "UPDATE webhook_endpoints SET state = 'disabled', disabled_reason = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'active'",
        )
        .bind("disabled by its owner")
        .bind(now.millis())
        .bind(id)
    }
    .execute(&mut *tx)
    .await
    .map_err(db_fault("enable webhook endpoint"))?
    .rows_affected();
    if changed > 0 {
        let action = if enabled {
            AuditAction::WebhookUpdated
        } else {
            AuditAction::WebhookDisabled
        };
        let event = entry(base, action, &endpoint).detail(
            "reason",
            if enabled {
                "enabled by its owner"
            } else {
                "disabled by its owner"
            },
        );
        chain::append(&mut tx, &state.config.keys, &[event], now)
            .await
            .map_err(db_fault("audit webhook endpoint"))?;
    }
    tx.commit()
        .await
        .map_err(db_fault("enable webhook endpoint"))?;
    get(&state.db, caller, id, now).await
}

/// Deletes an endpoint and its delivery log.
pub async fn delete(
    state: &AppState,
    caller: Caller,
    id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let endpoint = owned(&state.db, caller, id).await?;
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(db_fault("delete webhook endpoint"))?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_fault("delete webhook endpoint"))?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_fault("delete webhook endpoint"))?;
    chain::append(
        &mut tx,
        &state.config.keys,
        &[entry(base, AuditAction::WebhookDeleted, &endpoint)],
        now,
    )
    .await
    .map_err(db_fault("audit webhook endpoint"))?;
    tx.commit()
        .await
        .map_err(db_fault("delete webhook endpoint"))
}

/// A new signing secret, shown once; the old one signs too for 24 hours
/// (every delivery carries both signatures), then only the new one.
pub async fn roll_secret(
    state: &AppState,
    caller: Caller,
    id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<CreatedEndpoint, Fault> {
    let endpoint = owned(&state.db, caller, id).await?;
    let text = secret::generate().map_err(|e| Fault::internal("webhook secret", e))?;
    let sealed = secret::seal(&state.config.keys, id, &text)
        .map_err(|e| Fault::internal("seal webhook secret", e))?;
    let until = now.millis() + ROLL_OVERLAP_MS;
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(db_fault("roll webhook secret"))?;
    sqlx::query(
        "UPDATE webhook_endpoints SET old_secret_sealed = secret_sealed, old_secret_until = $1, \
         secret_sealed = $2, updated_at = $3 WHERE id = $4 AND secret_sealed = $5",
    )
    .bind(until)
    .bind(&sealed)
    .bind(now.millis())
    .bind(id)
    .bind(&endpoint.secret_sealed)
    .execute(&mut *tx)
    .await
    .map_err(db_fault("roll webhook secret"))?;
    let event = entry(base, AuditAction::WebhookSecretRolled, &endpoint)
        .detail("old_until", Timestamp(until).rfc3339())
        .security(true);
    chain::append(&mut tx, &state.config.keys, &[event], now)
        .await
        .map_err(db_fault("audit webhook endpoint"))?;
    tx.commit().await.map_err(db_fault("roll webhook secret"))?;
    Ok(CreatedEndpoint {
        endpoint: get(&state.db, caller, id, now).await?,
        secret: text.to_string(),
    })
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: String,
    seq: i64,
    event_type: String,
    state: String,
    attempts: i64,
    created_at: i64,
    last_attempt_at: Option<i64>,
    next_attempt_at: i64,
    last_status: Option<i64>,
    last_latency_ms: Option<i64>,
    last_error: Option<String>,
}

impl From<LogRow> for DeliveryView {
    fn from(r: LogRow) -> Self {
        DeliveryView {
            id: r.id,
            sequence: r.seq,
            event_type: r.event_type,
            next_attempt_at: (r.state == "pending").then_some(Timestamp(r.next_attempt_at)),
            state: r.state,
            attempts: r.attempts,
            created_at: Timestamp(r.created_at),
            last_attempt_at: r.last_attempt_at.map(Timestamp),
            last_status: r.last_status,
            last_latency_ms: r.last_latency_ms,
            last_error: r.last_error,
        }
    }
}

const LOG_COLUMNS: &str =
    "id, seq, event_type, state, attempts, created_at, last_attempt_at, next_attempt_at, \
     last_status, last_latency_ms, last_error";

/// An endpoint's deliveries, newest first, [`LOG_PAGE`] at a time (before
/// sequence number `before`).
pub async fn deliveries(
    db: &Db,
    caller: Caller,
    id: &str,
    before: Option<i64>,
) -> Result<Vec<DeliveryView>, Fault> {
    owned(db, caller, id).await?;
    let rows: Vec<LogRow> = sqlx::query_as(&format!(
        "SELECT {LOG_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND seq < $2 \
         ORDER BY seq DESC LIMIT {LOG_PAGE}"
    ))
    .bind(id)
    .bind(before.unwrap_or(i64::MAX))
    .fetch_all(db)
    .await
    .map_err(db_fault("read webhook deliveries"))?;
    Ok(rows.into_iter().map(DeliveryView::from).collect())
}

async fn delivery(db: &Db, endpoint: &str, id: &str) -> Result<DeliveryView, Fault> {
    let row: Option<LogRow> = sqlx::query_as(&format!(
        "SELECT {LOG_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2"
    ))
    .bind(endpoint)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(db_fault("read webhook delivery"))?;
    row.map(DeliveryView::from)
        .ok_or_else(|| Fault::NotFound("No such delivery.".into()))
}

/// Waits (a little) for the dispatcher's first attempt at `delivery_id`.
async fn settled(
    state: &AppState,
    endpoint: &str,
    delivery_id: &str,
) -> Result<DeliveryView, Fault> {
    state.webhooks.wake();
    let until = tokio::time::Instant::now() + TEST_WAIT;
    loop {
        let d = delivery(&state.db, endpoint, delivery_id).await?;
        if d.last_attempt_at.is_some()
            || !state.webhooks.is_running()
            || tokio::time::Instant::now() >= until
        {
            return Ok(d);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Sends delivery `delivery_id` again, with the same `webhook-id` and
/// sequence number, before anything else waiting for the endpoint; its 24
/// hours of retries start again.
pub async fn resend(
    state: &AppState,
    caller: Caller,
    id: &str,
    delivery_id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<DeliveryView, Fault> {
    let endpoint = owned(&state.db, caller, id).await?;
    let before = delivery(&state.db, id, delivery_id).await?;
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(db_fault("resend webhook delivery"))?;
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1, first_attempt_at = NULL, \
         batch_id = NULL, last_attempt_at = NULL WHERE endpoint_id = $2 AND id = $3",
    )
    .bind(now.millis())
    .bind(id)
    .bind(delivery_id)
    .execute(&mut *tx)
    .await
    .map_err(db_fault("resend webhook delivery"))?;
    let event = entry(base, AuditAction::WebhookResent, &endpoint)
        .detail("delivery", delivery_id)
        .detail("event", &before.event_type);
    chain::append(&mut tx, &state.config.keys, &[event], now)
        .await
        .map_err(db_fault("audit webhook endpoint"))?;
    tx.commit()
        .await
        .map_err(db_fault("resend webhook delivery"))?;
    settled(state, id, delivery_id).await
}

/// Queues a `webhook.test` event behind what is waiting and, when this
/// server sends webhooks, waits up to 12 seconds for its first attempt.
pub async fn send_test(
    state: &AppState,
    caller: Caller,
    id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<DeliveryView, Fault> {
    let endpoint = owned(&state.db, caller, id).await?;
    if endpoint.state != "active" {
        return Err(Fault::Conflict(
            "Enable the endpoint before sending it a test event.".into(),
        ));
    }
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(db_fault("webhook test event"))?;
    let next: Option<i64> = sqlx::query_scalar(
        "UPDATE webhook_endpoints SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_fault("webhook test event"))?;
    let seq = next.ok_or_else(not_found)? - 1;
    let data = json!({
        "endpoint_id": id,
        "message": "A test event from Preqstation: if you can read this, the endpoint works.",
    });
    let delivery_id = feed::insert(&mut tx, id, seq, TEST_EVENT, now, data, now)
        .await
        .map_err(db_fault("webhook test event"))?;
    let event = entry(base, AuditAction::WebhookResent, &endpoint)
        .detail("delivery", &delivery_id)
        .detail("event", TEST_EVENT);
    chain::append(&mut tx, &state.config.keys, &[event], now)
        .await
        .map_err(db_fault("audit webhook endpoint"))?;
    tx.commit().await.map_err(db_fault("webhook test event"))?;
    settled(state, id, &delivery_id).await
}

/// Disables `endpoint` for the sender (`why`: `410 Gone`, three days of
/// failure), audits it and notifies its owner.
pub async fn disable_by_server(
    db: &Db,
    config: &Config,
    endpoint: &EndpointRow,
    why: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET state = 'disabled', disabled_reason = $1, updated_at = $2 \
         WHERE id = $3 AND state = 'active'",
    )
    .bind(why)
    .bind(now.millis())
    .bind(&endpoint.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed > 0 {
        tracing::warn!(endpoint = %endpoint.id, why, "webhook endpoint disabled");
        let base = NewEvent::new(
            AuditAction::WebhookDisabled,
            ActorKind::System,
            Outcome::Success,
        );
        let mut event = entry(&base, AuditAction::WebhookDisabled, endpoint).detail("reason", why);
        if let Some(owner) = AccountId::parse(&endpoint.account_id) {
            event = event.notify(
                Notice::new(NoticeKind::WebhookDisabled, owner)
                    .reason(endpoint.label())
                    .by(why),
            );
        }
        chain::append(&mut tx, &config.keys, &[event], now).await?;
    }
    tx.commit().await
}

/// Keeps the delivery log bounded: deliveries older than [`KEEP_DAYS`]
/// go, whatever their state (a pending one that old belongs to an endpoint
/// disabled long ago).
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM webhook_deliveries WHERE created_at < $1")
            .bind(now.plus_secs(-KEEP_DAYS * 86_400).millis())
            .execute(db)
            .await?
            .rows_affected(),
    )
}
