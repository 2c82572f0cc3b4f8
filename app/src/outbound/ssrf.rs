//! The addresses an outbound fetch of a URL anyone chose must never reach:
//! every block of IANA's IPv4 and IPv6 Special-Purpose Address Registries
//! (RFC 6890 and its updates, as published in 2026), whether or not the
//! registry calls it globally reachable (a relay or an anycast service is
//! not a client's web server either), plus multicast, the deprecated
//! site-local and IPv4-compatible blocks, and any IPv6 address that embeds
//! an IPv4 one (mapped, NAT64, 6to4, Teredo are all in the lists).

use std::{net::IpAddr, sync::LazyLock};

use ipnet::IpNet;

/// IANA IPv4 Special-Purpose Address Registry, and multicast.
const V4: &[&str] = &[
    "0.0.0.0/8",          // "this network"
    "10.0.0.0/8",         // private
    "100.64.0.0/10",      // shared address space (CGNAT)
    "127.0.0.0/8",        // loopback
    "169.254.0.0/16",     // link-local (cloud metadata services)
    "172.16.0.0/12",      // private
    "192.0.0.0/24",       // IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
    "192.0.2.0/24",       // documentation (TEST-NET-1)
    "192.31.196.0/24",    // AS112-v4
    "192.52.193.0/24",    // AMT
    "192.88.99.0/24",     // deprecated 6to4 relay anycast
    "192.168.0.0/16",     // private
    "192.175.48.0/24",    // direct delegation AS112 service
    "198.18.0.0/15",      // benchmarking
    "198.51.100.0/24",    // documentation (TEST-NET-2)
    "203.0.113.0/24",     // documentation (TEST-NET-3)
    "224.0.0.0/4",        // multicast
    "240.0.0.0/4",        // reserved
    "255.255.255.255/32", // limited broadcast
];

/// IANA IPv6 Special-Purpose Address Registry, multicast, and the
/// deprecated blocks that still route somewhere unexpected.
const V6: &[&str] = &[
    "::/128",            // unspecified
    "::1/128",           // loopback
    "::/96",             // IPv4-compatible (deprecated)
    "::ffff:0:0/96",     // IPv4-mapped
    "64:ff9b::/96",      // NAT64 well-known prefix
    "64:ff9b:1::/48",    // NAT64 local-use
    "100::/64",          // discard-only
    "100:0:0:1::/64",    // dummy prefix
    "2001::/23",         // IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID, ...)
    "2001:db8::/32",     // documentation
    "2002::/16",         // 6to4
    "2620:4f:8000::/48", // direct delegation AS112 service
    "3fff::/20",         // documentation
    "5f00::/16",         // segment routing (SRv6) SIDs
    "fc00::/7",          // unique local
    "fe80::/10",         // link-local
    "fec0::/10",         // site-local (deprecated)
    "ff00::/8",          // multicast
];

static BLOCKS: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    V4.iter()
        .chain(V6)
        // The lists are constants, parsed in a unit test: none is skipped.
        .filter_map(|b| b.parse().ok())
        .collect()
});

/// True when a fetch must not connect to `ip`.
pub fn forbidden(ip: IpAddr) -> bool {
    BLOCKS.iter().any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_block_parses() {
        for b in V4.iter().chain(V6) {
            assert!(b.parse::<IpNet>().is_ok(), "{b}");
        }
        assert_eq!(BLOCKS.len(), V4.len() + V6.len());
    }

    #[test]
    fn special_purpose_addresses_are_forbidden_and_public_ones_are_not() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.170",
            "192.88.99.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "3fff::1",
            "ff02::1",
        ] {
            assert!(forbidden(a.parse().unwrap()), "{a}");
        }
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
        ] {
            assert!(!forbidden(a.parse().unwrap()), "{a}");
        }
    }
}
