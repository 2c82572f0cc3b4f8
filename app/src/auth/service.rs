//! The sign-in, setup and sign-out flows behind the server functions. They
//! take the state, the request's metadata and an explicit `now`.

use crate::audit::{ActorKind, AuditAction, Outcome};
use crate::{
    accounts::{self, password::Password, AccountError, NewAccount},
    fault::{Fault, Input},
    request::RequestMeta,
    sessions::{self, AuthSession, SessionPolicy, SessionSecret},
    state::AppState,
    types::{CurrentUser, Role, Timestamp},
};

use super::{
    device::KnownDevice,
    throttle::{self, Throttled},
};

/// The one message for a failed sign-in, whether the email exists or not.
pub const BAD_CREDENTIALS: &str = "Incorrect email or password.";

/// What a right password leads to.
pub enum LoginOutcome {
    SignedIn(SignedIn),
    /// The account has a second factor: the browser gets this cookie value
    /// (it names the half-signed-in state) and is asked for the factor.
    SecondFactor {
        cookie: String,
    },
}

/// A new session and the secret for its cookie, and the known-device
/// cookie value to set (sign-in only).
pub struct SignedIn {
    pub secret: SessionSecret,
    pub session: AuthSession,
    pub device: Option<String>,
}

/// Creates the first (admin) account and signs it in. Needs a live setup
/// code (see [`super::setup_code`]); wrong codes are throttled per IP.
#[allow(clippy::too_many_arguments)]
pub async fn setup(
    state: &AppState,
    meta: &RequestMeta,
    code: &str,
    email: &str,
    password: String,
    confirm: &str,
    now: Timestamp,
) -> Result<SignedIn, Fault> {
    if state
        .is_set_up()
        .await
        .map_err(|e| Fault::db("setup check", e))?
    {
        return Err(AccountError::AlreadySetUp.into());
    }
    if code.trim().is_empty() {
        return Err(Fault::invalid(
            Input::SetupCode,
            "Enter the setup code the server printed when it started.",
        ));
    }
    let ip_key = meta.ip_rate_key();
    let keys = [throttle::Key::setup(
        &state.config,
        ip_key.as_deref().unwrap_or("-"),
    )];
    let reservation = reserve(state, &keys, Input::SetupCode, "setup attempts", now).await?;
    let valid = super::setup_code::is_valid(&state.db, code, now)
        .await
        .map_err(|e| Fault::db("setup code", e))?;
    if !valid {
        reservation.keep();
        return Err(Fault::invalid(
            Input::SetupCode,
            "This setup code is not valid. Use the one the server printed at its last start \
             (also in the setup-code file of its data directory).",
        ));
    }
    // A right code is not a failed attempt, whatever the rest of the form says.
    release(state, reservation).await?;
    if password != confirm {
        return Err(Fault::invalid(
            Input::PasswordConfirmation,
            "The two passwords do not match.",
        ));
    }
    let new = NewAccount::validate(email, password, Role::Admin)?;
    let base = crate::audit::NewEvent::new(
        AuditAction::SetupCompleted,
        ActorKind::Account,
        Outcome::Success,
    )
    .from_request(meta);
    let account = accounts::complete_setup(&state.db, &state.config.keys, new, &base, now).await?;
    state.mark_set_up();
    super::setup_code::retire_all(&state.db, &state.config.data_dir).await;
    tracing::info!(account = %account.id, "first-run setup completed");
    let user = CurrentUser {
        id: account.id,
        email: account.email,
        role: account.role,
    };
    start_session(state, meta, &user, false, None, now).await
}

/// Reserves one attempt against `keys`, or answers 429 with the real wait.
async fn reserve(
    state: &AppState,
    keys: &[throttle::Key],
    input: Input,
    what: &str,
    now: Timestamp,
) -> Result<throttle::Reservation, Fault> {
    match throttle::reserve(&state.db, &state.config, keys, now)
        .await
        .map_err(|e| Fault::db("sign-in throttle", e))?
    {
        Ok(r) => Ok(r),
        Err(Throttled { retry_after }) => {
            tracing::warn!(what, retry_after, "throttled");
            Err(Fault::throttled(
                input,
                throttle::wait_message(what, retry_after),
                retry_after,
            ))
        }
    }
}

async fn release(state: &AppState, r: throttle::Reservation) -> Result<(), Fault> {
    r.release(&state.db)
        .await
        .map_err(|e| Fault::db("sign-in throttle release", e))
}

