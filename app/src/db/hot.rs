//! A few connections kept aside for the one statement every API and MCP
//! request runs: looking its bearer token up (batched by
//! `tokens::service::TokenLookups`, which holds this set).
//!
//! Why not the pool: sqlx 0.8's pool tests a connection on every release
//! (`ping`, unconditionally) and, by default, on every acquire. On
//! PostgreSQL each ping is a network round trip to the backend, on SQLite a
//! hand-off to the connection's worker thread and back; a lookup through the
//! pool therefore cost three round trips where the query needs one (`perf`
//! under whoami load: the hand-offs' futex wake-ups were the largest single
//! cost, docs/benchmarks.md). These connections skip both tests: a
//! connection goes back to the set only after a statement completed without
//! error, so none is left mid-query (a cancelled or failed lookup drops its
//! connection, which closes it), and a broken one is found by the next
//! statement's error (answered 503, as a transient failure), then replaced.
//!
//! Bounded: at most `max` connections, created lazily through the pool (so
//! they get its `after_connect` settings) and detached from it; callers
//! beyond that wait, at most the pool's acquire timeout.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::AnyConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Db;

/// The set; see the module documentation.
pub struct HotConnections {
    idle: Mutex<Vec<AnyConnection>>,
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl HotConnections {
    pub fn new(max: usize, wait: Duration) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::new(Vec::with_capacity(max)),
            slots: Arc::new(Semaphore::new(max.max(1))),
            wait,
        })
    }

    /// A connection for one lookup: an idle one, or a new one from `db`.
    /// It can move to another task (it holds its set, not a borrow).
    pub async fn get(self: &Arc<Self>, db: &Db) -> Result<HotConnection, sqlx::Error> {
        let slot = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => db.acquire().await?.detach(),
        };
        Ok(HotConnection {
            conn,
            set: self.clone(),
            _slot: slot,
        })
    }
}

/// One connection taken from [`HotConnections`]. Dropped without
/// [`HotConnection::done`] (an error, a cancelled request) it is closed, not
/// reused.
pub struct HotConnection {
    conn: AnyConnection,
    set: Arc<HotConnections>,
    _slot: OwnedSemaphorePermit,
}

impl HotConnection {
    /// The connection, to run statements on.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Gives the connection back for the next lookup: only after every
    /// statement on it completed. Its slot is freed after it is back.
    pub fn done(self) {
        let HotConnection { conn, set, _slot } = self;
        set.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether this connection is the one that made the temporary table
    /// (temporary tables belong to their connection).
    async fn marked(conn: &mut AnyConnection) -> bool {
        sqlx::query("SELECT 1 FROM marker")
            .fetch_optional(conn)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn reused_only_after_done_and_bounded() {
        let path = std::env::temp_dir().join(format!("hot-{}.sqlite", uuid::Uuid::new_v4()));
        let db = super::super::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        let hot = HotConnections::new(1, Duration::from_millis(200));

        let mut first = hot.get(&db).await.unwrap();
        sqlx::query("CREATE TEMP TABLE marker (x INTEGER)")
            .execute(first.conn())
            .await
            .unwrap();
        // The only slot is taken: the next caller waits, then gives up.
        assert!(matches!(hot.get(&db).await, Err(sqlx::Error::PoolTimedOut)));
        first.done();

        // Given back: the same connection comes out again.
        let mut again = hot.get(&db).await.unwrap();
        assert!(marked(again.conn()).await);
        // Dropped without `done` (a failed or cancelled lookup): closed, and
        // the next lookup gets a new connection.
        drop(again);
        let mut fresh = hot.get(&db).await.unwrap();
        assert!(!marked(fresh.conn()).await);
        fresh.done();

        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            std::fs::remove_file(p).ok();
        }
    }
}
