//! Server functions behind the consent page and Settings > Connected apps.
//! The consent decision itself is a plain form POST to `/oauth/decision`
//! ([`super::http::consent`]), so the browser follows the redirect to the
//! client like any form submission.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the consent page shows about a parked authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentDetails {
    pub request: String,
    pub client_name: String,
    /// The metadata document's host, or "registered dynamically, unverified".
    pub source: String,
    pub verified: bool,
    /// Where the answer goes (host and port).
    pub redirect_host: String,
    pub localhost_only: bool,
    /// (scope, what it allows)
    pub scopes: Vec<(String, String)>,
}

/// One connected app (a live grant) of the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedApp {
    pub id: String,
    pub client_name: String,
    pub client_source: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used: Option<String>,
}

/// One connected app's page: the app, the projects it is limited to
/// (`None`: every project) and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetail {
    pub app: ConnectedApp,
    pub projects: Option<Vec<crate::tokens::TokenProject>>,
    pub activity: crate::tokens::usage::Activity,
    /// The live task-scoped tokens its access tokens were exchanged for.
    #[serde(default)]
    pub task_tokens: Vec<crate::tokens::task::TaskTokenView>,
    pub now: crate::types::Timestamp,
}

#[server(prefix = "/rpc", endpoint = "oauth/consent-info")]
pub async fn consent_info(request: String) -> Result<ConsentDetails, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    cx.require_session()?;
    let now = crate::types::Timestamp::now();
    let gone = || {
        AppError::NotFound(
            "This authorization request has expired or was already answered. Start again from the application."
                .into(),
        )
    };
    let pending = super::flow::pending(&cx.state.db, request.trim(), now)
        .await
        .map_err(|e| AppError::db("load authorization request", e))?
        .ok_or_else(gone)?;
    let client = super::clients::resolve(&cx.state.db, &cx.state.config, &pending.client_id, now)
        .await
        .map_err(|_| gone())?;
    let redirect_host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_default();
    Ok(ConsentDetails {
        request: pending.id,
        client_name: client.name.clone(),
        source: client.source(),
        verified: client.kind == super::clients::ClientKind::MetadataDocument,
        redirect_host,
        localhost_only: client.localhost_only(),
        scopes: pending
            .scopes
            .iter()
            .map(|s| (s.as_str().to_string(), s.describe().to_string()))
            .collect(),
    })
}

/// Whose apps a call is about: the signed-in account, or (admins only)
/// the account named by `account`.
#[cfg(feature = "ssr")]
fn whose(
    cx: &crate::web::ServerFnContext,
    account: Option<&str>,
) -> Result<crate::types::AccountId, AppError> {
    let me = cx.require_session()?;
    match account.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(me.user.id),
        Some(a) if a == me.user.id.to_string() => Ok(me.user.id),
        Some(a) => {
            crate::rpc::accounts::require_admin(cx)?;
            crate::types::AccountId::parse(a)
                .ok_or_else(|| AppError::NotFound("No such account.".into()))
        }
    }
}

/// The connected apps of the signed-in account, or of `account` for an admin
/// (Admin > Accounts).
#[server(prefix = "/rpc", endpoint = "oauth/connected-apps")]
pub async fn connected_apps(account: Option<String>) -> Result<Vec<ConnectedApp>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let owner = whose(&cx, account.as_deref())?;
    let list = super::grants::list(&cx.state.db, owner)
        .await
        .map_err(|e| AppError::db("list connected apps", e))?;
    Ok(list.into_iter().map(app_of).collect())
}

#[cfg(feature = "ssr")]
fn app_of(g: super::grants::GrantView) -> ConnectedApp {
    ConnectedApp {
        id: g.id,
        client_name: g.client_name,
        client_source: g.client_source,
        scopes: g.scopes,
        created_at: g.created_at.display_utc(),
        last_used: g.last_used_at.map(|t| {
            format!(
                "{} from {}",
                t.display_utc(),
                g.last_used_ip.as_deref().unwrap_or("unknown")
            )
        }),
    }
}

/// One connected app of the signed-in account: its page.
#[server(prefix = "/rpc", endpoint = "oauth/app-detail")]
pub async fn get_app_detail(id: String) -> Result<AppDetail, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let now = crate::types::Timestamp::now();
    let found = super::activity::detail(&cx.state.db, me.user.id, id.trim(), now)
        .await
        .map_err(|e| AppError::db("connected app", e))?;
    let (grant, projects, activity) =
        found.ok_or_else(|| AppError::NotFound("No such connected app.".into()))?;
    let app = app_of(grant);
    let task_tokens =
        crate::tokens::task::manage::live_for_subject(&cx.state.db, me.user.id, &app.id, now)
            .await
            .map_err(|e| AppError::db("connected app", e))?;
    Ok(AppDetail {
        app,
        projects,
        activity,
        task_tokens,
        now,
    })
}

/// Revokes a connected app of the signed-in account (or, for an admin, of
/// `account`): its access and refresh tokens stop working at once, on
/// every instance.
#[server(prefix = "/rpc", endpoint = "oauth/revoke-app")]
pub async fn revoke_app(id: String, account: Option<String>) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let owner = whose(&cx, account.as_deref())?;
    let me = cx.require_session()?;
    let base = cx.event(
        crate::audit::AuditAction::OauthGrantRevoked,
        crate::audit::Outcome::Success,
    );
    let reason = if owner == me.user.id {
        "revoked_by_owner"
    } else {
        "revoked_by_admin"
    };
    let done = super::revocation::revoke(
        &cx.state.db,
        &cx.state.config.keys,
        owner,
        id.trim(),
        reason,
        &base,
        crate::types::Timestamp::now(),
    )
    .await
    .map_err(|e| AppError::db("revoke connected app", e))?;
    if !done {
        return Err(AppError::NotFound("No such connected app.".into()));
    }
    tracing::info!(account = %owner, by = %me.user.id, grant = id.trim(), "connected app revoked");
    Ok(())
}
