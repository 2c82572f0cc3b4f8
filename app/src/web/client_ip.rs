//! The client's IP address, the one every feature uses (rate limits,
//! sign-in throttling, audit entries, sessions, last use). Without trusted
//! proxies it is the TCP peer. With `PREQSTATION_TRUST_PROXY` listing the
//! proxies' addresses or CIDRs, and only when the peer is one of them, it is
//! the rightmost address of the forwarding chain that is not a trusted
//! proxy, read across every line of the one header the operator names in
//! `PREQSTATION_TRUST_PROXY_HEADER` (`x-forwarded-for`, `forwarded` or
//! `x-real-ip`). Addresses left of that are whatever the client wrote and
//! are never used, so a client cannot choose its own IP (reading only the
//! first line let it behind HAProxy's `option forwardfor`, which adds a line
//! of its own). No other forwarding header is ever read: a proxy writes one
//! and passes the others through as the client sent them (Caddy and nginx
//! set `X-Forwarded-For` and forward a client's own `Forwarded` untouched),
//! so preferring whichever header is present let any client pick its IP.

use std::{borrow::Cow, net::IpAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The environment variable listing the trusted proxies.
pub const PROXIES_VAR: &str = "PREQSTATION_TRUST_PROXY";
/// The environment variable naming the header those proxies write.
pub const HEADER_VAR: &str = "PREQSTATION_TRUST_PROXY_HEADER";

/// The one forwarding header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardingHeader {
    /// `X-Forwarded-For: client, proxy1` (Caddy, nginx with
    /// `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`, most
    /// load balancers).
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
    /// `X-Real-IP: client`: safe only where the proxy overwrites it.
    XRealIp,
}

impl ForwardingHeader {
    pub const ALL: [Self; 3] = [Self::XForwardedFor, Self::Forwarded, Self::XRealIp];

    /// The header's name in lower case, as configured.
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
            Self::XRealIp => "x-real-ip",
        }
    }

    /// One of the names above, in any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(raw))
            .ok_or_else(|| {
                format!(
                    "expected the one header your proxy writes the client's address into: \
                     x-forwarded-for, forwarded or x-real-ip; got {raw:?}"
                )
            })
    }
}

/// A trusted-proxy setting that cannot be used, naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustProxyError {
    pub var: &'static str,
    pub message: String,
}

/// The proxies whose forwarding header is believed, and that header. Either
/// both are set or neither: there is no default header, since a silent one
/// would let clients write their own IP wherever the proxy writes another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: Option<ForwardingHeader>,
}