/// Runs `check` under the throttle: the attempt is reserved first, a
/// failure (`Ok(false)`) keeps it, a success or an error releases it.
/// Passwords and second-factor codes share the buckets (per account or known
/// device, and per IP).
pub async fn throttled<F>(
    state: &AppState,
    keys: &[throttle::Key],
    input: Input,
    what: &str,
    now: Timestamp,
    check: F,
) -> Result<bool, Fault>
where
    F: std::future::Future<Output = Result<bool, Fault>>,
{
    let reservation = reserve(state, keys, input, what, now).await?;
    match check.await {
        Ok(false) => {
            reservation.keep();
            Ok(false)
        }
        other => {
            release(state, reservation).await?;
            other
        }
    }
}

/// Checks `password` against the account's (or a dummy) hash under the
/// throttle.
pub async fn check_password(
    state: &AppState,
    keys: &[throttle::Key],
    input: Input,
    password: String,
    stored: Option<String>,
    now: Timestamp,
) -> Result<bool, Fault> {
    throttled(state, keys, input, "sign-in attempts", now, async move {
        let stored = match stored {
            Some(h) => h,
            None => accounts::password::dummy_hash().await?,
        };
        Ok(accounts::password::verify(Password::new(password), stored).await?)
    })
    .await
}

/// The throttle keys for a password check by a signed-in account: its known
/// device (`device_cookie`, when it is one of this account's) or the
/// account, and the client IP.
pub fn throttle_keys(
    cfg: &crate::config::Config,
    meta: &RequestMeta,
    device_cookie: Option<&str>,
    email: &str,
    account: crate::types::AccountId,
) -> Vec<throttle::Key> {
    let device = device_cookie.and_then(|v| super::device::verify(&cfg.keys, v));
    keys_for(cfg, meta, device.as_ref(), email, account)
}

/// [`throttle_keys`] with the device cookie already verified: the device's
/// bucket when it is one of `account`'s, else the account's; and the IP's.
pub fn keys_for(
    cfg: &crate::config::Config,
    meta: &RequestMeta,
    device: Option<&KnownDevice>,
    email: &str,
    account: crate::types::AccountId,
) -> Vec<throttle::Key> {
    let mut keys = vec![match device.filter(|d| d.account == account) {
        Some(d) => throttle::Key::device(cfg, &d.id),
        None => throttle::Key::account(cfg, email),
    }];
    if let Some(ip) = meta.ip_rate_key() {
        keys.push(throttle::Key::ip(cfg, &ip));
    }
    keys
}

/// Checks credentials (throttled per account, or per known device, and per
/// IP) and starts a session, or, when the account has a second factor, a
/// half-signed-in state that [`super::second_step`] completes. `device` is
/// the request's verified device cookie; a session's answer carries the
/// device cookie to set.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    email: &str,
    password: String,
    device: Option<KnownDevice>,
    now: Timestamp,
) -> Result<LoginOutcome, Fault> {
    if password.is_empty() {
        return Err(Fault::invalid(Input::Password, "Enter your password."));
    }
    let email = accounts::normalize_email(email).map_err(|m| Fault::invalid(Input::Email, m))?;
    // Over-long input is refused before any hashing work.
    if password.chars().count() > accounts::PASSWORD_MAX_CHARS {
        return Err(Fault::invalid(Input::Password, BAD_CREDENTIALS));
    }
    let account = accounts::find_by_email(&state.db, &email)
        .await
        .map_err(|e| Fault::db("login lookup", e))?;
    // A known device of this very account has its own bucket instead of the
    // account's; IPv6 clients are throttled by their /64.
    let device = device.filter(|d| account.as_ref().is_some_and(|a| a.id == d.account));
    let account_key = throttle::Key::account(&state.config, &email);
    let mut keys = vec![match &device {
        Some(d) => throttle::Key::device(&state.config, &d.id),
        None => account_key.clone(),
    }];
    if let Some(ip) = meta.ip_rate_key() {
        keys.push(throttle::Key::ip(&state.config, &ip));
    }
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let matches = check_password(state, &keys, Input::Password, password, stored, now).await?;
    let account = match account {
        Some(a) if matches && a.disabled_at.is_none() => a,
        _ => {
            tracing::warn!(
                ip = meta.ip.as_deref().unwrap_or("-"),
                known_device = device.is_some(),
                "sign-in failed"
            );
            return Err(Fault::invalid(Input::Password, BAD_CREDENTIALS));
        }
    };
    // Without this account's known-device cookie the browser is new to us:
    // the owner is told (GitHub's "new sign-in" email).
    let new_device = device.is_none();
    if crate::second_factor::service::is_on(&state.db, account.id)
        .await
        .map_err(|e| Fault::db("login second factor", e))?
    {
        // The failures are cleared only once the second factor is given, so
        // a known password cannot reset the budget for guessing codes.
        let cookie =
            crate::second_factor::challenge::begin_sign_in(&state.db, account.id, new_device, now)
                .await?;
        tracing::info!(account = %account.id, "password accepted; second factor asked");
        return Ok(LoginOutcome::SecondFactor { cookie });
    }
    throttle::clear(&state.db, &keys[0])
        .await
        .map_err(|e| Fault::db("login throttle clear", e))?;
    let user = CurrentUser {
        id: account.id,
        email: account.email,
        role: account.role,
    };
    Ok(LoginOutcome::SignedIn(
        finish_sign_in(state, meta, &user, new_device, None, now).await?,
    ))
}

