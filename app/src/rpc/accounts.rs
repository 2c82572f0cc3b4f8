//! The account server functions (a door): the signed-in owner's password
//! change and the administrators' account management, each calling the
//! account services with the request's session and metadata.

use leptos::prelude::*;

use crate::accounts::*;
#[cfg(feature = "ssr")]
use crate::fault::{Fault, Input};
#[cfg(feature = "ssr")]
use crate::types::{Role, Timestamp};
use crate::{error::AppError, types::FormSecret};

/// Changes the signed-in account's password. Other sessions end; API tokens
/// are revoked unless `keep_tokens` is ticked. Returns a summary sentence.
#[server(prefix = "/rpc", endpoint = "account/password")]
pub async fn change_password(
    current_password: FormSecret,
    new_password: FormSecret,
    confirm: FormSecret,
    keep_tokens: Option<String>,
) -> Result<String, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let keep = keep_tokens.is_some_and(|v| !v.is_empty() && v != "false");
    let device = cx.cookie(crate::auth::device::COOKIE_NAME);
    let keys = crate::auth::service::throttle_keys(
        &cx.state.config,
        &cx.meta,
        device.as_deref(),
        &me.user.email,
        me.user.id,
    );
    let ended = admin::change_password(
        &cx.state,
        &keys,
        me.user.id,
        &me.id_hash,
        admin::PasswordChange {
            current: current_password.take(),
            new: new_password.take(),
            confirm: confirm.take(),
            keep_tokens: keep,
        },
        &cx.event(
            crate::audit::AuditAction::PasswordChanged,
            crate::audit::Outcome::Success,
        ),
        Timestamp::now(),
    )
    .await;
    if let Err(e) = &ended {
        let reason = match e {
            Fault::Throttled { .. } => Some("throttled"),
            Fault::Invalid {
                input: Input::CurrentPassword,
                ..
            } => Some("wrong_current_password"),
            _ => None,
        };
        if let Some(reason) = reason {
            let event = cx
                .event(
                    crate::audit::AuditAction::PasswordChangeFailed,
                    crate::audit::Outcome::Failure,
                )
                .detail("reason", reason)
                .security(true);
            cx.state.audit.push(event).await;
        }
    }
    let ended = ended?;
    tracing::info!(account = %me.user.id, sessions = ended.sessions, tokens = ended.tokens, "password changed");
    Ok(format!(
        "Password changed. {} other session{} signed out{}.",
        ended.sessions,
        if ended.sessions == 1 {
            " was"
        } else {
            "s were"
        },
        if keep {
            String::from("; your API tokens were kept")
        } else {
            format!(
                "; {} API token{} revoked",
                ended.tokens,
                if ended.tokens == 1 { " was" } else { "s were" }
            )
        }
    ))
}

#[cfg(feature = "ssr")]
pub(crate) fn require_admin(
    cx: &crate::web::ServerFnContext,
) -> Result<crate::types::AccountId, AppError> {
    let me = cx.require_session()?;
    if me.user.is_admin() {
        Ok(me.user.id)
    } else {
        Err(AppError::Forbidden(
            "Only administrators can do this.".into(),
        ))
    }
}

#[cfg(feature = "ssr")]
fn parse_account_id(id: &str) -> Result<crate::types::AccountId, AppError> {
    crate::types::AccountId::parse(id.trim())
        .ok_or_else(|| AppError::NotFound("No such account.".into()))
}

/// All accounts (administrators only).
#[server(prefix = "/rpc", endpoint = "admin/accounts")]
pub async fn list_accounts() -> Result<Vec<AccountSummary>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    require_admin(&cx)?;
    let now = Timestamp::now();
    let idle_cutoff = now.plus_secs(-cx.state.config.session_max_age_secs);
    admin::list(&cx.state.db, now, idle_cutoff)
        .await
        .map_err(|e| AppError::db("list accounts", e))
}

/// Creates an account with an initial password (administrators only).
#[server(prefix = "/rpc", endpoint = "admin/accounts/create")]
pub async fn create_account(
    email: String,
    role: String,
    password: FormSecret,
) -> Result<String, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let admin_id = require_admin(&cx)?;
    cx.require_sudo()?;
    let role = Role::parse(role.trim())
        .ok_or_else(|| AppError::field("role", "Choose admin or member."))?;
    let new = NewAccount::validate(&email, password.take(), role).map_err(Fault::from)?;
    let base = cx.event(
        crate::audit::AuditAction::AccountCreated,
        crate::audit::Outcome::Success,
    );
    let account = create(
        &cx.state.db,
        &cx.state.config.keys,
        new,
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Fault::from)?;
    tracing::info!(by = %admin_id, account = %account.id, role = role.as_str(), "account created");
    Ok(account.email)
}

/// Disables or re-enables an account (administrators only). Disabling ends
/// its sessions and revokes its tokens.
#[server(prefix = "/rpc", endpoint = "admin/accounts/disable")]
pub async fn set_account_disabled(id: String, disabled: String) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let admin_id = require_admin(&cx)?;
    cx.require_sudo()?;
    let target = parse_account_id(&id)?;
    let disabled = match disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::field(
                "disabled",
                "Send disabled=true or disabled=false.",
            ))
        }
    };
    let ended = admin::set_disabled(
        &cx.state.db,
        &cx.state.config.keys,
        Some(admin_id),
        target,
        disabled,
        &cx.event(
            crate::audit::AuditAction::AccountDisabled,
            crate::audit::Outcome::Success,
        ),
        Timestamp::now(),
    )
    .await?;
    tracing::info!(by = %admin_id, account = %target, disabled, sessions = ended.sessions, tokens = ended.tokens, "account status changed");
    Ok(())
}

/// Ends every session and revokes every token of an account (administrators only).
#[server(prefix = "/rpc", endpoint = "admin/accounts/invalidate")]
pub async fn invalidate_account(id: String) -> Result<String, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let admin_id = require_admin(&cx)?;
    cx.require_sudo()?;
    let target = parse_account_id(&id)?;
    let ended = admin::invalidate(
        &cx.state.db,
        &cx.state.config.keys,
        admin_id,
        target,
        &cx.event(
            crate::audit::AuditAction::SessionsInvalidated,
            crate::audit::Outcome::Success,
        ),
        Timestamp::now(),
    )
    .await?;
    tracing::info!(by = %admin_id, account = %target, sessions = ended.sessions, tokens = ended.tokens, "account sessions and tokens invalidated");
    Ok(format!(
        "Ended {} sessions and revoked {} tokens.",
        ended.sessions, ended.tokens
    ))
}
