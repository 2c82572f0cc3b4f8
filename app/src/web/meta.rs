//! What a request tells about its client: IP and User-Agent, for sessions,
//! throttling and (later) the audit log.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::{header::USER_AGENT, Extensions, HeaderMap};

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
    pub fn of(parts: &http::request::Parts, trust_proxy: bool) -> Self {
        parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| Self::from_parts(&parts.headers, &parts.extensions, trust_proxy))
    }

    /// With `trust_proxy`, the client IP is the last `X-Forwarded-For` hop
    /// (the one our reverse proxy appended); otherwise the TCP peer.
    pub fn from_parts(headers: &HeaderMap, extensions: &Extensions, trust_proxy: bool) -> Self {
        let forwarded = trust_proxy
            .then(|| {
                headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(',').next())
                    .map(str::trim)
                    .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                    .map(|ip| ip.to_string())
            })
            .flatten();
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(512).collect());
        Self {
            ip: forwarded.or(peer),
            user_agent,
            request_id: extensions
                .get::<super::request_id::RequestId>()
                .map(|r| r.0.clone()),
        }
    }
}
