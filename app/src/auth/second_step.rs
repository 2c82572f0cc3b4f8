//! The second step of a sign-in: the browser that typed the right password
//! holds a cookie naming a half-signed-in state (at most 5 minutes, on the
//! server); it gives an authenticator code, a recovery code or a passkey,
//! and only then gets a session and a known-device cookie. Codes are
//! throttled in the same buckets as passwords; a failure is audited.
//!
//! Also turning two-factor off, which asks for the password and a current
//! factor.

use super::{
    device::KnownDevice,
    service::{finish_sign_in, SignedIn},
    throttle,
};
use crate::{
    accounts,
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    fault::{Fault, Input},
    notifications::{outbox::Notice, NoticeKind},
    request::RequestMeta,
    second_factor::{
        challenge::{self, Pending},
        passkeys,
        service::{self as factors, Factor},
        SecondStep,
    },
    sessions::AuthSession,
    state::AppState,
    types::{CurrentUser, Timestamp},
};

/// What a browser without a live half-signed-in state is told.
pub const EXPIRED: &str = "This sign-in has expired (5 minutes). Sign in again with your password.";

async fn pending(state: &AppState, cookie: Option<&str>, now: Timestamp) -> Result<Pending, Fault> {
    challenge::pending_sign_in(&state.db, cookie, now)
        .await?
        .ok_or_else(|| Fault::Unauthenticated(EXPIRED.into()))
}

async fn account_of(state: &AppState, p: &Pending) -> Result<CurrentUser, Fault> {
    match accounts::find_by_id(&state.db, p.account)
        .await
        .map_err(|e| Fault::db("second step", e))?
    {
        Some(a) if a.disabled_at.is_none() => Ok(CurrentUser {
            id: a.id,
            email: a.email,
            role: a.role,
        }),
        _ => Err(Fault::Unauthenticated(EXPIRED.into())),
    }
}

fn event(
    meta: &RequestMeta,
    user: &CurrentUser,
    action: AuditAction,
    outcome: Outcome,
) -> NewEvent {
    NewEvent::new(action, ActorKind::Account, outcome)
        .account(user.id)
        .actor(user.email.clone())
        .from_request(meta)
}

/// What the second step offers this browser.
pub async fn offered(
    state: &AppState,
    cookie: Option<&str>,
    now: Timestamp,
) -> Result<SecondStep, Fault> {
    let p = pending(state, cookie, now).await?;
    let db = &state.db;
    let run = async {
        Ok::<_, sqlx::Error>(SecondStep {
            totp: crate::second_factor::totp::is_on(db, p.account).await?,
            passkeys: passkeys::unavailable(&state.config).is_none()
                && passkeys::count(db, p.account).await? > 0,
        })
    };
    run.await.map_err(|e| Fault::db("second step", e))
}

/// Ends the half-signed-in state (once) and starts the session.
async fn complete(
    state: &AppState,
    meta: &RequestMeta,
    p: &Pending,
    user: &CurrentUser,
    keys: &[throttle::Key],
    factor: Factor,
    now: Timestamp,
) -> Result<SignedIn, Fault> {
    if !challenge::finish(&state.db, &p.id_hash).await? {
        return Err(Fault::Unauthenticated(EXPIRED.into()));
    }
    throttle::clear(&state.db, &keys[0])
        .await
        .map_err(|e| Fault::db("login throttle clear", e))?;
    finish_sign_in(state, meta, user, p.new_device, Some(factor.as_str()), now).await
}

async fn failed(state: &AppState, meta: &RequestMeta, user: &CurrentUser, f: &Fault, how: &str) {
    let reason = match f {
        Fault::Throttled { .. } => "throttled",
        _ => "wrong_code",
    };
    let e = event(
        meta,
        user,
        AuditAction::SecondFactorFailed,
        Outcome::Failure,
    )
    .detail("factor", how)
    .detail("reason", reason)
    .security(true);
    state.audit.push(e).await;
}

/// The live state this browser's cookie names, its account, and the
/// throttle keys of a factor typed here.
async fn step(
    state: &AppState,
    meta: &RequestMeta,
    cookie: Option<&str>,
    device: Option<KnownDevice>,
    now: Timestamp,
) -> Result<(Pending, CurrentUser, Vec<throttle::Key>), Fault> {
    let p = pending(state, cookie, now).await?;
    let user = account_of(state, &p).await?;
    let keys = super::service::keys_for(&state.config, meta, device.as_ref(), &user.email, user.id);
    Ok((p, user, keys))
}

