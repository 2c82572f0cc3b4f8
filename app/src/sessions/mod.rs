//! Browser sessions: a random server-side session named by an HMAC-signed
//! `__Host-session` cookie.
//!
//! The cookie carries `base64url(secret) "." base64url(HMAC-SHA256(key, secret))`.
//! The database stores only SHA-256(secret), so a database dump cannot be
//! replayed as a cookie, and a forged cookie is refused before any query.
//! Sessions are rows, so every instance sharing the database agrees on them.

#[cfg(feature = "ssr")]
mod cookie_value;
#[cfg(feature = "ssr")]
mod service;
#[cfg(feature = "ssr")]
pub use cookie_value::*;
#[cfg(feature = "ssr")]
pub use service::*;

/// The cookie's name: `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const COOKIE_NAME: &str = "__Host-session";

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{error::AppError, types::Timestamp};

/// A session as Settings > Sessions shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    pub browser: String,
    pub is_current: bool,
}

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
        let done = revoke_by_public_id(&mut *tx, me.user.id, public_id, now).await?;
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

/// "Chrome on Linux" from a User-Agent string; good enough to recognise a
/// session, not a fingerprint.
pub fn describe_user_agent(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "Unknown client".into();
    };
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        "Unknown browser"
    };
    let os = if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_string(),
    }
}
