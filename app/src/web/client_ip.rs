//! The client's IP address, the one every feature uses (rate limits,
//! sign-in throttling, audit entries, sessions, last use). Without trusted
//! proxies it is the TCP peer. With `PREQSTATION_TRUST_PROXY` listing the
//! proxies' addresses or CIDRs, and only when the peer is one of them, it is
//! the rightmost address of the forwarding chain that is not a trusted
//! proxy: read across every `Forwarded` header line (RFC 7239) or, when there
//! is none, every `X-Forwarded-For` line. Addresses left of that are
//! whatever the client wrote and are never used, so a client cannot choose
//! its own IP (reading only the first header line, as before, let it behind
//! HAProxy's `option forwardfor`, which adds a line of its own).

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `""`, `false`, `none`: trust nothing. `true`: a proxy on this machine
    /// (loopback). Otherwise addresses or CIDRs separated by commas or spaces.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        match raw.to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" | "none" => return Ok(Self::default()),
            "true" | "yes" | "1" => return Self::parse("127.0.0.0/8, ::1/128"),
            _ => {}
        }
        raw.split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not an IP address or CIDR (e.g. 10.0.0.0/8)"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client IP of a request that came from `peer`.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = canonical(peer?);
    if trusted.is_empty() || !trusted.trusts(peer) {
        return Some(peer);
    }
    let chain = forwarding_chain(headers);
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop {
            // An entry we cannot read ("unknown", an obfuscated name): the
            // last proxy we trust is as far as we can see.
            None => return Some(client),
            Some(ip) => {
                client = canonical(*ip);
                if !trusted.trusts(client) {
                    return Some(client);
                }
            }
        }
    }
    Some(client)
}

/// The forwarded-for addresses, oldest first, across all header lines.
fn forwarding_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(v.trim()))
                })
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(|s| parse_node(s.trim()))
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The key per-IP limits count under: the address itself for IPv4, its /64
/// for IPv6 (one subscriber usually holds a whole /64, so per-address limits
/// would not limit anyone).
pub fn rate_key(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(canonical) {
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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let h = headers(&[("x-forwarded-for", "9.9.9.9")]);
        let none = TrustedProxies::default();
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &none), ip("10.0.0.5"));
        // A peer that is not a trusted proxy cannot forward for anyone.
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(client_ip(ip("192.0.2.1"), &h, &t), ip("192.0.2.1"));
    }

    #[test]
    fn the_rightmost_untrusted_address_across_all_lines_wins() {
        let t = TrustedProxies::parse("10.0.0.0/8, 172.16.0.1").unwrap();
        // HAProxy's `option forwardfor` adds its own line after the client's.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &t), ip("203.0.113.7"));
        // A chain through two trusted proxies; the spoofed leftmost is ignored.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 172.16.0.1")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &t), ip("203.0.113.7"));
        // Garbage stops the walk at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "203.0.113.7, unknown")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &t), ip("10.0.0.2"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &t),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn forwarded_is_read_with_ports_and_ipv6() {
        let t = TrustedProxies::parse("true").unwrap();
        let h = headers(&[
            (
                "forwarded",
                r#"for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711""#,
            ),
            ("x-forwarded-for", "6.6.6.6"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=198.51.100.3:8080")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &t),
            ip("198.51.100.3")
        );
    }

    #[test]
    fn configuration_values() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("false").unwrap().is_empty());
        assert_eq!(
            TrustedProxies::parse("true").unwrap(),
            TrustedProxies::parse("127.0.0.0/8 ::1").unwrap()
        );
        assert!(TrustedProxies::parse("10.0.0.0/8,maybe").is_err());
    }

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
