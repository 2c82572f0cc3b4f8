//! The sign-in, setup and sign-out flows behind the server functions. They
//! take the state, the request's metadata and an explicit `now`.

use crate::{
    accounts::{self, password::Password, AccountError, NewAccount},
    error::AppError,
    sessions::{self, AuthSession, SessionPolicy, SessionSecret},
    state::AppState,
    types::{CurrentUser, Role, Timestamp},
    web::RequestMeta,
};

use super::throttle::{self, Throttled};

/// The one message for a failed sign-in, whether the email exists or not.
pub const BAD_CREDENTIALS: &str = "Incorrect email or password.";

/// A new session and the secret for its cookie.
pub struct SignedIn {
    pub secret: SessionSecret,
    pub session: AuthSession,
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::EmailTaken => {
                AppError::field("email", "An account with this email already exists.")
            }
            AccountError::AlreadySetUp => {
                AppError::Conflict("Preqstation is already set up. Sign in instead.".into())
            }
            AccountError::InvalidEmail(m) => AppError::field("email", m),
            AccountError::WeakPassword(m) => AppError::field("password", m),
            AccountError::Hash(e) => AppError::internal("password hashing", e),
            AccountError::Db(e) => AppError::db("account query", e),
        }
    }
}

/// Creates the first (admin) account and signs it in.
pub async fn setup(
    state: &AppState,
    meta: &RequestMeta,
    email: &str,
    password: String,
    confirm: &str,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
    if password != confirm {
        return Err(AppError::field(
            "confirm",
            "The two passwords do not match.",
        ));
    }
    let new = NewAccount::validate(email, password, Role::Admin)?;
    let base = crate::audit::NewEvent::new("", "account", "success").from_request(meta);
    let account = accounts::complete_setup(&state.db, new, &base, now).await?;
    state.mark_set_up();
    tracing::info!(account = %account.id, "first-run setup completed");
    let user = CurrentUser {
        id: account.id,
        email: account.email,
        role: account.role,
    };
    start_session(state, meta, &user, now).await
}

/// Checks credentials (throttled per account and per IP) and starts a session.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    email: &str,
    password: String,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    let email = accounts::normalize_email(email).map_err(|m| AppError::field("email", m))?;
    // Over-long input is refused before any hashing work.
    if password.chars().count() > accounts::PASSWORD_MAX_CHARS {
        return Err(AppError::field("password", BAD_CREDENTIALS));
    }
    let key = throttle::account_key(&email);
    // IPv6 clients are throttled by their /64, like the API's per-IP limit.
    let ip_key = meta.ip.as_deref().map(crate::web::client_ip::rate_key);
    let ip = ip_key.as_deref();
    match throttle::check(&state.db, &state.config, &key, ip, now)
        .await
        .map_err(|e| AppError::db("login throttle", e))?
    {
        Throttled::No => {}
        Throttled::RetryAfter(secs) => {
            tracing::warn!(ip = ip.unwrap_or("-"), "sign-in throttled");
            let minutes = (secs + 59) / 60;
            return Err(AppError::TooManyRequests {
                field: "password".into(),
                message: format!(
                    "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ),
            });
        }
    }

    let account = accounts::find_by_email(&state.db, &email)
        .await
        .map_err(|e| AppError::db("login lookup", e))?;
    // Verify against a dummy hash when there is no such account, so the
    // answer takes as long either way.
    let stored = match &account {
        Some(a) => a.password_hash.clone(),
        None => accounts::password::dummy_hash()
            .await
            .map_err(|e| AppError::internal("dummy hash", e))?,
    };
    let matches = accounts::password::verify(Password::new(password), stored)
        .await
        .map_err(|e| AppError::internal("password verify", e))?;

    let account = match account {
        Some(a) if matches && a.disabled_at.is_none() => a,
        _ => {
            throttle::record_failure(&state.db, &state.config, &key, ip, now)
                .await
                .map_err(|e| AppError::db("login failure record", e))?;
            tracing::warn!(
                ip = ip.unwrap_or("-"),
                account_key = &key[..12],
                "sign-in failed"
            );
            return Err(AppError::field("password", BAD_CREDENTIALS));
        }
    };
    throttle::clear_account(&state.db, &key)
        .await
        .map_err(|e| AppError::db("login throttle clear", e))?;
    let user = CurrentUser {
        id: account.id,
        email: account.email,
        role: account.role,
    };
    start_session(state, meta, &user, now).await
}

async fn start_session(
    state: &AppState,
    meta: &RequestMeta,
    user: &CurrentUser,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
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
        let event = crate::audit::NewEvent::new("login_succeeded", "account", "success")
            .account(user.id)
            .actor(user.email.clone())
            .detail("session", &session.id_hash[..12])
            .from_request(meta);
        crate::audit::chain::append(&mut tx, &[event], now)
            .await
            .map_err(sessions::CreateError::Db)?;
        tx.commit().await.map_err(sessions::CreateError::Db)?;
        Ok::<_, sessions::CreateError>((secret, session))
    };
    let (secret, session) = run.await.map_err(|e| match e {
        sessions::CreateError::Db(e) => AppError::db("session create", e),
        other => AppError::internal("session create", other),
    })?;
    tracing::info!(
        account = %user.id,
        session = &session.id_hash[..12],
        ip = meta.ip.as_deref().unwrap_or("-"),
        "signed in"
    );
    Ok(SignedIn { secret, session })
}

/// Ends the current session on the server; the revocation and its logout
/// entry commit together.
pub async fn logout(
    state: &AppState,
    session: &AuthSession,
    event: crate::audit::NewEvent,
    now: Timestamp,
) -> Result<(), AppError> {
    let run = async {
        let mut tx = state.db.begin().await?;
        if sessions::revoke(&mut *tx, session.user.id, &session.id_hash, now).await? {
            crate::audit::chain::append(&mut tx, &[event], now).await?;
        }
        tx.commit().await
    };
    run.await.map_err(|e| AppError::db("logout", e))?;
    tracing::info!(account = %session.user.id, session = &session.id_hash[..12], "signed out");
    Ok(())
}
