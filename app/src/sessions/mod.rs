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

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

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
