//! The credentials inventory's server functions (a door, administrators
//! only): list every account's API keys and connected apps, and revoke any
//! of them, through [`crate::tokens::inventory`].

use leptos::prelude::*;

use crate::error::AppError;
use crate::tokens::inventory::Credential;
#[cfg(feature = "ssr")]
use crate::{
    tokens::inventory::{CredentialKind, Filter, Query},
    types::Timestamp,
};

/// Every account's credentials matching the filter (`expiring_7`,
/// `expiring_30`, `never_used`, `unused_90`, `no_expiry`, `no_allowlist`),
/// the status and the search (a prefix or a whole token), newest first.
#[server(prefix = "/rpc", endpoint = "admin/credentials")]
pub async fn list_credentials(
    filter: Option<String>,
    status: Option<String>,
    search: Option<String>,
) -> Result<Vec<Credential>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    crate::rpc::accounts::require_admin(&cx)?;
    let filter = match filter.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(f) => {
            Some(Filter::parse(f).ok_or_else(|| AppError::field("filter", "Unknown filter."))?)
        }
    };
    let status = match status.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(s) => Some(
            crate::tokens::TokenStatus::parse(s)
                .ok_or_else(|| AppError::field("status", "Unknown status filter."))?,
        ),
    };
    let query = Query {
        filter,
        status,
        search,
        account: None,
    };
    crate::tokens::inventory::list(&cx.state.db, &cx.state.config, &query, Timestamp::now())
        .await
        .map_err(Into::into)
}

/// Revokes any account's API key (`kind` = `api_key`) or connected app
/// (`oauth_grant`) as the signed-in administrator.
#[server(prefix = "/rpc", endpoint = "admin/credentials/revoke")]
pub async fn admin_revoke_credential(
    kind: String,
    id: String,
    note: Option<String>,
) -> Result<Credential, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = crate::rpc::accounts::require_admin(&cx)?;
    cx.require_sudo()?;
    let kind = CredentialKind::parse(kind.trim())
        .ok_or_else(|| AppError::NotFound("No such credential.".into()))?;
    let base = cx.event(
        crate::audit::AuditAction::TokenRevoked,
        crate::audit::Outcome::Success,
    );
    crate::tokens::inventory::revoke(
        &cx.state.db,
        &cx.state.config,
        kind,
        id.trim(),
        crate::tokens::inventory::Revoker::Admin(me),
        note.as_deref(),
        &base,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}
