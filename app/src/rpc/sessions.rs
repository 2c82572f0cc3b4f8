//! The sessions page's server functions (a door): list the signed-in
//! account's sessions and end one or all others.

use leptos::prelude::*;

use crate::error::AppError;
use crate::sessions::*;
#[cfg(feature = "ssr")]
use crate::types::Timestamp;

/// The signed-in account's active sessions, most recently used first.
#[server(prefix = "/rpc", endpoint = "sessions/list")]
pub async fn list_sessions() -> Result<Vec<SessionView>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let rows = list_active(
        &cx.state.db,
        me.user.id,
        &me.id_hash,
        Timestamp::now(),
        SessionPolicy::from(&*cx.state.config),
    )
    .await
    .map_err(|e| AppError::db("list sessions", e))?;
    Ok(rows
        .into_iter()
        .map(|r| SessionView {
            id: r.public_id.to_string(),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            ip: r.ip,
            browser: describe_user_agent(r.user_agent.as_deref()),
            is_current: r.is_current,
        })
        .collect())
}

/// Ends one of the signed-in account's sessions. Another account's session
/// id matches nothing.
#[server(prefix = "/rpc", endpoint = "sessions/revoke")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    use crate::types::SessionPublicId;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let Some(public_id) = SessionPublicId::parse(id.trim()) else {
        return Err(AppError::NotFound("No such session.".into()));
    };
    let now = Timestamp::now();
    let event = cx
        .event(
            crate::audit::AuditAction::SessionRevoked,
            crate::audit::Outcome::Success,
        )
        .target(public_id.to_string());
    let run = async {
        let mut tx = cx.state.db.begin().await?;
        let done = revoke(&mut *tx, me.user.id, SessionKey::Public(public_id), now).await?;
        if done {
            crate::audit::chain::append(&mut tx, &cx.state.config.keys, &[event], now).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(done)
    };
    let done = run.await.map_err(|e| AppError::db("revoke session", e))?;
    if !done {
        return Err(AppError::NotFound("That session has already ended.".into()));
    }
    tracing::info!(account = %me.user.id, session = %public_id, "session revoked");
    if public_id == me.public_id {
        cx.set_cookie(&removal_cookie());
        leptos_axum::redirect("/login");
    }
    Ok(())
}

/// Ends every session of the signed-in account except this one.
#[server(prefix = "/rpc", endpoint = "sessions/revoke-others")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let now = Timestamp::now();
    let run = async {
        let mut tx = cx.state.db.begin().await?;
        let n = revoke_all_except(&mut *tx, me.user.id, Some(&me.id_hash), now).await?;
        let event = cx
            .event(
                crate::audit::AuditAction::SessionRevoked,
                crate::audit::Outcome::Success,
            )
            .target("all other sessions")
            .detail("count", n);
        crate::audit::chain::append(&mut tx, &cx.state.config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n)
    };
    let n = run
        .await
        .map_err(|e| AppError::db("revoke other sessions", e))?;
    tracing::info!(account = %me.user.id, count = n, "other sessions revoked");
    Ok(n)
}
