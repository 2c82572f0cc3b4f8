//! The Audit Logs page's server function (a door): a page of the signed-in
//! account's entries (administrators: optionally everyone's).

use leptos::prelude::*;

use crate::audit::*;
use crate::error::AppError;

/// The signed-in account's audit entries (admins: optionally everyone's).
#[server(prefix = "/rpc", endpoint = "audit/list")]
pub async fn list_audit(filter: AuditFilter, before: Option<i64>) -> Result<AuditPage, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let scope = query::Scope::for_user(&me.user, &filter)?;
    let (entries, next_before) = query::page(&cx.state.db, &scope, &filter, before, 50).await?;
    Ok(AuditPage {
        entries,
        next_before,
        is_admin: me.user.is_admin(),
    })
}
