//! The periodic sweep (every minute on each instance, by default; safe to run on several
//! at once, since every write is conditional and commits with its audit
//! entry): warns owners 7 days and 1 day before a token expires, writes
//! `token_expired` (and its notification) once per token whose expiry passed,
//! finishes rotations whose grace ended (`token_revoked`, reason
//! `rotation_grace_ended`), applies the dormant-token policy (reason
//! `dormant`), purges audit entries past retention (and the calls rollup's
//! days with them) and notifications past their 90 days, deletes what can
//! never be used again (ended sessions, idempotency keys past their 24 hours, the seen-IP rows of credentials
//! that ended before the retention, IPs beyond a credential's 1,000 most
//! recent), webhook deliveries past their 30 days, and trims the rate
//! limiters' memory: no table or map grows without bound. `spawn` also
//! starts the webhook loop (`webhooks::dispatch`).

use crate::audit::{ActorKind, AuditAction, Outcome};
use crate::notifications::{outbox::Notice, NoticeKind};

use crate::{audit::NewEvent, state::AppState, types::Timestamp};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    /// Task tokens a week past their expiry.
    pub task_tokens: u64,
    pub grace_ended: u64,
    /// Revoked by the dormant-token policy.
    pub dormant: u64,
    pub purged: u64,
    /// Revoked, idle-expired or past their absolute lifetime.
    pub sessions: u64,
    /// Idempotency keys older than their 24 hours (of any token, deleted or not).
    pub idempotency_keys: u64,
    /// Seen-IP rows of credentials that ended before the audit retention,
    /// or beyond a credential's most recent 1,000.
    pub token_ips: u64,
    /// Days of the calls rollup past the audit retention.
    pub usage_days: u64,
    /// OAuth: expired requests, codes and tokens, long-revoked grants, and
    /// registrations nobody used.
    pub oauth: u64,
    /// Tokens that got an expiry warning (7 days or 1 day before).
    pub expiry_warnings: u64,
    /// Notifications past their 90 days, interrupted or skipped emails.
    pub notifications: crate::notifications::outbox::Swept,
    /// Half-signed-in states and passkey ceremonies past their 5 minutes.
    pub auth_challenges: u64,
    /// Webhook deliveries past their 30 days.
    pub webhook_deliveries: u64,
    /// CI tokens a week past their expiry, and ID-token replay records
    /// past theirs.
    pub federation: u64,
}

/// A token whose expiry passed and was not recorded yet.
#[derive(sqlx::FromRow)]
struct ExpiredRow {
    id: String,
    account_id: String,
    name: String,
    prefix: String,
    expires_at: i64,
}

/// A rotated token whose grace ended (or whose successor was used).
#[derive(sqlx::FromRow)]
struct GraceEndedRow {
    id: String,
    account_id: String,
    name: String,
    prefix: String,
}

