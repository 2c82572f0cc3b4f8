//! The write-behind queue for the API hot path (`token_used`, `auth_failed`,
//! `rate_limited`): requests hand events to a bounded channel and return;
//! one task appends them in batches.
//!
//! Nothing is lost while the process runs:
//! - an API request takes its `token_used` room ([`AuditQueue::reserve`])
//!   before its handler runs, so the entry can always be queued afterwards;
//!   a request that finds no room within [`PUSH_WAIT`] is answered 503
//!   without doing anything (backpressure, not growth);
//! - the writer keeps a batch that failed for a transient reason (the
//!   database unreachable, paused or busy) and retries it, with backoff,
//!   until it is written; meanwhile the queue fills and requests wait.
//!
//! `flush` waits until everything queued so far is written; the binary calls
//! it after a graceful shutdown (SIGTERM, Ctrl-C). On a crash (SIGKILL, power
//! loss) the events still in the queue, at most the last fraction of a
//! second's worth, are lost; owner actions are not affected, as they are
//! written in the same transaction as the change.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use super::{chain, noise::Noise, NewEvent};
use crate::{db::Db, keys::Keyring, types::Timestamp};

/// Events held in memory before senders wait, by default
/// (`PREQSTATION_AUDIT_QUEUE_CAPACITY`).
pub const CAPACITY: usize = 10_000;
const BATCH: usize = 500;
/// The longest a request waits for room in a full queue.
pub const PUSH_WAIT: Duration = Duration::from_secs(2);

enum Msg {
    Event(Box<NewEvent>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditQueue {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
    /// Repeated anonymous failures, counted before they take queue room.
    noise: Arc<std::sync::Mutex<Noise>>,
}

impl AuditQueue {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(db: Db, keys: Keyring, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let noise = Arc::new(std::sync::Mutex::new(Noise::default()));
        tokio::spawn(writer(db, keys, rx, noise.clone()));
        Self {
            tx,
            dropped: Arc::default(),
            noise,
        }
    }

    /// Queues an event. When the queue is full the caller waits for room
    /// (backpressure), at most [`PUSH_WAIT`]: nothing grows beyond
    /// [`CAPACITY`], and a request whose change already committed is not
    /// turned into a 503 by a queue that cannot drain (the writer's own
    /// database waits are bounded by the pool's and the database's
    /// timeouts). An event that still finds no room is reported at error
    /// level with the running count of such events, never dropped silently.
    pub async fn push(&self, mut event: NewEvent) {
        event.at.get_or_insert_with(Timestamp::now);
        if super::noise::is_noise(&event) {
            let mut closed = Vec::new();
            let admitted = match self.noise.lock() {
                Ok(mut noise) => noise.admit(event, std::time::Instant::now(), &mut closed),
                Err(poisoned) => {
                    poisoned
                        .into_inner()
                        .admit(event, std::time::Instant::now(), &mut closed)
                }
            };
            for e in closed.into_iter().chain(admitted) {
                self.send(e).await;
            }
            return;
        }
        self.send(event).await;
    }

    /// Room for one event, taken before the work it will record: a request
    /// holding it can always queue its entry afterwards, without waiting.
    /// `None` when the queue stayed full for [`PUSH_WAIT`] (the writer cannot
    /// keep up or the database is away): the caller answers 503.
    pub async fn reserve(&self) -> Option<Reserved<'_>> {
        match self.room().await {
            Ok(room) => Some(room),
            Err(NoRoom::Closed) => None,
            Err(NoRoom::Full) => {
                metrics::counter!("audit_queue_full_total").increment(1);
                tracing::warn!("audit queue full for {PUSH_WAIT:?}; request answered 503");
                None
            }
        }
    }

    /// The one way into the queue: room at once, or after waiting at most
    /// [`PUSH_WAIT`] (counted as a wait).
    async fn room(&self) -> Result<Reserved<'_>, NoRoom> {
        match self.tx.try_reserve() {
            Ok(permit) => return Ok(Reserved(permit)),
            Err(mpsc::error::TrySendError::Full(())) => {
                metrics::counter!("audit_queue_waits_total").increment(1);
            }
            Err(mpsc::error::TrySendError::Closed(())) => return Err(NoRoom::Closed),
        }
        match tokio::time::timeout(PUSH_WAIT, self.tx.reserve()).await {
            Ok(Ok(permit)) => Ok(Reserved(permit)),
            Ok(Err(_closed)) => Err(NoRoom::Closed),
            Err(_elapsed) => Err(NoRoom::Full),
        }
    }

