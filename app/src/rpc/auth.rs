//! The sign-in server functions (a door): first-run setup, sign-in and its
//! second step (a code or a passkey), sudo mode's confirmation, sign-out and
//! who is signed in, each calling [`crate::auth::service`] with the
//! request's metadata and cookies.

#[cfg(feature = "ssr")]
use crate::fault::Fault;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::{device, second_step, service};
use crate::{
    error::AppError,
    types::{CurrentUser, FormSecret},
};

/// Creates the first account (an admin) and signs it in. Only while no
/// account exists.
#[server(prefix = "/rpc", endpoint = "setup")]
pub async fn setup(
    setup_code: FormSecret,
    email: String,
    password: FormSecret,
    confirm: FormSecret,
) -> Result<(), AppError> {
    use crate::{sessions, types::Timestamp, web::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let signed_in = service::setup(
        &cx.state,
        &cx.meta,
        setup_code.expose(),
        &email,
        password.take(),
        confirm.expose(),
        Timestamp::now(),
    )
    .await?;

    let policy = sessions::SessionPolicy::from(&*cx.state.config);
    cx.set_cookie(&sessions::session_cookie(
        &signed_in.secret.to_cookie_value(&cx.state.config.keys),
        signed_in.session.cookie_max_age(Timestamp::now(), policy),
    ));
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs in with email and password. Always a fresh session id. Answers
/// `true` when signed in, `false` when the second step follows (the browser
/// is sent to `/login/two-factor`).
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    email: String,
    password: FormSecret,
    next: Option<String>,
) -> Result<bool, AppError> {
    use crate::{types::Timestamp, web::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let signed_in = match service::login(
        &cx.state,
        &cx.meta,
        &email,
        password.take(),
        known_device(&cx),
        Timestamp::now(),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            let normalized = crate::accounts::normalize_email(&email).unwrap_or_default();
            let account = crate::accounts::find_by_email(&cx.state.db, &normalized)
                .await
                .ok()
                .flatten();
            let (action, reason) = match &e {
                Fault::Throttled { .. } => {
                    (crate::audit::AuditAction::RateLimited, "login_throttled")
                }
                Fault::Unavailable => (crate::audit::AuditAction::RateLimited, "hashing_busy"),
                _ => (crate::audit::AuditAction::LoginFailed, "bad_credentials"),
            };
            let mut event = cx
                .event(action, crate::audit::Outcome::Failure)
                .target(normalized.chars().take(254).collect::<String>())
                .detail("reason", reason)
                .security(true);
            if let Some(a) = account {
                event = event.account(a.id);
            }
            cx.state.audit.push(event).await;
            return Err(e.into());
        }
    };
    match signed_in {
        service::LoginOutcome::SignedIn(signed_in) => {
            set_session(&cx, signed_in).await?;
            leptos_axum::redirect(&crate::web::safe_next(next.as_deref().unwrap_or("/")));
            Ok(true)
        }
        service::LoginOutcome::SecondFactor { cookie } => {
            cx.set_cookie(&pending_cookie(&cookie, crate::second_factor::PENDING_SECS));
            let next = crate::web::safe_next(next.as_deref().unwrap_or("/"));
            leptos_axum::redirect(&format!(
                "/login/two-factor?next={}",
                crate::web::percent_encode(&next)
            ));
            Ok(false)
        }
    }
}

/// The cookie naming a half-signed-in state (`max_age` 0 deletes it).
#[cfg(feature = "ssr")]
fn pending_cookie(value: &str, max_age: i64) -> String {
    format!(
        "{}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age}",
        crate::second_factor::challenge::COOKIE_NAME
    )
}

/// Sends the cookies of a complete sign-in (session, known device) and
/// ends the browser's previous session, if it had one.
#[cfg(feature = "ssr")]
async fn set_session(
    cx: &crate::web::ServerFnContext,
    signed_in: service::SignedIn,
) -> Result<(), AppError> {
    use crate::{sessions, types::Timestamp};
    // Signing in again from a signed-in browser ends the old session.
    if let Some(old) = &cx.session {
        let event = cx
            .event(
                crate::audit::AuditAction::Logout,
                crate::audit::Outcome::Success,
            )
            .detail("session", &old.id_hash[..12])
            .detail("reason", "signed in again");
        service::logout(&cx.state, old, event, Timestamp::now()).await?;
    }
    let policy = sessions::SessionPolicy::from(&*cx.state.config);
    cx.set_cookie(&sessions::session_cookie(
        &signed_in.secret.to_cookie_value(&cx.state.config.keys),
        signed_in.session.cookie_max_age(Timestamp::now(), policy),
    ));
    if let Some(value) = &signed_in.device {
        cx.set_cookie(&device::cookie(value));
    }
    cx.set_cookie(&pending_cookie("", 0));
    Ok(())
}

/// What the second step of this browser's sign-in offers (authenticator
/// code, passkey), or why there is nothing to complete.
#[server(prefix = "/rpc", endpoint = "login/second-step")]
pub async fn second_step() -> Result<crate::second_factor::SecondStep, AppError> {
    use crate::{second_factor::challenge::COOKIE_NAME, types::Timestamp};
    let cx = crate::web::ServerFnContext::get()?;
    Ok(second_step::offered(
        &cx.state,
        cx.cookie(COOKIE_NAME).as_deref(),
        Timestamp::now(),
    )
    .await?)
}

/// Completes a sign-in with an authenticator code or a recovery code.
#[server(prefix = "/rpc", endpoint = "login/code")]
pub async fn login_code(code: FormSecret, next: Option<String>) -> Result<(), AppError> {
    use crate::{second_factor::challenge::COOKIE_NAME, types::Timestamp};
    let cx = crate::web::ServerFnContext::get()?;
    let signed_in = second_step::with_code(
        &cx.state,
        &cx.meta,
        cx.cookie(COOKIE_NAME).as_deref(),
        code.expose(),
        known_device(&cx),
        Timestamp::now(),
    )
    .await?;
    set_session(&cx, signed_in).await?;
    leptos_axum::redirect(&crate::web::safe_next(next.as_deref().unwrap_or("/")));
    Ok(())
}

/// The passkey request options for this browser's sign-in (JSON).
#[server(prefix = "/rpc", endpoint = "login/passkey-options")]
pub async fn login_passkey_options() -> Result<String, AppError> {
    use crate::{second_factor::challenge::COOKIE_NAME, types::Timestamp};
    let cx = crate::web::ServerFnContext::get()?;
    Ok(second_step::passkey_options(
        &cx.state,
        cx.cookie(COOKIE_NAME).as_deref(),
        Timestamp::now(),
    )
    .await?)
}

/// Completes a sign-in with a passkey assertion (JSON from
/// `navigator.credentials.get()`); answers the local path to go to.
#[server(prefix = "/rpc", endpoint = "login/passkey")]
pub async fn login_passkey(credential: String, next: Option<String>) -> Result<String, AppError> {
    use crate::{second_factor::challenge::COOKIE_NAME, types::Timestamp};
    let cx = crate::web::ServerFnContext::get()?;
    if credential.len() > 16 * 1024 {
        return Err(AppError::field(
            "code",
            "The browser's answer is too large.",
        ));
    }
    let signed_in = second_step::with_passkey(
        &cx.state,
        &cx.meta,
        cx.cookie(COOKIE_NAME).as_deref(),
        &credential,
        known_device(&cx),
        Timestamp::now(),
    )
    .await?;
    set_session(&cx, signed_in).await?;
    Ok(crate::web::safe_next(next.as_deref().unwrap_or("/")))
}

/// The request's verified known-device cookie.
#[cfg(feature = "ssr")]
fn known_device(cx: &crate::web::ServerFnContext) -> Option<device::KnownDevice> {
    cx.cookie(device::COOKIE_NAME)
        .and_then(|v| device::verify(&cx.state.config.keys, &v))
}

/// Confirms the password or an authenticator code again (sudo mode), so
/// sensitive actions are allowed for the next minutes.
#[server(prefix = "/rpc", endpoint = "auth/sudo")]
pub async fn confirm_sudo(sudo_proof: FormSecret) -> Result<(), AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let session = cx.require_session_allowing_enrolment()?;
    let base = cx.event(
        crate::audit::AuditAction::SudoConfirmed,
        crate::audit::Outcome::Success,
    );
    crate::auth::sudo::confirm(
        &cx.state,
        session,
        &cx.meta,
        sudo_proof.take(),
        cx.cookie(device::COOKIE_NAME).as_deref(),
        &base,
        Timestamp::now(),
    )
    .await?;
    Ok(())
}

/// Ends the session on the server and clears the browser's cookies.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::{sessions, types::Timestamp, web::ServerFnContext};
    let cx = ServerFnContext::get()?;
    if let Some(session) = &cx.session {
        let event = cx
            .event(
                crate::audit::AuditAction::Logout,
                crate::audit::Outcome::Success,
            )
            .detail("session", &session.id_hash[..12]);
        service::logout(&cx.state, session, event, Timestamp::now()).await?;
    }
    cx.set_cookie(&sessions::removal_cookie());
    cx.response.insert_header(
        http::header::HeaderName::from_static("clear-site-data"),
        http::HeaderValue::from_static("\"cookies\""),
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in account, or `None`.
#[server(prefix = "/rpc", endpoint = "me")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    Ok(cx.session.map(|s| s.user))
}
