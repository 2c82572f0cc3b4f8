//! Sudo mode, as GitHub does it: sensitive actions (creating or rotating a
//! token, changing a policy, an allowlist or a project restriction, the
//! second factor, approving a connected app, every administrator action)
//! need the session to have confirmed the password or a second factor in
//! the last 15 minutes (`PREQSTATION_SUDO_WINDOW`). Signing in counts. The
//! time is the session row's `sudo_at`, checked on the server by every
//! protected door ([`AuthSession::in_sudo`]); the page alone proves nothing.

use crate::{
    accounts,
    audit::{AuditAction, NewEvent},
    fault::{Fault, Input},
    request::RequestMeta,
    second_factor::{service as factors, totp},
    sessions::{self, AuthSession},
    state::AppState,
    types::Timestamp,
};

/// What a protected action answers outside the window.
pub const NEEDED: &str =
    "Confirm it is you: enter your password or an authenticator code to continue.";

/// Whether `session` may take a sensitive action now.
pub fn is_fresh(state: &AppState, session: &AuthSession, now: Timestamp) -> bool {
    session.in_sudo(now, state.config.sudo_window_secs)
}

/// Confirms the session with the password, or with an authenticator code
/// when the account has one (six digits), under the sign-in throttle; on
/// success the session is in sudo mode for the window.
pub async fn confirm(
    state: &AppState,
    session: &AuthSession,
    meta: &RequestMeta,
    proof: String,
    device_cookie: Option<&str>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let user = &session.user;
    if proof.trim().is_empty() {
        return Err(Fault::invalid(
            Input::SudoProof,
            "Enter your password or an authenticator code.",
        ));
    }
    let keys =
        super::service::throttle_keys(&state.config, meta, device_cookie, &user.email, user.id);
    let has_app = totp::is_on(&state.db, user.id)
        .await
        .map_err(|e| Fault::db("sudo", e))?;
    let method = if has_app && totp::looks_like_code(&proof) {
        factors::check_code(state, &keys, user.id, &proof, base, now)
            .await
            .map_err(|f| match f {
                Fault::Invalid { message, .. } => Fault::invalid(Input::SudoProof, message),
                Fault::Throttled {
                    message,
                    retry_after,
                    ..
                } => Fault::throttled(Input::SudoProof, message, retry_after as i64),
                other => other,
            })?;
        "totp"
    } else {
        let stored = accounts::find_by_id(&state.db, user.id)
            .await
            .map_err(|e| Fault::db("sudo", e))?
            .map(|a| a.password_hash);
        if proof.chars().count() > accounts::PASSWORD_MAX_CHARS
            || !super::service::check_password(state, &keys, Input::SudoProof, proof, stored, now)
                .await?
        {
            return Err(Fault::invalid(
                Input::SudoProof,
                "That is not your password or a current authenticator code.",
            ));
        }
        "password"
    };
    sessions::mark_sudo(&state.db, user.id, &session.id_hash, now)
        .await
        .map_err(|e| Fault::db("sudo", e))?;
    let event = base
        .with_action(AuditAction::SudoConfirmed)
        .detail("method", method)
        .detail("session", &session.id_hash[..12]);
    state.audit.push(event).await;
    Ok(())
}
