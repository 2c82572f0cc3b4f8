//! The token server functions (a door): the API Keys page's list, create,
//! revoke and rotate, and the Policies page, each calling
//! [`crate::tokens::service`] or [`crate::tokens::policy`] for the signed-in account.

// The create form posts one field per input (each scope a checkbox); its
// server function takes them one by one, in the server and browser builds.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::tokens::*;
#[cfg(feature = "ssr")]
use crate::types::Timestamp;

/// Lists the signed-in account's tokens, newest first; `status` filters
/// (`active`, `expired`, `revoked`), `hide_revoked` drops revoked ones.
#[server(prefix = "/rpc", endpoint = "tokens/list")]
pub async fn list_tokens(
    status: Option<String>,
    hide_revoked: Option<String>,
) -> Result<Vec<TokenView>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let status = match status.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(s) => Some(
            TokenStatus::parse(s)
                .ok_or_else(|| AppError::field("status", "Unknown status filter."))?,
        ),
    };
    let hide_revoked = matches!(hide_revoked.as_deref(), Some("true" | "on" | "1"));
    service::list(
        &cx.state.db,
        me.user.id,
        status,
        hide_revoked,
        Timestamp::now(),
    )
    .await
    .map_err(|e| AppError::db("list tokens", e))
}

/// One page (50 rows) of the signed-in account's tokens in one status
/// (`active` by default, `expired`, `revoked`, `all`), newest first, with
/// the count of each status: what Settings > API Keys shows.
#[server(prefix = "/rpc", endpoint = "tokens/page")]
pub async fn list_token_page(
    status: Option<String>,
    page: Option<u32>,
) -> Result<TokenPage, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let status = match status.as_deref().map(str::trim) {
        None | Some("") | Some("active") => Some(TokenStatus::Active),
        Some("all") => None,
        Some(s) => Some(
            TokenStatus::parse(s)
                .ok_or_else(|| AppError::field("status", "Unknown status filter."))?,
        ),
    };
    service::page(
        &cx.state.db,
        me.user.id,
        status,
        page.unwrap_or(1).max(1),
        Timestamp::now(),
    )
    .await
    .map_err(|e| AppError::db("list tokens", e))
}

/// Creates a token for the signed-in account and returns it, once.
#[server(prefix = "/rpc", endpoint = "tokens/create")]
pub async fn create_token(
    name: String,
    description: Option<String>,
    expiry: String,
    custom_date: Option<String>,
    scope_projects_read: Option<String>,
    scope_tasks_read: Option<String>,
    scope_tasks_write: Option<String>,
    scope_worklogs_write: Option<String>,
    scope_tokens_rotate_self: Option<String>,
    scope_tokens_delegate: Option<String>,
    allowed_ips: Option<String>,
    reach: Option<String>,
    project_ids: Option<Vec<String>>,
    usage_limit: Option<String>,
    usage_refill_amount: Option<String>,
    usage_refill_period: Option<String>,
) -> Result<CreatedToken, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let checked = [
        (scope_projects_read, Scope::ProjectsRead),
        (scope_tasks_read, Scope::TasksRead),
        (scope_tasks_write, Scope::TasksWrite),
        (scope_worklogs_write, Scope::WorklogsWrite),
        (scope_tokens_rotate_self, Scope::TokensRotateSelf),
        (scope_tokens_delegate, Scope::TokensDelegate),
    ];
    let scopes: Vec<Scope> = checked
        .into_iter()
        .filter(|(v, _)| v.as_deref().is_some_and(|v| !v.is_empty() && v != "false"))
        .map(|(_, s)| s)
        .collect();
    let now = Timestamp::now();
    let request = service::NewToken::from_form(
        &name,
        description.as_deref(),
        &expiry,
        custom_date.as_deref(),
        scopes,
        now,
    )?
    .allow_from(allowed_ips.as_deref())?
    .limited(
        usage_limit.as_deref(),
        usage_refill_amount.as_deref(),
        usage_refill_period.as_deref(),
    )?
    .reaching(project_selection(reach, project_ids));
    let base = cx.event(
        crate::audit::AuditAction::TokenCreated,
        crate::audit::Outcome::Success,
    );
    let (secret, view) = service::create(
        &cx.state.db,
        &cx.state.config,
        me.user.id,
        request,
        &base,
        now,
    )
    .await?;
    tracing::info!(account = %me.user.id, token = %view.prefix, "token created");
    Ok(CreatedToken {
        token: secret.expose().to_string(),
        view,
        api_url: cx.state.config.public_url.clone(),
    })
}

/// Revokes one of the signed-in account's tokens. Idempotent.
#[server(prefix = "/rpc", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let base = cx.event(
        crate::audit::AuditAction::TokenRevoked,
        crate::audit::Outcome::Success,
    );
    service::revoke(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        id.trim(),
        service::Revocation {
            by: Some(me.user.id),
            reason: "revoked",
            base: &base,
        },
        Timestamp::now(),
    )
    .await?;
    Ok(())
}

/// How many other working tokens revoking this one ends (its rotation
/// family: tokens rotated from it, and a predecessor still in its grace).
#[server(prefix = "/rpc", endpoint = "tokens/revoke-preview")]
pub async fn revoke_preview(id: String) -> Result<u64, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    if uuid::Uuid::parse_str(id.trim()).is_err() {
        return Err(AppError::NotFound("No such token.".into()));
    }
    service::revoke_preview(&cx.state.db, me.user.id, id.trim())
        .await
        .map_err(|e| AppError::db("revoke preview", e))
}

