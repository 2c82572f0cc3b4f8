//! The write-behind queue for the API hot path (`token_used`, `auth_failed`,
//! `rate_limited`): requests hand events to a bounded channel (waiting for
//! room when it is full) and return; one task appends them in batches. `flush` waits until everything queued so far
//! is written; the binary calls it after a graceful shutdown (SIGTERM,
//! Ctrl-C), so nothing queued is lost then. On a crash (SIGKILL, power loss)
//! the events still in the queue, at most the last fraction of a second's
//! worth, are lost; owner actions are not affected, as they are written in the
//! same transaction as the change.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use super::{chain, NewEvent};
use crate::{db::Db, types::Timestamp};

/// Events held in memory before senders wait.
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
}

impl AuditQueue {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(db: Db) -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tokio::spawn(writer(db, rx));
        Self {
            tx,
            dropped: Arc::default(),
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
        let action = event.action.clone();
        match self
            .tx
            .send_timeout(Msg::Event(Box::new(event)), PUSH_WAIT)
            .await
        {
            Ok(()) => {}
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(%action, dropped_total = n, "audit queue full for {PUSH_WAIT:?}; event NOT recorded");
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => {
                tracing::error!(%action, "audit queue closed; event NOT recorded");
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

async fn writer(db: Db, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<NewEvent> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Event(e) => batch.push(*e),
                Msg::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        write(&db, &mut batch).await;
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
    write(&db, &mut batch).await;
}

async fn write(db: &Db, batch: &mut Vec<NewEvent>) {
    if batch.is_empty() {
        return;
    }
    for attempt in 1..=3 {
        match chain::append_now(db, batch, Timestamp::now()).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "audit batch write failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, lost = batch.len(), "audit batch could not be written");
                batch.clear();
            }
        }
    }
}