    /// Events waiting for the writer.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    async fn send(&self, event: NewEvent) {
        match self.room().await {
            Ok(room) => room.send(event),
            Err(NoRoom::Full) => {
                metrics::counter!("audit_events_dropped_total").increment(1);
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(action = %event.action, dropped_total = n, "audit queue full for {PUSH_WAIT:?}; event NOT recorded");
            }
            Err(NoRoom::Closed) => {
                tracing::error!(action = %event.action, "audit queue closed; event NOT recorded");
            }
        }
    }

    /// Returns once every event queued before the call is written, or
    /// `false` if that did not happen within `limit`.
    pub async fn flush(&self, limit: std::time::Duration) -> bool {
        let (done, wait) = oneshot::channel();
        let run = async { self.tx.send(Msg::Flush(done)).await.is_ok() && wait.await.is_ok() };
        tokio::time::timeout(limit, run).await.unwrap_or(false)
    }
}

enum NoRoom {
    /// Still full after [`PUSH_WAIT`].
    Full,
    /// The writer has stopped (shutdown).
    Closed,
}

/// Room in the queue for one event (see [`AuditQueue::reserve`]); dropping it
/// unused gives the room back.
pub struct Reserved<'a>(mpsc::Permit<'a, Msg>);

impl Reserved<'_> {
    /// Queues the event in the room taken: never waits, never drops.
    pub fn send(self, mut event: NewEvent) {
        event.at.get_or_insert_with(Timestamp::now);
        self.0.send(Msg::Event(Box::new(event)));
    }
}

/// The summaries of noise windows that ended (all of them with `None`).
fn closed_noise(noise: &std::sync::Mutex<Noise>, now: Option<std::time::Instant>) -> Vec<NewEvent> {
    match noise.lock() {
        Ok(mut n) => n.close(now),
        Err(poisoned) => poisoned.into_inner().close(now),
    }
}

async fn writer(
    db: Db,
    keys: Keyring,
    mut rx: mpsc::Receiver<Msg>,
    noise: Arc<std::sync::Mutex<Noise>>,
) {
    let mut batch: Vec<NewEvent> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        let first = tokio::select! {
            msg = rx.recv() => match msg {
                Some(m) => m,
                None => break,
            },
            _ = tick.tick() => {
                batch.extend(closed_noise(&noise, Some(std::time::Instant::now())));
                write(&db, &keys, &mut batch).await;
                continue;
            }
        };
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Event(e) => batch.push(*e),
                // A flush also writes the counts of windows still open.
                Msg::Flush(done) => {
                    batch.extend(closed_noise(&noise, None));
                    waiting.push(done);
                }
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        write(&db, &keys, &mut batch).await;
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
    batch.extend(closed_noise(&noise, None));
    write(&db, &keys, &mut batch).await;
}

/// Writes the batch. A transient failure (the database unreachable, paused,
/// busy) is retried with backoff until it passes, keeping the batch: the
/// queue fills meanwhile and requests wait or get 503, nothing is dropped.
/// Any other failure is retried twice, then the events are written one by
/// one so that only an event the database refuses is lost, each logged at
/// error level and counted.
async fn write(db: &Db, keys: &Keyring, batch: &mut Vec<NewEvent>) {
    if batch.is_empty() {
        return;
    }
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        match chain::append_now(db, keys, batch, Timestamp::now()).await {
            Ok(()) => {
                metrics::counter!("audit_events_written_total").increment(batch.len() as u64);
                metrics::histogram!("audit_flush_size").record(batch.len() as f64);
                batch.clear();
                return;
            }
            Err(e) if crate::db::is_transient(&e) || attempt < 3 => {
                metrics::counter!("audit_write_retries_total").increment(1);
                tracing::warn!(error = %e, attempt, waiting = batch.len(), "audit batch write failed; retrying");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "audit batch refused; writing its events one by one");
                break;
            }
        }
    }
    for event in batch.drain(..) {
        let one = std::slice::from_ref(&event);
        match chain::append_now(db, keys, one, Timestamp::now()).await {
            Ok(()) => metrics::counter!("audit_events_written_total").increment(1),
            Err(e) => {
                metrics::counter!("audit_events_dropped_total").increment(1);
                tracing::error!(error = %e, action = %event.action, "audit event refused by the database; NOT recorded");
            }
        }
    }
}

/// 200 ms after the first failure, doubling, at most 2 s between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5)).min(2_000))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff(1).as_millis(), 200);
        assert_eq!(super::backoff(2).as_millis(), 400);
        assert_eq!(super::backoff(30).as_millis(), 2_000);
    }
}
