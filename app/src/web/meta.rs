//! What a request tells about its client: IP and User-Agent, for sessions,
//! throttling and the audit log. The IP is worked out in one place
//! ([`super::client_ip`]), from the trusted proxy's one header or the peer.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::{header::USER_AGENT, Extensions, HeaderMap};

use super::client_ip::TrustedProxies;

#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id` (see `web::request_id`).
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// The metadata an earlier layer already worked out for this request, or
    /// worked out now.
    pub fn of(parts: &http::request::Parts, trusted: &TrustedProxies) -> Self {
        parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| Self::from_parts(&parts.headers, &parts.extensions, trusted))
    }

    /// The client IP per [`super::client_ip`] (the TCP peer unless it is a
    /// trusted proxy, then read from the one header the operator named).
    pub fn from_parts(
        headers: &HeaderMap,
        extensions: &Extensions,
        trusted: &TrustedProxies,
    ) -> Self {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let user_agent = headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(512).collect());
        Self {
            ip: super::client_ip::client_ip(peer, headers, trusted).map(|ip| ip.to_string()),
            user_agent,
            request_id: extensions
                .get::<super::request_id::RequestId>()
                .map(|r| r.0.clone()),
        }
    }
}