pub async fn sweep(state: &AppState, now: Timestamp) -> Result<Swept, sqlx::Error> {
    let mut done = Swept::default();
    let expired: Vec<ExpiredRow> = sqlx::query_as(
        "SELECT id, account_id, name, prefix, expires_at FROM api_tokens \
         WHERE expires_at <= $1 AND expiry_audited_at IS NULL AND revoked_at IS NULL LIMIT 500",
    )
    .bind(now.millis())
    .fetch_all(&state.db)
    .await?;
    for row in expired {
        let mut tx = state.db.begin().await?;
        let claimed = sqlx::query("UPDATE api_tokens SET expiry_audited_at = $1 WHERE id = $2 AND expiry_audited_at IS NULL")
            .bind(now.millis())
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() == 1 {
            let event = NewEvent::new(
                AuditAction::TokenExpired,
                ActorKind::System,
                Outcome::Success,
            )
            .account(&row.account_id)
            .target(&row.name)
            .token(&row.prefix)
            .detail("expired_at", Timestamp(row.expires_at).rfc3339());
            let event = match crate::types::AccountId::parse(&row.account_id) {
                Some(owner) => event.notify(Notice::new(NoticeKind::TokenExpired, owner).token(
                    &row.id,
                    &row.name,
                    &row.prefix,
                )),
                None => event,
            };
            crate::audit::chain::append(&mut tx, &state.config.keys, &[event], now).await?;
            done.expired += 1;
        }
        tx.commit().await?;
    }

    let ended: Vec<GraceEndedRow> = sqlx::query_as(
        "SELECT t.id, t.account_id, t.name, t.prefix FROM api_tokens t JOIN api_tokens s ON s.id = t.rotated_to \
         WHERE t.revoked_at IS NULL AND (t.grace_until <= $1 OR s.first_used_at IS NOT NULL) LIMIT 500",
    )
    .bind(now.millis())
    .fetch_all(&state.db)
    .await?;
    for row in ended {
        let mut tx = state.db.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = 'rotation_grace_ended' \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now.millis())
        .bind(&row.account_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() == 1 {
            let event = NewEvent::new(
                AuditAction::TokenRevoked,
                ActorKind::System,
                Outcome::Success,
            )
            .account(row.account_id)
            .target(row.name)
            .token(row.prefix)
            .detail("reason", "rotation_grace_ended");
            crate::audit::chain::append(&mut tx, &state.config.keys, &[event], now).await?;
            done.grace_ended += 1;
        }
        tx.commit().await?;
    }

    if let Some(days) = crate::tokens::policy::load(&state.db)
        .await?
        .revoke_unused_after_days
    {
        done.dormant =
            crate::tokens::service::revoke_dormant(&state.db, &state.config.keys, days, now)
                .await?;
    }

    done.expiry_warnings = crate::notifications::expiry::warn_due(&state.db, now).await?;
    done.notifications =
        crate::notifications::outbox::sweep(&state.db, state.config.mail.is_some(), now).await?;

    let cutoff = now.plus_secs(-state.config.audit_retention_days * 86_400);
    done.purged =
        crate::audit::chain::purge_before(&state.db, &state.config.keys, cutoff, now).await?;
    done.sessions = sqlx::query(
        "DELETE FROM sessions WHERE revoked_at IS NOT NULL OR absolute_expires_at <= $1 \
         OR last_seen_at <= $2",
    )
    .bind(now.millis())
    .bind(now.millis() - state.config.session_max_age_secs * 1000)
    .execute(&state.db)
    .await?
    .rows_affected();
    // (A row without an expiry was written by an older instance during a
    // rolling upgrade: it had the 24-hour lifetime.)
    done.idempotency_keys = sqlx::query(
        "DELETE FROM idempotency_keys WHERE expires_at < $1 OR (expires_at IS NULL AND created_at < $2)",
    )
    .bind(now.millis())
    .bind(now.millis() - crate::api::idempotency::TTL_MS)
        .execute(&state.db)
        .await?
        .rows_affected();
    // The IPs a credential was used from stay as long as the log that
    // recorded its calls: on the page of a revoked token they matter most.
    done.token_ips = sqlx::query(
        "DELETE FROM token_ips WHERE token_id IN (SELECT id FROM api_tokens \
         WHERE revoked_at < $1 OR expires_at < $1) \
         OR (last_seen < $1 AND token_id NOT IN (SELECT id FROM api_tokens))",
    )
    .bind(cutoff.millis())
    .execute(&state.db)
    .await?
    .rows_affected()
        + crate::tokens::usage::trim_ips(&state.db).await?;
    done.usage_days = crate::audit::calls::purge_before(&state.db, cutoff.millis()).await?;
    done.task_tokens = crate::tokens::task::manage::sweep(&state.db, now).await?;
    done.auth_challenges = crate::second_factor::challenge::sweep(&state.db, now).await?;
    done.webhook_deliveries = crate::webhooks::service::sweep(&state.db, now).await?;
    done.federation = crate::federation::rules::sweep(&state.db, now).await?;
    done.oauth = crate::oauth::grants::sweep(&state.db, now).await?
        + crate::oauth::clients::sweep(&state.db, now).await?;
    state.limits.retain_recent();
    Ok(done)
}

/// Runs [`sweep`] every `PREQSTATION_SWEEP_INTERVAL` (a minute) until the
/// process ends; beside it, counts
/// the calls of entries written before the calls rollup existed (once, in
/// batches that resume where a restart left them), and, with SMTP
/// configured, sends the email outbox.
pub fn spawn(state: AppState) {
    match &state.config.mail {
        Some(mail) => {
            tracing::info!(host = %mail.host, port = mail.port, security = ?mail.security, per_minute = mail.per_minute, "email notifications on");
            crate::notifications::mail::sender::spawn(
                state.db.clone(),
                mail.clone(),
                state.config.public_url.clone(),
            );
        }
        None => tracing::info!("email notifications off (no PREQSTATION_SMTP_HOST)"),
    }
    crate::webhooks::dispatch::spawn(state.clone());
    // Its own task: a long log's backfill does not hold up the sweep.
    let db = state.db.clone();
    tokio::spawn(async move {
        match crate::audit::calls::backfill_all(&db).await {
            Ok(0) => {}
            Ok(calls) => tracing::info!(calls, "calls rollup backfilled from the audit log"),
            Err(e) => {
                tracing::warn!(error = %e, "calls rollup backfill stopped; resumes at the next start")
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.sweep_interval);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&state, Timestamp::now()).await {
                tracing::warn!(error = %e, "maintenance sweep failed; will retry");
            }
        }
    });
}
