//! Account administration and password changes. Each operation that ends
//! sessions or revokes tokens does it in the same transaction as the change
//! that causes it.

use crate::audit::AuditAction;
use crate::notifications::{outbox::Notice, NoticeKind};

use super::{
    password::{self, Password},
    AccountSummary,
};
use crate::{
    audit::NewEvent,
    db::Db,
    fault::{Fault, Input},
    sessions, tokens,
    types::{AccountId, Role, Timestamp},
};

/// An account with its counts, as [`list`] reads it.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: String,
    email: String,
    role: String,
    created_at: i64,
    disabled_at: Option<i64>,
    sessions: i64,
    tokens: i64,
    two_factor_at: Option<i64>,
}

/// Every account, oldest first, with its active session and token counts.
pub async fn list(
    db: &Db,
    now: Timestamp,
    idle_cutoff: Timestamp,
) -> Result<Vec<AccountSummary>, sqlx::Error> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT a.id, a.email, a.role, a.created_at, a.disabled_at, a.two_factor_at, \
           (SELECT COUNT(*) FROM sessions s WHERE s.account_id = a.id AND s.revoked_at IS NULL \
              AND s.last_seen_at > $2 AND s.absolute_expires_at > $1) AS sessions, \
           (SELECT COUNT(*) FROM api_tokens t WHERE t.account_id = a.id AND t.revoked_at IS NULL \
              AND (t.expires_at IS NULL OR t.expires_at > $1)) AS tokens \
         FROM accounts a ORDER BY a.created_at, a.id",
    )
    .bind(now.millis())
    .bind(idle_cutoff.millis())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccountSummary {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::Member),
            created_at: Timestamp(r.created_at),
            disabled_at: r.disabled_at.map(Timestamp),
            active_sessions: r.sessions,
            active_tokens: r.tokens,
            two_factor: r.two_factor_at.is_some(),
        })
        .collect())
}

/// What an admin action ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ended {
    pub sessions: u64,
    pub tokens: u64,
    /// OAuth grants (connected apps) ended.
    pub apps: u64,
}

/// An administrator's action on an account: the entry in the admin's trail
/// and its copy in the account's own, so its owner sees what was done to it.
pub fn in_both_trails(event: NewEvent, target: AccountId) -> Vec<NewEvent> {
    let theirs = event.clone().account(target);
    if theirs.account_id == event.account_id {
        vec![event]
    } else {
        // The notice it sets off is the target's, written once.
        let mine = NewEvent {
            notice: None,
            ..event
        };
        vec![mine, theirs]
    }
}

/// Who did an administrator's action, in a notification's words.
fn by_words(admin: Option<AccountId>) -> &'static str {
    match admin {
        Some(_) => "an administrator",
        None => "an administrator, on the server's command line",
    }
}