/// Rotates one of the signed-in account's tokens; returns the successor, once.
#[server(prefix = "/rpc", endpoint = "tokens/rotate")]
pub async fn rotate_token(id: String, grace: String) -> Result<CreatedToken, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let grace = service::Grace::parse(&grace)
        .ok_or_else(|| AppError::field("grace", "Choose how long the old token keeps working."))?;
    let base = cx.event(
        crate::audit::AuditAction::TokenRotated,
        crate::audit::Outcome::Success,
    );
    let (secret, view) = service::rotate(
        &cx.state.db,
        &cx.state.config,
        me.user.id,
        id.trim(),
        grace,
        &base,
        Timestamp::now(),
    )
    .await?;
    Ok(CreatedToken {
        token: secret.expose().to_string(),
        view,
        api_url: cx.state.config.public_url.clone(),
    })
}

/// The token policy (everyone signed in may read it: the form needs it).
#[server(prefix = "/rpc", endpoint = "tokens/policy")]
pub async fn get_token_policy() -> Result<TokenPolicy, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    cx.require_session()?;
    policy::load(&cx.state.db)
        .await
        .map_err(|e| AppError::db("load policy", e))
}

/// Changes the token policy. Admins only.
#[server(prefix = "/rpc", endpoint = "tokens/policy/update")]
pub async fn update_token_policy(
    default_expiry: String,
    max_lifetime: String,
    max_active_tokens: String,
    revoke_family_on_reuse: Option<String>,
    revoke_unused_after: Option<String>,
    task_token_max: Option<String>,
) -> Result<TokenPolicy, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    if !me.user.is_admin() {
        return Err(AppError::Forbidden(
            "Only administrators can change token policies.".into(),
        ));
    }
    let new = policy::parse_form(
        &default_expiry,
        &max_lifetime,
        &max_active_tokens,
        revoke_family_on_reuse.as_deref(),
        revoke_unused_after.as_deref(),
        task_token_max.as_deref(),
    )?;
    let base = cx.event(
        crate::audit::AuditAction::PolicyChanged,
        crate::audit::Outcome::Success,
    );
    policy::update(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        &new,
        &base,
        Timestamp::now(),
    )
    .await?;
    tracing::info!(account = %me.user.id, ?new, "token policy changed");
    Ok(new)
}

/// One of the signed-in account's tokens with its page: family, creator,
/// calls per day, last calls and IPs.
#[server(prefix = "/rpc", endpoint = "tokens/detail")]
pub async fn get_token_detail(id: String) -> Result<TokenDetail, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    service::detail(&cx.state.db, me.user.id, id.trim(), Timestamp::now())
        .await
        .map_err(|e| AppError::db("token detail", e))?
        .ok_or_else(|| AppError::NotFound("No such token.".into()))
}

/// Renames one of the signed-in account's tokens and sets its description.
#[server(prefix = "/rpc", endpoint = "tokens/label")]
pub async fn set_token_label(
    id: String,
    name: String,
    description: Option<String>,
) -> Result<TokenView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let label = service::label(&name, description.as_deref())?;
    let base = cx.event(
        crate::audit::AuditAction::TokenUpdated,
        crate::audit::Outcome::Success,
    );
    service::set_label(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        id.trim(),
        label,
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}

/// Sets the networks one of the signed-in account's tokens may be used
/// from: CIDRs or addresses, separated by commas, spaces or lines; empty
/// for any IP.
#[server(prefix = "/rpc", endpoint = "tokens/allowlist")]
pub async fn set_token_allowlist(id: String, allowed_ips: String) -> Result<TokenView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let allowed = crate::tokens::allowlist::IpAllowlist::from_input(Some(&allowed_ips))?;
    let base = cx.event(
        crate::audit::AuditAction::TokenUpdated,
        crate::audit::Outcome::Success,
    );
    service::set_allowlist(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        id.trim(),
        &allowed,
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}

/// Limits one of the signed-in account's tokens to some of its projects
/// (`reach` = `selected`, the projects in `project_ids[]`), or lets it
/// reach every project (`reach` = `all`).
#[server(prefix = "/rpc", endpoint = "tokens/projects")]
pub async fn set_token_projects(
    id: String,
    reach: Option<String>,
    project_ids: Option<Vec<String>>,
) -> Result<TokenView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let base = cx.event(
        crate::audit::AuditAction::TokenUpdated,
        crate::audit::Outcome::Success,
    );
    let projects = project_selection(reach, project_ids);
    service::set_projects(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        id.trim(),
        projects.as_deref(),
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}

/// The form's project choice: `reach=selected` with the ticked
/// `project_ids[]`, or every project.
#[cfg(feature = "ssr")]
pub(crate) fn project_selection(
    reach: Option<String>,
    ids: Option<Vec<String>>,
) -> Option<Vec<String>> {
    (reach.as_deref().map(str::trim) == Some("selected")).then(|| {
        ids.unwrap_or_default()
            .into_iter()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .collect()
    })
}

/// How many working API keys and connected apps the signed-in account has:
/// what "Revoke everything" would end.
#[server(prefix = "/rpc", endpoint = "tokens/revoke-all-preview")]
pub async fn revoke_all_preview() -> Result<crate::accounts::CredentialCounts, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    crate::accounts::kill_switch::count(&cx.state.db, me.user.id, Timestamp::now())
        .await
        .map_err(Into::into)
}

/// The kill switch: revokes every working API key and connected app of the
/// signed-in account. `confirm` must be `revoke`.
#[server(prefix = "/rpc", endpoint = "tokens/revoke-all")]
pub async fn revoke_all_credentials(
    confirm: String,
) -> Result<crate::accounts::CredentialCounts, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    if confirm.trim() != "revoke" {
        return Err(AppError::field("confirm", "Type revoke to confirm."));
    }
    let base = cx.event(
        crate::audit::AuditAction::CredentialsRevoked,
        crate::audit::Outcome::Success,
    );
    crate::accounts::kill_switch::revoke_all(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}
