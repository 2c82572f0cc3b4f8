//! What a door knows about the request that reaches the domain: the
//! client's IP (already worked out from the trusted proxy's header or the
//! peer, by `web::client_ip`), its User-Agent and the request id, for
//! sessions, throttling and the audit log; and the key per-IP limits count
//! under. Plain data: the doors build it, the domain reads it.

use std::net::IpAddr;

/// The client of one request.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// The key this client's per-IP limits count under ([`rate_key`]).
    pub fn ip_rate_key(&self) -> Option<String> {
        self.ip.as_deref().map(rate_key)
    }
}

/// The key per-IP limits count under: the address itself for IPv4, its /64
/// for IPv6 (one subscriber usually holds a whole /64, so per-address limits
/// would not limit anyone). IPv4-mapped IPv6 addresses count as IPv4.
pub fn rate_key(ip: &str) -> String {
    let parsed = ip.parse::<IpAddr>().map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    });
    match parsed {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        assert_eq!(
            rate_key("2001:db8:1:2:aaaa::1"),
            rate_key("2001:db8:1:2:bbbb::9")
        );
        assert_ne!(rate_key("2001:db8:1:2::1"), rate_key("2001:db8:1:3::1"));
        assert_eq!(rate_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(rate_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(rate_key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
