//! The database pool: one `sqlx::AnyPool` over SQLite (embedded default) or
//! PostgreSQL, chosen by the URL; migrations embedded and run at start-up.
//!
//! Why `Any` and one schema rather than two backends: see docs/architecture.md.

use std::time::Duration;

use sqlx::{any::AnyPoolOptions, Connection, Executor};

pub mod files;
mod hot;
pub use hot::{HotConnection, HotConnections};

pub type Db = sqlx::AnyPool;

/// The pool's wait for a connection, and the hot set's
/// ([`HotConnections`]): a database that is down must turn into a quick
/// 503, not a hung page.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pooled connection idle for longer than this is tested (a ping) before
/// it is handed out; a busy one is not (see [`connect`]).
const TEST_IF_IDLE_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create or secure {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot run database migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Opens a pool. For SQLite the file (and its directory) is created when
/// missing, the file with mode 0600 before SQLite opens it (an existing
/// one, and its `-wal`/`-shm`, are tightened: [`files`]), and every
/// connection runs in WAL mode with a busy timeout.
pub async fn connect(url: &str) -> Result<Db, DbSetupError> {
    sqlx::any::install_default_drivers();
    let is_sqlite = url.starts_with("sqlite:");
    if let Some(path) = sqlite_path(url).filter(|_| is_sqlite) {
        let path = std::path::Path::new(&path);
        let setup = |source, at: &std::path::Path| DbSetupError::DataDir {
            path: at.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| setup(e, dir))?;
        }
        files::private_database(path).map_err(|e| setup(e, path))?;
    }
    AnyPoolOptions::new()
        .max_connections(if is_sqlite { 8 } else { 16 })
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every connection it hands out by default: a round trip
        // (PostgreSQL) or a worker-thread hand-off (SQLite) before each
        // statement. Only a connection that sat idle long enough to have
        // been dropped by the server or a firewall is tested; a busy one
        // that broke fails its statement, which is answered 503 (transient)
        // and the connection is not reused.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= TEST_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if !is_sqlite {
                    // Bounded waits on the server side too: no statement or
                    // lock wait outlives the request deadline, and a
                    // transaction left open by a dead client is ended.
                    conn.execute(
                        "SET statement_timeout = '10s'; SET lock_timeout = '5s'; \
                         SET idle_in_transaction_session_timeout = '30s'",
                    )
                    .await?;
                }
                if is_sqlite {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(DbSetupError::Connect)
}

/// Applies the embedded migrations (idempotent; safe with several instances:
/// the others wait on the migration lock). On PostgreSQL this runs on a
/// connection without the request path's statement and lock timeouts, so a
/// long migration or a wait for another instance's migration is not
/// cancelled; that connection is closed afterwards.
pub async fn migrate(db: &Db) -> Result<(), DbSetupError> {
    let mut conn = db.acquire().await.map_err(DbSetupError::Connect)?;
    if conn.backend_name() == "PostgreSQL" {
        conn.execute("SET statement_timeout = 0; SET lock_timeout = 0")
            .await
            .map_err(DbSetupError::Connect)?;
    }
    let done = sqlx::migrate!("../migrations")
        .run(&mut *conn)
        .await
        .map_err(DbSetupError::Migrate);
    conn.close_on_drop();
    done
}

/// True when the pool talks to PostgreSQL (for the few statements, such as
/// advisory locks, that SQLite does not have).
pub fn is_postgres(db: &Db) -> bool {
    db.connect_options()
        .database_url
        .scheme()
        .starts_with("postgres")
}

/// The file path inside a `sqlite://path?params` URL.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

/// True when `err` will likely pass if tried again later: the pool had no
/// connection in time, the server is unreachable, or the database gave up
/// waiting (SQLite busy/locked after `busy_timeout`; PostgreSQL statement or
/// lock timeout, deadlock, serialization failure). These are answered 503,
/// not 500.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => matches!(
            e.code().as_deref(),
            // SQLite: BUSY, LOCKED, BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT.
            Some("5" | "6" | "261" | "517" | "773")
            // PostgreSQL: query_canceled (statement_timeout), lock_not_available,
            // deadlock_detected, serialization_failure, admin/crash shutdown.
            | Some("57014" | "55P03" | "40P01" | "40001" | "57P01" | "57P02" | "57P03")
        ),
        _ => false,
    }
}

/// True when `err` is a unique-constraint violation (both databases).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .map(|e| e.is_unique_violation())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/x.sqlite?mode=rwc").as_deref(),
            Some("data/x.sqlite")
        );
        assert_eq!(sqlite_path("sqlite:x.db").as_deref(), Some("x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