/// Starts the session of a complete sign-in, with a fresh known-device
/// cookie (a known device's failures were just cleared, so nothing is lost
/// by a new id). `factor` names the second factor, if one was given.
pub(super) async fn finish_sign_in(
    state: &AppState,
    meta: &RequestMeta,
    user: &CurrentUser,
    new_device: bool,
    factor: Option<&str>,
    now: Timestamp,
) -> Result<SignedIn, Fault> {
    let mut signed_in = start_session(state, meta, user, new_device, factor, now).await?;
    signed_in.device = super::device::issue(&state.config.keys, user.id);
    Ok(signed_in)
}

async fn start_session(
    state: &AppState,
    meta: &RequestMeta,
    user: &CurrentUser,
    new_device: bool,
    factor: Option<&str>,
    now: Timestamp,
) -> Result<SignedIn, Fault> {
    // The session and its login_succeeded entry commit together.
    let run = async {
        let mut tx = state.db.begin().await.map_err(sessions::CreateError::Db)?;
        let (secret, session) = sessions::create(
            &mut *tx,
            user,
            meta.ip.as_deref(),
            meta.user_agent.as_deref(),
            now,
            SessionPolicy::from(&*state.config),
        )
        .await?;
        let event = crate::audit::NewEvent::new(
            AuditAction::LoginSucceeded,
            ActorKind::Account,
            Outcome::Success,
        )
        .account(user.id)
        .actor(user.email.clone())
        .detail("session", &session.id_hash[..12])
        .detail("new_device", new_device)
        .from_request(meta);
        let event = match factor {
            Some(f) => event.detail("second_factor", f),
            None => event,
        };
        let event = match new_device {
            true => {
                let mut notice = crate::notifications::outbox::Notice::new(
                    crate::notifications::NoticeKind::NewDeviceSignIn,
                    user.id,
                );
                notice.details.session = Some(session.id_hash[..12].to_string());
                notice.details.browser = Some(crate::sessions::describe_user_agent(
                    meta.user_agent.as_deref(),
                ));
                event.notify(notice)
            }
            false => event,
        };
        crate::audit::chain::append(&mut tx, &state.config.keys, &[event], now)
            .await
            .map_err(sessions::CreateError::Db)?;
        tx.commit().await.map_err(sessions::CreateError::Db)?;
        Ok::<_, sessions::CreateError>((secret, session))
    };
    let (secret, session) = run.await.map_err(|e| match e {
        sessions::CreateError::Db(e) => Fault::db("session create", e),
        other => Fault::internal("session create", other),
    })?;
    tracing::info!(
        account = %user.id,
        session = &session.id_hash[..12],
        ip = meta.ip.as_deref().unwrap_or("-"),
        "signed in"
    );
    Ok(SignedIn {
        secret,
        session,
        device: None,
    })
}

/// Ends the current session on the server; the revocation and its logout
/// entry commit together.
pub async fn logout(
    state: &AppState,
    session: &AuthSession,
    event: crate::audit::NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let run = async {
        let mut tx = state.db.begin().await?;
        if sessions::revoke(
            &mut *tx,
            session.user.id,
            sessions::SessionKey::Hash(&session.id_hash),
            now,
        )
        .await?
        {
            crate::audit::chain::append(&mut tx, &state.config.keys, &[event], now).await?;
        }
        tx.commit().await
    };
    run.await.map_err(|e| Fault::db("logout", e))?;
    tracing::info!(account = %session.user.id, session = &session.id_hash[..12], "signed out");
    Ok(())
}
