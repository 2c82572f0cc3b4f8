//! The sign-in server functions (a door): first-run setup, sign-in,
//! sign-out and who is signed in, each calling [`crate::auth::service`] with the
//! request's metadata and cookies.

#[cfg(feature = "ssr")]
use crate::fault::Fault;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::{device, service};
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

/// Signs in with email and password. Always a fresh session id.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    email: String,
    password: FormSecret,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{sessions, types::Timestamp, web::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let device = cx
        .cookie(device::COOKIE_NAME)
        .and_then(|v| device::verify(&cx.state.config.keys, &v));
    let signed_in = match service::login(
        &cx.state,
        &cx.meta,
        &email,
        password.take(),
        device,
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
    leptos_axum::redirect(&crate::web::safe_next(next.as_deref().unwrap_or("/")));
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
