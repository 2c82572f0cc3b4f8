//! What the doors call for the second factor: the Security page's status,
//! turning factors on and off, checking a code at sign-in or in sudo mode,
//! regenerating recovery codes, the administrators' policy and reset.
//! Every change is audited in the transaction that makes it, and the ones an
//! owner must hear about notify them.

use super::{passkeys, recovery, totp, RecoveryCodes, SecurityView};
use crate::{
    audit::{AuditAction, NewEvent},
    auth::{service::throttled, throttle},
    db::Db,
    fault::{Fault, Input},
    keys::Keyring,
    notifications::{outbox::Notice, NoticeKind},
    state::AppState,
    types::{AccountId, Timestamp},
};

/// What a wrong code answers (the same for every kind of code).
pub const BAD_CODE: &str =
    "That code is not right. Enter the current code from your authenticator app, or a recovery code.";

/// Which factor proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
    Passkey,
}

impl Factor {
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
            Factor::Passkey => "passkey",
        }
    }
}

/// Whether the administrators require a second factor.
pub async fn required(db: &Db) -> Result<bool, sqlx::Error> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT require_two_factor FROM security_policy WHERE id = 1")
            .fetch_optional(db)
            .await?;
    Ok(v.unwrap_or(0) != 0)
}

/// Settings > Security for `account`.
pub async fn status(state: &AppState, account: AccountId) -> Result<SecurityView, Fault> {
    let db = &state.db;
    let run = async {
        Ok::<_, sqlx::Error>(SecurityView {
            totp: totp::is_on(db, account).await?,
            passkeys: passkeys::list(db, account).await?,
            recovery_left: recovery::left(db, account).await?,
            required: required(db).await?,
            passkeys_unavailable: passkeys::unavailable(&state.config),
        })
    };
    run.await.map_err(|e| Fault::db("security status", e))
}

/// Whether `account` has any second factor on.
pub async fn is_on(db: &Db, account: AccountId) -> Result<bool, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar("SELECT two_factor_at FROM accounts WHERE id = $1")
        .bind(account.to_string())
        .fetch_optional(db)
        .await?
        .flatten();
    Ok(at.is_some())
}

/// Marks the account's second factor on, in `tx`; when it was off, also
/// makes its recovery codes and returns them.
async fn turn_on(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    now: Timestamp,
) -> Result<Option<RecoveryCodes>, Fault> {
    let done = sqlx::query(
        "UPDATE accounts SET two_factor_at = $1 WHERE id = $2 AND two_factor_at IS NULL",
    )
    .bind(now.millis())
    .bind(account.to_string())
    .execute(&mut **tx)
    .await
    .map_err(|e| Fault::db("two-factor on", e))?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(Some(recovery::replace(tx, account, now).await?))
}

