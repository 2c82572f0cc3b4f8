//! Requests the server makes to URLs someone else chose (a client's
//! metadata document, a webhook endpoint, an OIDC issuer's discovery document and keys), and
//! the guard every one of them goes through:
//! - https only, no credentials or fragment in the URL;
//! - the host is resolved for every request, and refused if *any* address
//!   is in IANA's special-purpose registries ([`ssrf`]);
//! - the connection goes to the address that was checked (the resolver is
//!   pinned for that client: no second lookup an attacker could rebind);
//! - no redirects, and no proxy whatever `HTTP(S)_PROXY` say (a proxy
//!   resolves the name itself, so the pin would not hold);
//! - bounded time, and bodies read up to a limit ([`read_limited`]).
//!
//! Hosts an operator lists in the server's configuration skip the address
//! check and may use http (tests, or an internal host they trust); no
//! dashboard setting can add one.

pub mod ssrf;

use std::{net::SocketAddr, time::Duration};

pub use ssrf::forbidden;

/// Why a URL may not be fetched, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("is not a URL")]
    NotUrl,
    #[error("has no host")]
    NoHost,
    #[error("must use https")]
    NotHttps,
    #[error("must not carry credentials or a fragment")]
    Credentials,
    #[error("did not resolve in time")]
    ResolveTimeout,
    #[error("does not resolve")]
    NoAddress,
    #[error("resolves to a private or reserved address")]
    Private,
    #[error("could not be set up")]
    Setup,
}

/// A URL checked by the guard, and a client pinned to its checked address.
pub struct Guarded {
    pub url: url::Url,
    pub client: reqwest::Client,
    /// The address the client connects to.
    pub addr: SocketAddr,
}

/// True when `host` is one the operator exempted (`allow_hosts`).
pub fn is_exempt(allow_hosts: &[String], host: &str) -> bool {
    allow_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// Checks `url` without resolving it: the scheme (https unless the host is
/// exempt), a host, no credentials or fragment, and no IP literal in a
/// special-purpose block. What a form checks when the URL is saved.
pub fn check_shape(allow_hosts: &[String], url: &str) -> Result<url::Url, Refused> {
    let url = url::Url::parse(url).map_err(|_| Refused::NotUrl)?;
    let host = url.host_str().ok_or(Refused::NoHost)?.to_string();
    let exempt = is_exempt(allow_hosts, &host);
    if !matches!(url.scheme(), "https" | "http") || (url.scheme() != "https" && !exempt) {
        return Err(Refused::NotHttps);
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(Refused::Credentials);
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<std::net::IpAddr>() {
        if !exempt && forbidden(ip) {
            return Err(Refused::Private);
        }
    }
    Ok(url)
}

/// Resolves `url`'s host now, refuses a special-purpose address, and builds
/// a client that connects only to the checked address, follows no
/// redirects, uses no proxy and gives up after `timeout`.
pub async fn guard(
    allow_hosts: &[String],
    url: &str,
    timeout: Duration,
    user_agent: &str,
) -> Result<Guarded, Refused> {
    let url = check_shape(allow_hosts, url)?;
    let host = url.host_str().ok_or(Refused::NoHost)?.to_string();
    let exempt = is_exempt(allow_hosts, &host);
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        timeout,
        tokio::net::lookup_host((lookup_host.as_str(), port)),
    )
    .await
    .map_err(|_| Refused::ResolveTimeout)?
    .map_err(|_| Refused::NoAddress)?
    .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(Refused::NoAddress);
    };
    if !exempt && addrs.iter().any(|a| forbidden(a.ip())) {
        tracing::warn!(host = %host, "outbound request to a private or reserved address refused");
        return Err(Refused::Private);
    }
    let client = reqwest::Client::builder()
        // A proxy would resolve the host itself: the checked address would
        // not be the one connected to.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        // Connect to the address that was checked, not a fresh lookup.
        .resolve(&lookup_host, first)
        .user_agent(user_agent)
        .build()
        .map_err(|_| Refused::Setup)?;
    Ok(Guarded {
        url,
        client,
        addr: first,
    })
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Read,
}

/// Reads `res`'s body, refusing it past `max` bytes (by its declared length
/// or as it streams).
pub async fn read_limited(res: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|_| BodyError::Read)? {
        body.extend_from_slice(&chunk);
        if body.len() > max {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(body)
}

/// How long an answer may be cached, in milliseconds, by its
/// `Cache-Control`: `max-age` clamped to between a minute and `max_ms`;
/// `default_ms` without one; at most a minute for `no-store`/`no-cache`.
pub fn cache_ms(header: Option<&http::HeaderValue>, default_ms: i64, max_ms: i64) -> i64 {
    let Some(v) = header.and_then(|h| h.to_str().ok()) else {
        return default_ms;
    };
    if v.contains("no-store") || v.contains("no-cache") {
        return default_ms.min(60_000);
    }
    v.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .filter_map(|n| n.trim().parse::<i64>().ok())
        .next()
        .map_or(default_ms, |s| s.saturating_mul(1000).clamp(60_000, max_ms))
}

/// A transport error in a few words (never the URL's query).
pub fn short(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "it took too long"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked_before_any_lookup() {
        let none: Vec<String> = Vec::new();
        assert!(check_shape(&none, "https://hooks.example/x").is_ok());
        assert_eq!(
            check_shape(&none, "http://hooks.example/x").unwrap_err(),
            Refused::NotHttps
        );
        assert_eq!(
            check_shape(&none, "ftp://hooks.example/x").unwrap_err(),
            Refused::NotHttps
        );
        assert_eq!(
            check_shape(&none, "https://u:p@hooks.example/x").unwrap_err(),
            Refused::Credentials
        );
        assert_eq!(
            check_shape(&none, "https://hooks.example/x#f").unwrap_err(),
            Refused::Credentials
        );
        assert_eq!(
            check_shape(&none, "https://127.0.0.1/x").unwrap_err(),
            Refused::Private
        );
        assert_eq!(
            check_shape(&none, "https://[::1]/x").unwrap_err(),
            Refused::Private
        );
        assert_eq!(
            check_shape(&none, "https://169.254.169.254/latest").unwrap_err(),
            Refused::Private
        );
        assert_eq!(check_shape(&none, "nope").unwrap_err(), Refused::NotUrl);
        let allow = vec!["127.0.0.1".to_string()];
        assert!(check_shape(&allow, "http://127.0.0.1:9/x").is_ok());
    }
}
