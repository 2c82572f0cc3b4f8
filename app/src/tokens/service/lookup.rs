//! Bearer-token lookups, batched: the requests that arrive while a lookup is
//! under way share the next statement (`WHERE token_hash IN (...)`).
//!
//! Every request still reads its token's row from the database, in a
//! statement that starts after the request arrived, so a revocation that
//! committed before the request was sent is seen, on every instance: this
//! is not a cache. What is shared is the round trip: one hand-off to a
//! SQLite worker thread, or one PostgreSQL statement, for as many requests
//! as were waiting (issue 11, docs/benchmarks.md). Nothing waits to fill a
//! batch: an idle server runs each lookup at once, alone.
//!
//! Bounded: at most [`QUEUE`] lookups wait, a batch holds at most
//! [`MAX_BATCH`], at most as many batches run as there are lookup
//! connections ([`HotConnections`]), and a caller waits at most the pool's
//! acquire timeout for its answer (then 503, as for a pool timeout).

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use crate::db::{Db, HotConnection, HotConnections};

/// Lookups waiting for a batch before callers wait for room.
pub const QUEUE: usize = 4096;
/// The most hashes in one statement.
pub const MAX_BATCH: usize = 64;

/// A token's row as authentication reads it, with its owner's.
#[derive(Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub token_hash: String,
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub rotated_to: Option<String>,
    pub rotated_from: Option<String>,
    pub grace_until: Option<i64>,
    pub first_used_at: Option<i64>,
    pub successor_used_at: Option<i64>,
    pub email: String,
    pub disabled_at: Option<i64>,
    pub allowed_ips: Option<String>,
    pub projects_restricted: i64,
    /// 1: the token holds a usage limit.
    pub usage_limited: i64,
}

type Answer = Result<Option<TokenRow>, sqlx::Error>;

struct Pending {
    hash: String,
    reply: oneshot::Sender<Answer>,
}

/// The lookup queue and its batches; see the module documentation.
pub struct TokenLookups {
    tx: mpsc::Sender<Pending>,
    wait: Duration,
    /// Last-use writes this instance made or is making, by token and IP.
    pub(super) recent: crate::tokens::last_use::RecentWrites,
    /// Lookups asked for since start (a relaxed counter: one add per lookup).
    asked: std::sync::atomic::AtomicU64,
}

impl TokenLookups {
    /// Starts the batching task on the current Tokio runtime, with at most
    /// `connections` batches (and connections) at a time.
    pub fn start(db: Db, connections: usize, wait: Duration) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(drive(db, HotConnections::new(connections, wait), rx));
        Self {
            tx,
            wait,
            recent: Default::default(),
            asked: Default::default(),
        }
    }

    /// The last-use coalescer every bearer credential shares.
    pub fn recent(&self) -> &crate::tokens::last_use::RecentWrites {
        &self.recent
    }

    /// How many lookups were asked for since start (tests count them: an
    /// MCP tool call looks its token up once).
    pub fn asked(&self) -> u64 {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The row of the token whose hash is `hash`, read after this call
    /// began; `None` when no token has it.
    pub async fn find(&self, hash: String) -> Answer {
        self.asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        let asked = async {
            self.tx
                .send(Pending { hash, reply })
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            answer.await.map_err(|_| sqlx::Error::PoolClosed)?
        };
        tokio::time::timeout(self.wait, asked)
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
    }
}

/// Takes the waiting lookups, gets a connection (while every one is busy,
/// more lookups queue up and join this batch), and runs the batch on its
/// own task.
async fn drive(db: Db, hot: Arc<HotConnections>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let conn = hot.get(&db).await;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        match conn {
            Ok(conn) => {
                tokio::spawn(run(conn, batch));
            }
            Err(err) => answer_all(batch, &err),
        }
    }
}

/// One statement for the batch's hashes, then each caller gets its row.
async fn run(mut conn: HotConnection, mut batch: Vec<Pending>) {
    // Callers that gave up (timed out, request dropped) are not looked up.
    batch.retain(|p| !p.reply.is_closed());
    if batch.is_empty() {
        conn.done();
        return;
    }
    metrics::histogram!("token_lookup_batch_size").record(batch.len() as f64);
    let mut hashes: Vec<&str> = batch.iter().map(|p| p.hash.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    // A few statement shapes (1, 2, 4, ... 64 hashes) rather than 64, so
    // each connection prepares at most seven: the list is padded by
    // repeating its last hash.
    let size = hashes.len().next_power_of_two();
    let mut query = sqlx::query_as::<_, TokenRow>(&STATEMENTS[size.trailing_zeros() as usize]);
    for i in 0..size {
        query = query.bind(hashes[i.min(hashes.len() - 1)]);
    }
    match query.fetch_all(conn.conn()).await {
        Ok(rows) => {
            conn.done();
            let rows: HashMap<String, TokenRow> = rows
                .into_iter()
                .map(|r| (r.token_hash.clone(), r))
                .collect();
            for p in batch {
                let _ = p.reply.send(Ok(rows.get(&p.hash).cloned()));
            }
        }
        Err(err) => {
            // The connection is dropped (closed), not reused.
            drop(conn);
            answer_all(batch, &err);
        }
    }
}

/// Every caller of a failed batch gets an error of the same kind
/// (transient: 503; otherwise: 500); the cause is logged once, here.
fn answer_all(batch: Vec<Pending>, err: &sqlx::Error) {
    let transient = crate::db::is_transient(err);
    tracing::error!(error = %err, lookups = batch.len(), transient, "token lookup failed");
    for p in batch {
        let shared = if transient {
            sqlx::Error::Io(std::io::Error::other("token lookup: database unavailable"))
        } else {
            sqlx::Error::Protocol("token lookup failed".into())
        };
        let _ = p.reply.send(Err(shared));
    }
}

/// The lookup statement for 1, 2, 4, ... [`MAX_BATCH`] hashes.
static STATEMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (0..=MAX_BATCH.trailing_zeros())
        .map(|p| {
            let params: Vec<String> = (1..=1usize << p).map(|i| format!("${i}")).collect();
            format!(
                "SELECT t.token_hash, t.id, t.account_id, t.name, t.prefix, t.scopes, t.created_at, \
                        t.expires_at, t.revoked_at, t.last_used_at, t.last_used_ip, t.rotated_to, \
                        t.rotated_from, t.grace_until, t.first_used_at, \
                        s.first_used_at AS successor_used_at, a.email, a.disabled_at, t.allowed_ips, t.projects_restricted, \
                        CASE WHEN t.usage_remaining IS NULL THEN 0 ELSE 1 END AS usage_limited \
                 FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
                 LEFT JOIN api_tokens s ON s.id = t.rotated_to \
                 WHERE t.token_hash IN ({})",
                params.join(", ")
            )
        })
        .collect()
});
