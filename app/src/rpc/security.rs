//! The second-factor server functions (a door): Settings > Security (the
//! authenticator app, passkeys, recovery codes, turning it off), and the
//! administrators' policy and reset. Every change asks for sudo mode; each
//! calls [`crate::second_factor::service`].

use leptos::prelude::*;

use crate::{
    error::AppError,
    second_factor::{RecoveryCodes, SecurityView, TotpEnrolment},
    types::FormSecret,
};

#[cfg(feature = "ssr")]
fn event(cx: &crate::web::ServerFnContext) -> crate::audit::NewEvent {
    cx.event(
        crate::audit::AuditAction::TwoFactorEnabled,
        crate::audit::Outcome::Success,
    )
}

/// The signed-in account's second factors.
#[server(prefix = "/rpc", endpoint = "security/status")]
pub async fn security_status() -> Result<SecurityView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session_allowing_enrolment()?;
    Ok(crate::second_factor::service::status(&cx.state, me.user.id).await?)
}

/// Starts setting up an authenticator app: a new secret and its QR code.
#[server(prefix = "/rpc", endpoint = "security/totp/start")]
pub async fn start_totp() -> Result<TotpEnrolment, AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo_allowing_enrolment()?;
    let mut e = crate::second_factor::totp::start(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        &me.user.email,
        Timestamp::now(),
    )
    .await?;
    e.qr_svg = crate::second_factor::totp::data_url(&e.qr_svg);
    Ok(e)
}

/// Confirms the authenticator app with a code from it; the recovery codes
/// when this turned two-factor on.
#[server(prefix = "/rpc", endpoint = "security/totp/confirm")]
pub async fn confirm_totp(code: FormSecret) -> Result<Option<RecoveryCodes>, AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo_allowing_enrolment()?;
    Ok(crate::second_factor::service::enable_totp(
        &cx.state,
        me.user.id,
        code.expose(),
        &event(&cx),
        Timestamp::now(),
    )
    .await?)
}

/// Turns two-factor off: the password and a current code.
#[server(prefix = "/rpc", endpoint = "security/disable")]
pub async fn disable_two_factor(
    current_password: FormSecret,
    code: FormSecret,
) -> Result<(), AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    crate::auth::second_step::turn_off(
        &cx.state,
        me,
        &cx.meta,
        current_password.take(),
        code.expose(),
        cx.cookie(crate::auth::device::COOKIE_NAME).as_deref(),
        &event(&cx),
        Timestamp::now(),
    )
    .await?;
    Ok(())
}

/// Replaces the recovery codes with ten new ones, shown once.
#[server(prefix = "/rpc", endpoint = "security/recovery/regenerate")]
pub async fn regenerate_recovery_codes() -> Result<RecoveryCodes, AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo_allowing_enrolment()?;
    Ok(crate::second_factor::service::regenerate(
        &cx.state,
        me.user.id,
        &event(&cx),
        Timestamp::now(),
    )
    .await?)
}

/// Begins registering a passkey: the creation options (JSON).
#[server(prefix = "/rpc", endpoint = "security/passkeys/start")]
pub async fn start_passkey() -> Result<String, AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo_allowing_enrolment()?;
    Ok(crate::second_factor::passkeys::register_start(
        &cx.state.db,
        &cx.state.config,
        me.user.id,
        &me.user.email,
        &me.id_hash,
        Timestamp::now(),
    )
    .await?)
}

/// Stores the passkey the browser created (JSON); the recovery codes when
/// this turned two-factor on.
#[server(prefix = "/rpc", endpoint = "security/passkeys/finish")]
pub async fn finish_passkey(
    passkey_name: String,
    credential: String,
) -> Result<Option<RecoveryCodes>, AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo_allowing_enrolment()?;
    if credential.len() > 64 * 1024 {
        return Err(AppError::field(
            "passkey_name",
            "The browser's answer is too large.",
        ));
    }
    Ok(crate::second_factor::service::add_passkey(
        &cx.state,
        me.user.id,
        &me.id_hash,
        &passkey_name,
        &credential,
        &event(&cx),
        Timestamp::now(),
    )
    .await?)
}

/// Removes one of the signed-in account's passkeys.
#[server(prefix = "/rpc", endpoint = "security/passkeys/remove")]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo_allowing_enrolment()?;
    crate::second_factor::service::remove_passkey(
        &cx.state,
        me.user.id,
        id.trim(),
        &event(&cx),
        Timestamp::now(),
    )
    .await?;
    Ok(())
}

/// Whether every account must have a second factor (administrators).
#[server(prefix = "/rpc", endpoint = "admin/security-policy")]
pub async fn security_policy() -> Result<bool, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    crate::rpc::accounts::require_admin(&cx)?;
    crate::second_factor::service::required(&cx.state.db)
        .await
        .map_err(|e| AppError::db("security policy", e))
}

/// Requires (or stops requiring) a second factor for every account.
#[server(prefix = "/rpc", endpoint = "admin/security-policy/update")]
pub async fn update_security_policy(require_two_factor: Option<String>) -> Result<(), AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    crate::rpc::accounts::require_admin(&cx)?;
    let me = cx.require_sudo()?;
    let require = matches!(require_two_factor.as_deref(), Some("on" | "true" | "1"));
    crate::second_factor::service::set_required(
        &cx.state,
        &me.user,
        require,
        &event(&cx),
        Timestamp::now(),
    )
    .await?;
    Ok(())
}

/// Resets an account's second factor (administrators): every factor and
/// recovery code goes; the owner is notified.
#[server(prefix = "/rpc", endpoint = "admin/accounts/reset-two-factor")]
pub async fn reset_two_factor(id: String) -> Result<(), AppError> {
    use crate::types::Timestamp;
    let cx = crate::web::ServerFnContext::get()?;
    crate::rpc::accounts::require_admin(&cx)?;
    cx.require_sudo()?;
    let target = crate::types::AccountId::parse(id.trim())
        .ok_or_else(|| AppError::NotFound("No such account.".into()))?;
    let account = crate::accounts::find_by_id(&cx.state.db, target)
        .await
        .map_err(|e| AppError::db("reset two-factor", e))?
        .ok_or_else(|| AppError::NotFound("No such account.".into()))?;
    crate::second_factor::service::admin_reset(
        &cx.state.db,
        &cx.state.config.keys,
        target,
        &account.email,
        "an administrator",
        &event(&cx),
        Timestamp::now(),
    )
    .await?;
    Ok(())
}