impl TrustedProxies {
    /// `proxies` (`PREQSTATION_TRUST_PROXY`): `""`, `false`, `none`: trust
    /// nothing. `true`: a proxy on this machine (loopback). Otherwise
    /// addresses or CIDRs separated by commas or spaces. `header`
    /// (`PREQSTATION_TRUST_PROXY_HEADER`): required when any proxy is
    /// trusted, checked whenever it is set.
    pub fn parse(proxies: &str, header: &str) -> Result<Self, TrustProxyError> {
        let header = match header.trim() {
            "" => None,
            h => Some(
                ForwardingHeader::parse(h).map_err(|message| TrustProxyError {
                    var: HEADER_VAR,
                    message,
                })?,
            ),
        };
        let nets = parse_nets(proxies).map_err(|message| TrustProxyError {
            var: PROXIES_VAR,
            message,
        })?;
        if nets.is_empty() {
            return Ok(Self::default());
        }
        match header {
            Some(header) => Ok(Self {
                nets,
                header: Some(header),
            }),
            None => Err(TrustProxyError {
                var: HEADER_VAR,
                message: format!(
                    "required when {PROXIES_VAR} is set: name the one header your proxy writes \
                     the client's address into (x-forwarded-for, forwarded or x-real-ip; see \
                     docs/deployment.md). Any other forwarding header is the client's to write."
                ),
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// The header read, when any proxy is trusted.
    pub fn header(&self) -> Option<ForwardingHeader> {
        self.header
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

fn parse_nets(raw: &str) -> Result<Vec<IpNet>, String> {
    let raw = raw.trim();
    match raw.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" | "none" => return Ok(Vec::new()),
        "true" | "yes" | "1" => return parse_nets("127.0.0.0/8, ::1/128"),
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
        .collect()
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
    let Some(header) = trusted.header.filter(|_| trusted.trusts(peer)) else {
        return Some(peer);
    };
    let mut client = peer;
    for hop in forwarding_chain(headers, header).iter().rev() {
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

/// The forwarded-for addresses in `header`, oldest first, across all its
/// lines. Empty entries are skipped; an entry that is not an address (or a
/// `Forwarded` element without `for=`) is `None`, where the walk stops.
fn forwarding_chain(headers: &HeaderMap, header: ForwardingHeader) -> Vec<Option<IpAddr>> {
    let lines: Vec<Cow<'_, str>> = headers
        .get_all(header.name())
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .collect();
    let entries = lines
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty());
    match header {
        ForwardingHeader::Forwarded => entries
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
                    })
                    .and_then(parse_node)
            })
            .collect(),
        ForwardingHeader::XForwardedFor | ForwardingHeader::XRealIp => {
            entries.map(parse_node).collect()
        }
    }
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

    fn trust(proxies: &str, header: &str) -> TrustedProxies {
        TrustedProxies::parse(proxies, header).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let h = headers(&[("x-forwarded-for", "9.9.9.9")]);
        let none = TrustedProxies::default();
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &none), ip("10.0.0.5"));
        // A peer that is not a trusted proxy cannot forward for anyone.
        let t = trust("10.0.0.0/8", "x-forwarded-for");
        assert_eq!(client_ip(ip("192.0.2.1"), &h, &t), ip("192.0.2.1"));
    }

    #[test]
    fn the_rightmost_untrusted_address_across_all_lines_wins() {
        let t = trust("10.0.0.0/8, 172.16.0.1", "x-forwarded-for");
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
    fn only_the_named_header_is_read() {
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7"),
            ("x-real-ip", "7.7.7.7"),
        ]);
        let peer = ip("127.0.0.1");
        let xff = trust("true", "X-Forwarded-For");
        assert_eq!(client_ip(peer, &h, &xff), ip("203.0.113.7"));
        let fwd = trust("true", "forwarded");
        assert_eq!(client_ip(peer, &h, &fwd), ip("6.6.6.6"));
        let real = trust("true", "x-real-ip");
        assert_eq!(client_ip(peer, &h, &real), ip("7.7.7.7"));
        // The named header missing: the proxy itself, never another header.
        let only_fwd = headers(&[("forwarded", "for=6.6.6.6")]);
        assert_eq!(client_ip(peer, &only_fwd, &xff), peer);
        assert_eq!(client_ip(peer, &only_fwd, &real), peer);
    }

    #[test]
    fn forwarded_is_read_with_ports_and_ipv6() {
        let t = trust("true", "forwarded");
        let h = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711""#,
        )]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=198.51.100.3:8080")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &t),
            ip("198.51.100.3")
        );
        // An element without `for=` is a hop we cannot see past.
        let h = headers(&[("forwarded", "for=6.6.6.6, proto=https")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("127.0.0.1"));
        // Every line counts, the proxy's own last.
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("forwarded", "for=203.0.113.7;proto=https"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.7"));
    }

    #[test]
    fn x_real_ip_walks_its_lines_too() {
        let t = trust("127.0.0.1", "x-real-ip");
        let h = headers(&[("x-real-ip", "6.6.6.6"), ("x-real-ip", "203.0.113.7")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.7"));
    }

    #[test]
    fn configuration_values() {
        assert!(TrustedProxies::parse("", "").unwrap().is_empty());
        assert!(TrustedProxies::parse("false", "").unwrap().is_empty());
        assert_eq!(
            trust("true", "forwarded"),
            trust("127.0.0.0/8 ::1", "FORWARDED")
        );
        assert_eq!(
            trust("10.0.0.1", " x-real-ip ").header(),
            Some(ForwardingHeader::XRealIp)
        );
        let err = TrustedProxies::parse("10.0.0.0/8,maybe", "x-forwarded-for").unwrap_err();
        assert_eq!(err.var, PROXIES_VAR);
        // Proxies without a header: refused, naming the header variable.
        let err = TrustedProxies::parse("10.0.0.0/8", "").unwrap_err();
        assert_eq!(err.var, HEADER_VAR);
        assert!(err
            .message
            .contains("x-forwarded-for, forwarded or x-real-ip"));
        // A header no proxy writes for us, even with no proxy trusted yet.
        for bad in ["x-forwarded-host", "true", "x-forwarded-for, forwarded"] {
            let err = TrustedProxies::parse("10.0.0.0/8", bad).unwrap_err();
            assert_eq!(err.var, HEADER_VAR, "{bad}");
            assert_eq!(TrustedProxies::parse("", bad).unwrap_err().var, HEADER_VAR);
        }
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
