//! The loop that sends webhooks, on every instance: once a second (or at
//! once when woken) it finds the active endpoints with something to do
//! (cursors behind the heads, or a delivery due) that no instance holds,
//! and works each in a task of its own, at most [`WORKERS`] at a time. An
//! endpoint is worked by one instance at a time (a lease in its row, renewed
//! each step), so its deliveries stay in order; a slow or failing endpoint
//! holds only its own task.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, LazyLock, Mutex,
    },
    time::Duration,
};

use tokio::sync::{Notify, Semaphore};

use super::{
    deliver::{self, Step},
    feed,
    store::{self, heads},
};
use crate::{config::Config, db::Db, state::AppState, types::Timestamp};

/// Endpoints worked at once by one instance.
pub const WORKERS: usize = 32;
/// How long a lease lasts without renewal (a step is at most ~10 s).
const LEASE_MS: i64 = 60_000;
/// Steps one task takes before it lets the endpoint go (then picked again).
const MAX_STEPS: usize = 1_000;
/// Endpoints looked at per round.
const ROUND: i64 = 500;
const POLL: Duration = Duration::from_secs(1);

/// This process's name in leases.
static INSTANCE: LazyLock<String> = LazyLock::new(|| uuid::Uuid::now_v7().to_string());

/// Wakes the loop at once (a test event, a resend); shared by the state.
#[derive(Default)]
pub struct Wake {
    notify: Notify,
    running: AtomicBool,
}

impl Wake {
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Whether this process runs the loop.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

async fn lease(db: &Db, id: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE webhook_endpoints SET lease_until = $1, lease_owner = $2 \
         WHERE id = $3 AND state = 'active' AND (lease_until < $4 OR lease_owner = $2)",
    )
    .bind(now.millis() + LEASE_MS)
    .bind(INSTANCE.as_str())
    .bind(id)
    .bind(now.millis())
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

async fn release(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE webhook_endpoints SET lease_until = 0 WHERE id = $1 AND lease_owner = $2")
        .bind(id)
        .bind(INSTANCE.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// Works endpoint `id` until it has nothing due: turns what its cursors
/// passed into deliveries and sends them in order. `at`: the time to
/// schedule by (tests); none, the clock.
pub async fn work(
    db: &Db,
    config: &Config,
    id: &str,
    at: Option<Timestamp>,
) -> Result<u64, sqlx::Error> {
    let clock = || at.unwrap_or_else(Timestamp::now);
    let mut sent = 0;
    for _ in 0..MAX_STEPS {
        let now = clock();
        if !lease(db, id, now).await? {
            break;
        }
        let Some(endpoint) = store::endpoint(db, id).await? else {
            break;
        };
        let filled = feed::fill(db, &endpoint, &config.public_url, now).await?;
        match deliver::step(db, config, &endpoint, now).await? {
            Step::Idle if filled == 0 => break,
            Step::Idle => {}
            Step::Delivered(n) | Step::GaveUp(n) => sent += n,
            Step::Waiting(_) | Step::Retry | Step::Disabled => break,
        }
    }
    release(db, id).await?;
    Ok(sent)
}

/// The active endpoints with something to do that no instance holds.
async fn due(db: &Db, now: Timestamp) -> Result<Vec<String>, sqlx::Error> {
    let (audit, feed) = heads(db).await?;
    sqlx::query_scalar(&format!(
        "SELECT e.id FROM webhook_endpoints e WHERE e.state = 'active' AND e.lease_until < $1 \
         AND (e.audit_cursor < $2 OR e.notice_cursor < $3 OR EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.next_attempt_at <= $1)) \
         ORDER BY e.id LIMIT {ROUND}"
    ))
    .bind(now.millis())
    .bind(audit)
    .bind(feed)
    .fetch_all(db)
    .await
}

/// Works every endpoint with something due, one after another, scheduling
/// by `now` (the tests' way to step through retries).
pub async fn run_due(state: &AppState, now: Timestamp) -> Result<u64, sqlx::Error> {
    let mut sent = 0;
    for id in due(&state.db, now).await? {
        sent += work(&state.db, &state.config, &id, Some(now)).await?;
    }
    Ok(sent)
}

/// Starts the loop; it runs until the process ends.
pub fn spawn(state: AppState) {
    state.webhooks.running.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        let workers = Arc::new(Semaphore::new(WORKERS));
        loop {
            tokio::select! {
                _ = state.webhooks.notify.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
            let ids = match due(&state.db, Timestamp::now()).await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook endpoints unreadable; will retry");
                    continue;
                }
            };
            for id in ids {
                {
                    let Ok(mut busy) = busy.lock() else { continue };
                    if !busy.insert(id.clone()) {
                        continue;
                    }
                }
                let (state, busy, workers) = (state.clone(), busy.clone(), workers.clone());
                tokio::spawn(async move {
                    if let Ok(_permit) = workers.acquire().await {
                        if let Err(e) = work(&state.db, &state.config, &id, None).await {
                            tracing::warn!(endpoint = %id, error = %e, "webhook delivery step failed; will retry");
                        }
                    }
                    if let Ok(mut busy) = busy.lock() {
                        busy.remove(&id);
                    }
                });
            }
        }
    });
}
