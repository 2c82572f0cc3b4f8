//! The server functions of a token's page that bound what it does: its
//! usage limit, and the task-scoped tokens exchanged from it (revoke one,
//! revoke all). Each calls [`crate::tokens`] for the signed-in account.

use leptos::prelude::*;

use crate::error::AppError;
use crate::tokens::TokenView;
#[cfg(feature = "ssr")]
use crate::{tokens::task::manage, types::Timestamp};

/// Sets the usage limit of one of the signed-in account's API keys:
/// `usage_limit` calls (empty: no limit), refilled to `usage_refill_amount`
/// (default the limit) each `usage_refill_period` (`none`, `day`, `month`).
#[server(prefix = "/rpc", endpoint = "tokens/usage-limit")]
pub async fn set_token_usage_limit(
    id: String,
    usage_limit: Option<String>,
    usage_refill_amount: Option<String>,
    usage_refill_period: Option<String>,
) -> Result<TokenView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let limit = crate::tokens::limit::UsageLimit::from_input(
        usage_limit.as_deref(),
        usage_refill_amount.as_deref(),
        usage_refill_period.as_deref(),
    )
    .map_err(|m| crate::fault::Fault::invalid(crate::fault::Input::UsageLimit, m))?;
    let base = cx.event(
        crate::audit::AuditAction::TokenUpdated,
        crate::audit::Outcome::Success,
    );
    crate::tokens::service::set_usage_limit(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        id.trim(),
        limit,
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}

/// Revokes one task-scoped token of the signed-in account (`id`), or every
/// live one of the subject token `subject` (`id` empty). Returns how many.
#[server(prefix = "/rpc", endpoint = "tokens/task-tokens/revoke")]
pub async fn revoke_task_tokens(id: Option<String>, subject: String) -> Result<u64, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let base = cx.event(
        crate::audit::AuditAction::TaskTokenRevoked,
        crate::audit::Outcome::Success,
    );
    let which = match id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        Some(one) => manage::Which::One(one),
        None => manage::Which::AllOf(subject.trim()),
    };
    let n = manage::revoke(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        which,
        "revoked",
        &base,
        Timestamp::now(),
    )
    .await?;
    tracing::info!(account = %me.user.id, revoked = n, "task tokens revoked");
    Ok(n)
}
