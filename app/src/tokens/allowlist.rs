//! A token's IP allowlist: the networks (IPv4 and IPv6 CIDRs, `ipnet`) a
//! token may be used from. Empty means anywhere. Checked by
//! `crate::bearer` on every door a token opens, against the client IP as
//! the trusted-proxy rules compute it; a call from outside is refused with
//! 403 and the token stays valid.

use std::{fmt, net::IpAddr};

use ipnet::IpNet;

use crate::fault::{Fault, Input};

/// The most networks one token may list.
pub const MAX_ENTRIES: usize = 100;

/// The networks a token may be used from; empty: any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist(Vec<IpNet>);

impl IpAllowlist {
    /// Parses what an owner typed: CIDRs or single addresses (a bare
    /// address is its own /32 or /128), separated by commas, spaces or
    /// lines. A network with host bits set is refused with the network it
    /// probably meant, so `10.0.0.1/24` is never silently widened.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets: Vec<IpNet> = Vec::new();
        for entry in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            let net = match entry.parse::<IpNet>() {
                Ok(net) if net.addr() != net.network() => {
                    return Err(format!(
                        "{entry} has host bits set: did you mean {}/{}?",
                        net.network(),
                        net.prefix_len()
                    ))
                }
                Ok(net) => net,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(addr) => IpNet::from(addr),
                    Err(_) => {
                        return Err(format!(
                            "{entry} is not an IP address or CIDR network (e.g. 203.0.113.0/24 or 2001:db8::/32)."
                        ))
                    }
                },
            };
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        if nets.len() > MAX_ENTRIES {
            return Err(format!("List at most {MAX_ENTRIES} networks."));
        }
        Ok(IpAllowlist(nets))
    }

    /// [`IpAllowlist::parse`] for a value an owner typed: a refusal names
    /// the input.
    pub fn from_input(text: Option<&str>) -> Result<Self, Fault> {
        IpAllowlist::parse(text.unwrap_or_default())
            .map_err(|m| Fault::invalid(Input::AllowedIps, m))
    }

    /// Reads the stored form (written by [`fmt::Display`]); `None` or an
    /// empty column is any IP. A stored entry that no longer parses allows
    /// nothing rather than everything.
    pub fn from_stored(stored: Option<&str>) -> Self {
        match stored.map(IpAllowlist::parse) {
            None => IpAllowlist::default(),
            Some(Ok(list)) => list,
            Some(Err(_)) => {
                tracing::error!(
                    "a stored IP allowlist does not parse: the token is refused everywhere"
                );
                // 255.255.255.255 is the limited broadcast address: never a client.
                IpAllowlist(vec![IpNet::from(IpAddr::from([255, 255, 255, 255]))])
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether a call from `ip` may use the token: always when the list is
    /// empty; otherwise only from a known address inside one of its
    /// networks (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn allows(&self, ip: Option<&str>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let Some(addr) = ip.and_then(|ip| ip.parse::<IpAddr>().ok()) else {
            return false;
        };
        let addr = match addr {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The stored form: `None` for any IP.
    pub fn to_stored(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.to_string())
    }

    /// The networks, as text.
    pub fn entries(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.entries();
        f.write_str(&text.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_networks_of_both_families() {
        let list = IpAllowlist::parse("203.0.113.0/24, 2001:db8::/32\n192.0.2.7").unwrap();
        assert_eq!(
            list.to_string(),
            "203.0.113.0/24 2001:db8::/32 192.0.2.7/32"
        );
        assert!(list.allows(Some("203.0.113.9")));
        assert!(list.allows(Some("192.0.2.7")));
        assert!(!list.allows(Some("192.0.2.8")));
        assert!(list.allows(Some("2001:db8:1::5")));
        assert!(!list.allows(Some("2001:db9::1")));
        assert!(list.allows(Some("::ffff:203.0.113.1")), "IPv4-mapped");
        assert!(!list.allows(None), "an unknown client IP is outside");
        assert!(IpAllowlist::default().allows(None), "empty: anywhere");
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        let e = IpAllowlist::parse("10.0.0.1/24").unwrap_err();
        assert!(e.contains("10.0.0.0/24"), "{e}");
        assert!(IpAllowlist::parse("10.0.0.0/33").is_err());
        assert!(IpAllowlist::parse("example.com").is_err());
        assert!(IpAllowlist::parse("2001:db8::1/32").is_err());
        let many: Vec<String> = (0..=MAX_ENTRIES)
            .map(|i| format!("10.0.{}.0/24", i % 50))
            .collect();
        assert!(
            IpAllowlist::parse(&many.join(",")).is_ok(),
            "duplicates fold"
        );
        let many: Vec<String> = (0..=MAX_ENTRIES)
            .map(|i| format!("10.{i}.0.0/16"))
            .collect();
        assert!(IpAllowlist::parse(&many.join(",")).is_err());
    }

    #[test]
    fn what_is_stored_reads_back() {
        let list = IpAllowlist::parse("10.0.0.0/8 ::1").unwrap();
        assert_eq!(IpAllowlist::from_stored(list.to_stored().as_deref()), list);
        assert_eq!(IpAllowlist::from_stored(None), IpAllowlist::default());
        let broken = IpAllowlist::from_stored(Some("not-an-ip"));
        assert!(
            !broken.allows(Some("10.0.0.1")),
            "unreadable: nothing, not anything"
        );
    }
}
