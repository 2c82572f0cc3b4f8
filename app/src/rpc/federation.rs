//! The CI federation server functions (a door): Settings > Federation for
//! the signed-in account (an administrator sees every rule and may disable
//! any). Creating, changing and enabling a rule ask for sudo mode;
//! disabling and deleting do not (stopping must be quick). Each calls
//! [`crate::federation::rules`].

// The forms post one field per argument (the server function macro
// generates the wasm side too, where an allow on the function is lost).
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    audit::{AuditAction, Outcome},
    federation::{
        rules::{self, Caller},
        Condition, Provider, RuleForm, GITHUB_ISSUER, GITLAB_ISSUER,
    },
    tokens::Scope,
    types::Timestamp,
};
use crate::{
    error::AppError,
    federation::{RuleDetail, RuleView},
};

#[cfg(feature = "ssr")]
fn caller(me: &crate::sessions::AuthSession) -> Caller {
    Caller {
        account: me.user.id,
        admin: me.user.is_admin(),
    }
}

/// The form's fields, as the page posts them (the server functions'
/// arguments).
#[cfg(feature = "ssr")]
struct RuleFields {
    name: String,
    /// `github_actions`, `gitlab` or `custom`.
    provider: String,
    /// A custom issuer's URL (ignored for the presets).
    issuer: Option<String>,
    /// GitHub's `repository_owner_id`, GitLab's `namespace_id`.
    owner_id: Option<String>,
    /// GitHub's `repository_id`, GitLab's `project_id`.
    repo_id: Option<String>,
    /// Further conditions, one `claim=pattern` a line.
    conditions: Option<String>,
    allow_fork_events: Option<String>,
    scope_projects_read: Option<String>,
    scope_tasks_read: Option<String>,
    scope_tasks_write: Option<String>,
    scope_worklogs_write: Option<String>,
    allowed_ips: Option<String>,
    /// `all`, or `selected` with `project_ids`.
    reach: Option<String>,
    project_ids: Option<Vec<String>>,
    lifetime_minutes: Option<String>,
    usage_limit: Option<String>,
}

#[cfg(feature = "ssr")]
fn ticked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty() && v != "false")
}

/// The fields as the service's form: the preset's issuer and pinned ids
/// first, then the lines of further conditions.
#[cfg(feature = "ssr")]
fn form(f: RuleFields) -> Result<RuleForm, AppError> {
    let issuer = match f.provider.as_str() {
        "github_actions" => GITHUB_ISSUER.to_string(),
        "gitlab" => GITLAB_ISSUER.to_string(),
        _ => f.issuer.clone().unwrap_or_default(),
    };
    let mut conditions = Vec::new();
    let pinned = Provider::of(&issuer).pinned();
    for (claim, value) in pinned.iter().zip([&f.owner_id, &f.repo_id]) {
        conditions.push(Condition {
            claim: claim.to_string(),
            pattern: value.clone().unwrap_or_default(),
        });
    }
    for line in f.conditions.as_deref().unwrap_or_default().lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((claim, pattern)) = line.split_once('=') else {
            return Err(AppError::field(
                "conditions",
                format!("Write each condition as claim=value: {line:?}."),
            ));
        };
        conditions.push(Condition {
            claim: claim.trim().to_string(),
            pattern: pattern.trim().to_string(),
        });
    }
    let scopes = [
        (&f.scope_projects_read, Scope::ProjectsRead),
        (&f.scope_tasks_read, Scope::TasksRead),
        (&f.scope_tasks_write, Scope::TasksWrite),
        (&f.scope_worklogs_write, Scope::WorklogsWrite),
    ]
    .into_iter()
    .filter(|(v, _)| ticked(v))
    .map(|(_, s)| s)
    .collect();
    let lifetime_minutes = match f.lifetime_minutes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(m.parse().map_err(|_| {
            AppError::field(
                "lifetime",
                "The lifetime is a whole number of minutes, 1 to 60.",
            )
        })?),
    };
    Ok(RuleForm {
        name: f.name,
        issuer,
        conditions,
        allow_fork_events: ticked(&f.allow_fork_events),
        scopes,
        projects: super::tokens::project_selection(f.reach, f.project_ids),
        allowed_ips: f.allowed_ips.unwrap_or_default(),
        lifetime_minutes,
        usage_limit: f.usage_limit.unwrap_or_default(),
    })
}