/// Completes a sign-in with an authenticator or recovery code.
pub async fn with_code(
    state: &AppState,
    meta: &RequestMeta,
    cookie: Option<&str>,
    code: &str,
    device: Option<KnownDevice>,
    now: Timestamp,
) -> Result<SignedIn, Fault> {
    let (p, user, keys) = step(state, meta, cookie, device, now).await?;
    let base = event(meta, &user, AuditAction::LoginSucceeded, Outcome::Success);
    match factors::check_code(state, &keys, user.id, code, &base, now).await {
        Ok(factor) => complete(state, meta, &p, &user, &keys, factor, now).await,
        Err(f) => {
            failed(state, meta, &user, &f, "code").await;
            Err(f)
        }
    }
}

/// The passkey request options for this browser's sign-in (JSON for
/// `navigator.credentials.get()`).
pub async fn passkey_options(
    state: &AppState,
    cookie: Option<&str>,
    now: Timestamp,
) -> Result<String, Fault> {
    let p = pending(state, cookie, now).await?;
    passkeys::sign_in_start(&state.db, &state.config, &p).await
}

/// Completes a sign-in with a passkey assertion (JSON from the browser).
pub async fn with_passkey(
    state: &AppState,
    meta: &RequestMeta,
    cookie: Option<&str>,
    credential: &str,
    device: Option<KnownDevice>,
    now: Timestamp,
) -> Result<SignedIn, Fault> {
    let (p, user, keys) = step(state, meta, cookie, device, now).await?;
    let mut outcome = None;
    let ok = super::service::throttled(state, &keys, Input::Code, "passkey attempts", now, async {
        let a = passkeys::sign_in_finish(
            &state.db,
            &state.config,
            user.id,
            p.state.as_deref(),
            credential,
            now,
        )
        .await?;
        let ok = matches!(a, passkeys::Assertion::Accepted(_));
        outcome = Some(a);
        Ok(ok)
    })
    .await;
    match (ok, outcome) {
        (Ok(true), _) => complete(state, meta, &p, &user, &keys, Factor::Passkey, now).await,
        (Ok(false), Some(passkeys::Assertion::CounterWentBack(name))) => {
            let e = event(
                meta,
                &user,
                AuditAction::PasskeyCounterRegressed,
                Outcome::Failure,
            )
            .target(name.clone())
            .security(true)
            .notify(Notice::new(NoticeKind::PasskeyCloned, user.id).reason(name));
            state.audit.push(e).await;
            Err(Fault::invalid(
                Input::Code,
                "This passkey was refused: its counter went back, so it may have been copied. \
                 Use another factor.",
            ))
        }
        (Ok(false), _) => {
            let f = Fault::invalid(Input::Code, "The passkey was not accepted. Try again.");
            failed(state, meta, &user, &f, "passkey").await;
            Err(f)
        }
        (Err(f), _) => {
            failed(state, meta, &user, &f, "passkey").await;
            Err(f)
        }
    }
}

/// Turns two-factor off for the signed-in account: the password and a
/// current code (authenticator or recovery), both under the throttle.
pub async fn turn_off(
    state: &AppState,
    session: &AuthSession,
    meta: &RequestMeta,
    password: String,
    code: &str,
    device_cookie: Option<&str>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let user = &session.user;
    let keys =
        super::service::throttle_keys(&state.config, meta, device_cookie, &user.email, user.id);
    let stored = accounts::find_by_id(&state.db, user.id)
        .await
        .map_err(|e| Fault::db("two-factor off", e))?
        .map(|a| a.password_hash);
    if password.is_empty()
        || !super::service::check_password(
            state,
            &keys,
            Input::CurrentPassword,
            password,
            stored,
            now,
        )
        .await?
    {
        return Err(Fault::invalid(
            Input::CurrentPassword,
            "The password is not right.",
        ));
    }
    factors::check_code(state, &keys, user.id, code, base, now).await?;
    factors::disable(state, user.id, base, now).await
}
