//! The dashboard's Overview: what needs the owner's attention (tokens that
//! expire soon, recent security events) and a few counts.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{audit::AuditEntry, error::AppError, tokens::TokenView};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub active_tokens: usize,
    pub max_active_tokens: i64,
    pub expiring_soon: Vec<TokenView>,
    pub recent_security_events: Vec<AuditEntry>,
    pub projects: usize,
}

#[server(prefix = "/rpc", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    use crate::{
        audit::{query, AuditFilter},
        tokens::{self, TokenStatus},
        types::Timestamp,
    };
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let now = Timestamp::now();
    let active = tokens::service::list(
        &cx.state.db,
        me.user.id,
        Some(TokenStatus::Active),
        false,
        now,
    )
    .await
    .map_err(|e| AppError::db("overview tokens", e))?;
    let policy = tokens::policy::load(&cx.state.db)
        .await
        .map_err(|e| AppError::db("overview policy", e))?;
    let security = AuditFilter {
        security_only: Some("on".into()),
        ..Default::default()
    };
    let scope = query::Scope::for_user(&me.user, &security)?;
    let (recent, _) = query::page(&cx.state.db, &scope, &security, None, 5).await?;
    let projects = crate::projects::service::list_all(&cx.state.db, me.user.id)
        .await
        .map_err(|e| AppError::db("overview projects", e))?;
    Ok(Overview {
        active_tokens: active.iter().filter(|t| t.rotated_to.is_none()).count(),
        max_active_tokens: policy.max_active_tokens,
        expiring_soon: active
            .iter()
            .filter(|t| t.expires_soon())
            .cloned()
            .collect(),
        recent_security_events: recent,
        projects: projects.len(),
    })
}