/// The signed-in account's rules (an administrator's: every rule).
#[server(prefix = "/rpc", endpoint = "federation/list")]
pub async fn list_federation_rules() -> Result<Vec<RuleView>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let (db, config) = (&cx.state.db, &cx.state.config);
    Ok(rules::list(db, config, caller(me), Timestamp::now()).await?)
}

/// One rule and its recent exchanges.
#[server(prefix = "/rpc", endpoint = "federation/get")]
pub async fn get_federation_rule(id: String) -> Result<RuleDetail, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let (db, config) = (&cx.state.db, &cx.state.config);
    Ok(rules::get(db, config, caller(me), id.trim(), Timestamp::now()).await?)
}

/// Adds a trust rule (sudo mode).
#[server(prefix = "/rpc", endpoint = "federation/create")]
pub async fn create_federation_rule(
    name: String,
    provider: String,
    issuer: Option<String>,
    owner_id: Option<String>,
    repo_id: Option<String>,
    conditions: Option<String>,
    allow_fork_events: Option<String>,
    scope_projects_read: Option<String>,
    scope_tasks_read: Option<String>,
    scope_tasks_write: Option<String>,
    scope_worklogs_write: Option<String>,
    allowed_ips: Option<String>,
    reach: Option<String>,
    project_ids: Option<Vec<String>>,
    lifetime_minutes: Option<String>,
    usage_limit: Option<String>,
) -> Result<RuleView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let fields = RuleFields {
        name,
        provider,
        issuer,
        owner_id,
        repo_id,
        conditions,
        allow_fork_events,
        scope_projects_read,
        scope_tasks_read,
        scope_tasks_write,
        scope_worklogs_write,
        allowed_ips,
        reach,
        project_ids,
        lifetime_minutes,
        usage_limit,
    };
    let form = form(fields)?;
    let base = cx.event(AuditAction::FederationRuleCreated, Outcome::Success);
    let (db, config) = (&cx.state.db, &cx.state.config);
    Ok(rules::create(db, config, caller(me), &form, &base, Timestamp::now()).await?)
}

/// Changes one of the signed-in account's rules (sudo mode).
#[server(prefix = "/rpc", endpoint = "federation/update")]
pub async fn update_federation_rule(
    id: String,
    name: String,
    provider: String,
    issuer: Option<String>,
    owner_id: Option<String>,
    repo_id: Option<String>,
    conditions: Option<String>,
    allow_fork_events: Option<String>,
    scope_projects_read: Option<String>,
    scope_tasks_read: Option<String>,
    scope_tasks_write: Option<String>,
    scope_worklogs_write: Option<String>,
    allowed_ips: Option<String>,
    reach: Option<String>,
    project_ids: Option<Vec<String>>,
    lifetime_minutes: Option<String>,
    usage_limit: Option<String>,
) -> Result<RuleView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let fields = RuleFields {
        name,
        provider,
        issuer,
        owner_id,
        repo_id,
        conditions,
        allow_fork_events,
        scope_projects_read,
        scope_tasks_read,
        scope_tasks_write,
        scope_worklogs_write,
        allowed_ips,
        reach,
        project_ids,
        lifetime_minutes,
        usage_limit,
    };
    let form = form(fields)?;
    let base = cx.event(AuditAction::FederationRuleUpdated, Outcome::Success);
    let (db, config) = (&cx.state.db, &cx.state.config);
    Ok(rules::update(
        db,
        config,
        caller(me),
        id.trim(),
        &form,
        &base,
        Timestamp::now(),
    )
    .await?)
}

/// Enables (sudo mode, the owner) or disables (the owner or an
/// administrator: its tokens die at once) a rule.
#[server(prefix = "/rpc", endpoint = "federation/enable")]
pub async fn enable_federation_rule(id: String, enabled: bool) -> Result<RuleView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = if enabled {
        cx.require_sudo()?
    } else {
        cx.require_session()?
    };
    let base = cx.event(AuditAction::FederationRuleDisabled, Outcome::Success);
    let (db, config) = (&cx.state.db, &cx.state.config);
    let now = Timestamp::now();
    Ok(rules::set_enabled(db, config, caller(me), id.trim(), enabled, &base, now).await?)
}

/// Deletes one of the signed-in account's rules; its tokens die with it.
#[server(prefix = "/rpc", endpoint = "federation/delete")]
pub async fn delete_federation_rule(id: String) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let base = cx.event(AuditAction::FederationRuleDeleted, Outcome::Success);
    let (db, config) = (&cx.state.db, &cx.state.config);
    Ok(rules::delete(db, config, caller(me), id.trim(), &base, Timestamp::now()).await?)
}