/// Begins a write transaction with the account's row lock (SQLite must write
/// first; PostgreSQL serialises changes to one account's factors).
async fn begin(
    db: &Db,
    account: AccountId,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, Fault> {
    let mut tx = db.begin().await.map_err(|e| Fault::db("two-factor", e))?;
    crate::accounts::lock_row(&mut tx, account)
        .await
        .map_err(|e| Fault::db("two-factor", e))?;
    Ok(tx)
}

async fn commit(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    keys: &Keyring,
    events: Vec<NewEvent>,
    now: Timestamp,
) -> Result<(), Fault> {
    crate::audit::chain::append(&mut tx, keys, &events, now)
        .await
        .map_err(|e| Fault::db("two-factor audit", e))?;
    tx.commit().await.map_err(|e| Fault::db("two-factor", e))
}

fn enabled_event(base: &NewEvent, account: AccountId, what: &str) -> NewEvent {
    base.with_action(AuditAction::TwoFactorEnabled)
        .detail("factor", what)
        .security(true)
        .notify(Notice::new(NoticeKind::TwoFactorEnabled, account).reason(what))
}

/// Confirms the authenticator app being set up with a code from it. Returns
/// the new recovery codes when this turned two-factor on.
pub async fn enable_totp(
    state: &AppState,
    account: AccountId,
    code: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Option<RecoveryCodes>, Fault> {
    let mut tx = begin(&state.db, account).await?;
    if !totp::confirm(&mut tx, &state.db, &state.config.keys, account, code, now).await? {
        return Err(Fault::invalid(
            Input::Code,
            "That code is not right. Enter the code your authenticator app shows now.",
        ));
    }
    let codes = turn_on(&mut tx, account, now).await?;
    commit(
        tx,
        &state.config.keys,
        vec![enabled_event(base, account, "authenticator app")],
        now,
    )
    .await?;
    Ok(codes)
}

/// Stores a passkey registered from this session. Returns the new recovery
/// codes when this turned two-factor on.
pub async fn add_passkey(
    state: &AppState,
    account: AccountId,
    session_hash: &str,
    name: &str,
    credential: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Option<RecoveryCodes>, Fault> {
    let name = passkeys::valid_name(name)?;
    // The ceremony is used up before the transaction (SQLite: one writer).
    let ceremony = passkeys::take_registration(&state.db, account, session_hash, now).await?;
    let mut tx = begin(&state.db, account).await?;
    passkeys::register_finish(
        &mut tx,
        &state.config,
        account,
        &ceremony,
        &name,
        credential,
        now,
    )
    .await?;
    let codes = turn_on(&mut tx, account, now).await?;
    let what = format!("passkey “{name}”");
    let added = base
        .with_action(AuditAction::PasskeyAdded)
        .target(name.clone());
    commit(
        tx,
        &state.config.keys,
        vec![added, enabled_event(base, account, &what)],
        now,
    )
    .await?;
    Ok(codes)
}

/// Removes a passkey. The last factor of an account is not removed this way:
/// turning two-factor off asks for the password and a code.
pub async fn remove_passkey(
    state: &AppState,
    account: AccountId,
    id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let last = !totp::is_on(&state.db, account)
        .await
        .map_err(|e| Fault::db("two-factor", e))?
        && passkeys::count(&state.db, account)
            .await
            .map_err(|e| Fault::db("two-factor", e))?
            <= 1;
    if last {
        return Err(Fault::Conflict(
            "This is your only second factor. Add another first, or turn two-factor authentication off."
                .into(),
        ));
    }
    let mut tx = begin(&state.db, account).await?;
    let Some(name) = passkeys::remove(&mut tx, account, id).await? else {
        return Err(Fault::NotFound("No such passkey.".into()));
    };
    let event = base
        .with_action(AuditAction::PasskeyRemoved)
        .target(name)
        .security(true);
    commit(tx, &state.config.keys, vec![event], now).await
}

/// Checks a code typed at sign-in or to confirm an action: the current
/// authenticator code (once per step) or an unused recovery code (once),
/// under the sign-in throttle (`keys`). A used recovery code is audited and
/// notified.
pub async fn check_code(
    state: &AppState,
    keys: &[throttle::Key],
    account: AccountId,
    code: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Factor, Fault> {
    let code = code.trim();
    if code.is_empty() {
        return Err(Fault::invalid(Input::Code, "Enter a code."));
    }
    if code.chars().count() > 64 {
        return Err(Fault::invalid(Input::Code, BAD_CODE));
    }
    let mut factor = None;
    let mut replayed = false;
    let ok = throttled(state, keys, Input::Code, "code attempts", now, async {
        if totp::looks_like_code(code) {
            match totp::accept(&state.db, &state.config.keys, account, code, now).await? {
                totp::Check::Accepted => factor = Some(Factor::Totp),
                totp::Check::Replayed => replayed = true,
                totp::Check::Wrong | totp::Check::NotSetUp => {}
            }
        } else if recovery::consume(&state.db, account, code, now).await? {
            factor = Some(Factor::RecoveryCode);
        }
        Ok(factor.is_some())
    })
    .await?;
    if !ok {
        return Err(Fault::invalid(
            Input::Code,
            if replayed {
                "This code was already used. Wait for the next one your app shows."
            } else {
                BAD_CODE
            },
        ));
    }
    if factor == Some(Factor::RecoveryCode) {
        let left = recovery::left(&state.db, account)
            .await
            .map_err(|e| Fault::db("recovery codes", e))?;
        let event = base
            .with_action(AuditAction::RecoveryCodeUsed)
            .detail("left", left)
            .security(true)
            .notify(Notice::new(NoticeKind::RecoveryCodeUsed, account).count(left));
        crate::audit::chain::append_now(&state.db, &state.config.keys, &[event], now)
            .await
            .map_err(|e| Fault::db("recovery audit", e))?;
    }
    factor.ok_or(Fault::Internal)
}

/// Deletes every factor of `account` in `tx`.
async fn remove_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
) -> Result<(), Fault> {
    for sql in [
        "DELETE FROM account_totp WHERE account_id = $1",
        "DELETE FROM passkeys WHERE account_id = $1",
        "DELETE FROM recovery_codes WHERE account_id = $1",
        "DELETE FROM auth_challenges WHERE account_id = $1",
        "UPDATE accounts SET two_factor_at = NULL WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(account.to_string())
            .execute(&mut **tx)
            .await
            .map_err(|e| Fault::db("two-factor off", e))?;
    }
    Ok(())
}

/// Turns two-factor off. The caller has checked the password and a current
/// factor ([`crate::auth::second_step::turn_off`]).
pub async fn disable(
    state: &AppState,
    account: AccountId,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    if required(&state.db)
        .await
        .map_err(|e| Fault::db("security policy", e))?
    {
        return Err(Fault::Forbidden(
            "Your administrators require two-factor authentication, so it cannot be turned off."
                .into(),
        ));
    }
    let mut tx = begin(&state.db, account).await?;
    remove_all(&mut tx, account).await?;
    let event = base
        .with_action(AuditAction::TwoFactorDisabled)
        .security(true)
        .notify(Notice::new(NoticeKind::TwoFactorDisabled, account));
    commit(tx, &state.config.keys, vec![event], now).await
}

/// An administrator (Admin > Accounts, or `preqstation accounts
/// reset-two-factor` on the server) resets `target`'s second factor (a lost
/// phone): every factor and recovery code goes; audited and the owner
/// notified, the notice saying `by` whom.
pub async fn admin_reset(
    db: &Db,
    keys: &Keyring,
    target: AccountId,
    target_email: &str,
    by: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let mut tx = begin(db, target).await?;
    remove_all(&mut tx, target).await?;
    let event = base
        .with_action(AuditAction::TwoFactorReset)
        .target(target_email.to_string())
        .detail("account", target.to_string())
        .security(true)
        .notify(Notice::new(NoticeKind::TwoFactorDisabled, target).by(by));
    commit(tx, keys, vec![event], now).await
}

/// Replaces the account's recovery codes with ten new ones.
pub async fn regenerate(
    state: &AppState,
    account: AccountId,
    base: &NewEvent,
    now: Timestamp,
) -> Result<RecoveryCodes, Fault> {
    if !is_on(&state.db, account)
        .await
        .map_err(|e| Fault::db("two-factor", e))?
    {
        return Err(Fault::Conflict(
            "Set up an authenticator app or a passkey first.".into(),
        ));
    }
    let mut tx = begin(&state.db, account).await?;
    let codes = recovery::replace(&mut tx, account, now).await?;
    let event = base
        .with_action(AuditAction::RecoveryCodesRegenerated)
        .security(true);
    commit(tx, &state.config.keys, vec![event], now).await?;
    Ok(codes)
}

/// Sets whether every account must have a second factor (administrators).
pub async fn set_required(
    state: &AppState,
    admin: &crate::types::CurrentUser,
    require: bool,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let mut tx = begin(&state.db, admin.id).await?;
    sqlx::query(
        "UPDATE security_policy SET require_two_factor = $1, updated_at = $2, updated_by = $3 \
         WHERE id = 1",
    )
    .bind(i64::from(require))
    .bind(now.millis())
    .bind(admin.id.to_string())
    .execute(&mut *tx)
    .await
    .map_err(|e| Fault::db("security policy", e))?;
    let event = base
        .with_action(AuditAction::PolicyChanged)
        .target("require_two_factor")
        .detail("require_two_factor", require)
        .security(true);
    commit(tx, &state.config.keys, vec![event], now).await
}