/// Disables (or re-enables) an account. Disabling ends all its sessions and
/// revokes all its tokens. An admin cannot disable their own account; the
/// command line on the server (`admin` = `None`) can disable any.
pub async fn set_disabled(
    db: &Db,
    keys: &crate::keys::Keyring,
    admin: Option<AccountId>,
    target: AccountId,
    disabled: bool,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Ended, Fault> {
    if disabled && admin == Some(target) {
        return Err(Fault::Conflict(
            "You cannot disable your own account.".into(),
        ));
    }
    let run = async {
        let mut tx = db.begin().await?;
        let changed = sqlx::query("UPDATE accounts SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(now.millis()))
            .bind(target.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let mut ended = Ended::default();
        if disabled {
            ended.sessions = sessions::revoke_all_except(&mut *tx, target, None, now).await?;
            ended.tokens = tokens::service::revoke_all_for_account(
                &mut tx,
                keys,
                target,
                admin,
                "account_disabled",
                base,
                now,
            )
            .await?;
            ended.apps = crate::oauth::revocation::revoke_all_for_account(
                &mut tx,
                target,
                "account_disabled",
                now,
            )
            .await?;
        }
        let event = (base.clone())
            .with_action(AuditAction::AccountDisabled)
            .target(target.to_string())
            .detail("disabled", disabled)
            .detail("sessions_ended", ended.sessions)
            .detail("tokens_revoked", ended.tokens)
            .detail("apps_revoked", ended.apps)
            .notify(
                Notice::new(NoticeKind::AccountDisabled, target)
                    .by(by_words(admin))
                    .flag(disabled)
                    .count(ended.tokens as i64),
            );
        crate::audit::chain::append(&mut tx, keys, &in_both_trails(event, target), now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(ended))
    };
    run.await
        .map_err(|e| Fault::db("disable account", e))?
        .ok_or_else(|| Fault::NotFound("No such account.".into()))
}

/// Ends every session and revokes every token of an account (Taskschmiede's
/// "invalidate all sessions for a user").
pub async fn invalidate(
    db: &Db,
    keys: &crate::keys::Keyring,
    admin: AccountId,
    target: AccountId,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Ended, Fault> {
    let run = async {
        let mut tx = db.begin().await?;
        if !super::lock_row(&mut tx, target).await? {
            return Ok(None);
        }
        let sessions = sessions::revoke_all_except(&mut *tx, target, None, now).await?;
        let tokens = tokens::service::revoke_all_for_account(
            &mut tx,
            keys,
            target,
            Some(admin),
            "sessions_invalidated",
            base,
            now,
        )
        .await?;
        let apps = crate::oauth::revocation::revoke_all_for_account(
            &mut tx,
            target,
            "sessions_invalidated",
            now,
        )
        .await?;
        let event = (base.clone())
            .with_action(AuditAction::SessionsInvalidated)
            .target(target.to_string())
            .detail("sessions_ended", sessions)
            .detail("tokens_revoked", tokens)
            .detail("apps_revoked", apps)
            .notify(
                Notice::new(NoticeKind::SessionsInvalidated, target)
                    .by(by_words(Some(admin)))
                    .count(tokens as i64),
            );
        crate::audit::chain::append(&mut tx, keys, &in_both_trails(event, target), now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(Ended {
            sessions,
            tokens,
            apps,
        }))
    };
    run.await
        .map_err(|e| Fault::db("invalidate account", e))?
        .ok_or_else(|| Fault::NotFound("No such account.".into()))
}

/// Changes the password after checking the current one. Ends every other
/// session and, unless `keep_tokens`, revokes every API token (the
/// Taskschmiede rule). The calling session stays signed in.
/// A password change as the form submits it.
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub confirm: String,
    pub keep_tokens: bool,
}

/// Checks the current password under the sign-in throttle (`keys`: the
/// account or known device, and the IP), then sets the new one.
pub async fn change_password(
    state: &crate::state::AppState,
    keys: &[crate::auth::throttle::Key],
    account: AccountId,
    current_session: &str,
    change: PasswordChange,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Ended, Fault> {
    let db = &state.db;
    let PasswordChange {
        current,
        new,
        confirm,
        keep_tokens,
    } = change;
    let stored = super::find_by_id(db, account)
        .await
        .map_err(|e| Fault::db("change password", e))?
        .ok_or_else(|| Fault::Unauthenticated("Your session has ended. Sign in again.".into()))?;
    if current.is_empty() {
        return Err(Fault::invalid(
            Input::CurrentPassword,
            "Enter your current password.",
        ));
    }
    let ok = crate::auth::service::check_password(
        state,
        keys,
        Input::CurrentPassword,
        current.clone(),
        Some(stored.password_hash.clone()),
        now,
    )
    .await?;
    if !ok {
        return Err(Fault::invalid(
            Input::CurrentPassword,
            "Your current password is incorrect.",
        ));
    }
    password::check_new_password(&new, &stored.email)
        .map_err(|m| Fault::invalid(Input::NewPassword, m))?;
    if new == current {
        return Err(Fault::invalid(
            Input::NewPassword,
            "Choose a password different from your current one.",
        ));
    }
    if new != confirm {
        return Err(Fault::invalid(
            Input::PasswordConfirmation,
            "The two passwords do not match.",
        ));
    }
    let hash = password::hash(Password::new(new))
        .await
        .map_err(|e| Fault::internal("password hash", e))?;
    let run = async {
        let mut tx = db.begin().await?;
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
        )
        .bind(&hash)
        .bind(now.millis())
        .bind(account.to_string())
        .execute(&mut *tx)
        .await?;
        let sessions =
            sessions::revoke_all_except(&mut *tx, account, Some(current_session), now).await?;
        let tokens = if keep_tokens {
            0
        } else {
            tokens::service::revoke_all_for_account(
                &mut tx,
                &state.config.keys,
                account,
                Some(account),
                "password_changed",
                base,
                now,
            )
            .await?
        };
        // Connected apps end with every password change: they were allowed
        // by whoever knew the old one.
        let apps = crate::oauth::revocation::revoke_all_for_account(
            &mut tx,
            account,
            "password_changed",
            now,
        )
        .await?;
        let event = (base.clone())
            .with_action(AuditAction::PasswordChanged)
            .detail("other_sessions_ended", sessions)
            .detail("tokens_revoked", tokens)
            .detail("apps_revoked", apps)
            .detail("kept_tokens", keep_tokens)
            .notify(Notice::new(NoticeKind::PasswordChanged, account).count(tokens as i64));
        crate::audit::chain::append(&mut tx, &state.config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ended {
            sessions,
            tokens,
            apps,
        })
    };
    run.await.map_err(|e| Fault::db("change password", e))
}
