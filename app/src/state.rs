//! The state every handler and server function shares: database pool,
//! configuration and Leptos options. Provided to server functions as a
//! Leptos context and to axum handlers as router state; no globals.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{config::Config, db::Db};

/// Cheap to clone (one reference count): every middleware layer and
/// extractor takes its own copy per request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Leptos' handlers read their options from the router state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub leptos: LeptosOptions,
    pub db: Db,
    /// Bearer-token lookups, batched on connections kept aside for them.
    pub lookups: crate::tokens::service::TokenLookups,
    /// Connections kept aside for the API's most frequent read (a page of
    /// tasks), without the pool's ping on every release.
    pub reads: Arc<crate::db::HotConnections>,
    pub config: Arc<Config>,
    /// The write-behind queue for hot-path audit events.
    pub audit: crate::audit::queue::AuditQueue,
    /// The API's rate limiters (per instance).
    pub limits: Arc<crate::api::limits::RateLimits>,
    /// Wakes the webhook loop (a test event, a resend).
    pub webhooks: Arc<crate::webhooks::dispatch::Wake>,
    /// OIDC issuers' keys (CI federation), cached per `Cache-Control`.
    pub federation: Arc<crate::federation::jwks::Jwks>,
    /// Caches "setup is done": it never becomes false again, so once seen
    /// true no request has to ask the database.
    set_up: Arc<SetUpFlag>,
}

#[derive(Default)]
pub struct SetUpFlag(AtomicBool);

impl AppState {
    pub fn new(leptos: LeptosOptions, db: Db, config: Config) -> Self {
        let limits = crate::api::limits::RateLimits::new(
            config.api_rate_per_ip,
            config.api_rate_per_token,
            config.api_rate_verify,
        );
        let audit = crate::audit::queue::AuditQueue::start(
            db.clone(),
            config.keys.clone(),
            config.audit_queue_capacity,
        );
        // A few: a batch of lookups is one indexed read per token, and
        // fewer connections make larger batches. On SQLite each connection
        // is a worker thread (4: the lookups run in parallel there); on
        // PostgreSQL a backend, beside the pool's 16 (2: one statement
        // carries ~4 lookups at c=32; 1, 4 and 8 measured slower,
        // docs/benchmarks.md).
        let lookups = crate::tokens::service::TokenLookups::start(
            db.clone(),
            if crate::db::is_postgres(&db) { 2 } else { 4 },
            crate::db::ACQUIRE_TIMEOUT,
        );
        let reads = crate::db::HotConnections::new(4, crate::db::ACQUIRE_TIMEOUT);
        Self(Arc::new(Shared {
            leptos,
            audit,
            lookups,
            reads,
            db,
            limits,
            webhooks: Arc::default(),
            federation: Arc::default(),
            config: Arc::new(config),
            set_up: Arc::new(SetUpFlag::default()),
        }))
    }

    /// True once the first account exists (asks the database until it is).
    pub async fn is_set_up(&self) -> Result<bool, sqlx::Error> {
        if self.set_up.0.load(Ordering::Acquire) {
            return Ok(true);
        }
        let done = crate::accounts::is_set_up(&self.db).await?;
        if done {
            self.mark_set_up();
        }
        Ok(done)
    }

    pub fn mark_set_up(&self) {
        self.set_up.0.store(true, Ordering::Release);
    }
}
