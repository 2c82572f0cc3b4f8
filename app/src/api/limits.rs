//! Rate limits (governor, GCRA): per client IP before authentication and per
//! token after it, plus a tighter one for token verification. Limits are
//! per instance (documented in docs/api.md): N instances allow up to N times
//! the configured rate.
//!
//! Headers follow draft-ietf-httpapi-ratelimit-headers:
//! `RateLimit-Policy: "token";q=120;w=60` and `RateLimit: "token";r=87;t=17`.

use std::{num::NonZeroU32, sync::Arc};

use governor::{
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The outcome of one check, with what the headers report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateState {
    pub policy: &'static str,
    pub quota: u32,
    pub remaining: u32,
    /// Seconds until the quota is full again.
    pub reset_secs: u64,
    /// Set when the request is refused: seconds until one more is allowed.
    pub retry_after_secs: Option<u64>,
}

impl RateState {
    /// Of two limits' states, the one that binds: refused before allowed,
    /// then the one with fewer requests left.
    pub fn min_by_remaining(self, other: RateState) -> RateState {
        match (self.retry_after_secs, other.retry_after_secs) {
            (Some(_), None) => self,
            (None, Some(_)) => other,
            _ if self.remaining <= other.remaining => self,
            _ => other,
        }
    }

    pub fn policy_header(&self) -> String {
        format!("\"{}\";q={};w=60", self.policy, self.quota)
    }

    pub fn limit_header(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.policy, self.remaining, self.reset_secs
        )
    }
}

pub struct Limiter {
    policy: &'static str,
    per_minute: u32,
    inner: Keyed,
}

impl Limiter {
    pub fn new(policy: &'static str, per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            policy,
            per_minute: n.get(),
            inner: RateLimiter::keyed(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>(),
        }
    }

    pub fn check(&self, key: &str) -> RateState {
        let refill = 60.0 / self.per_minute as f64;
        match self.inner.check_key(&key.to_string()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                RateState {
                    policy: self.policy,
                    quota: self.per_minute,
                    remaining,
                    reset_secs: ((self.per_minute - remaining.min(self.per_minute)) as f64 * refill)
                        .ceil() as u64,
                    retry_after_secs: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                RateState {
                    policy: self.policy,
                    quota: self.per_minute,
                    remaining: 0,
                    reset_secs: (self.per_minute as f64 * refill).ceil() as u64,
                    retry_after_secs: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                }
            }
        }
    }

    /// The check for a client IP, under the key every per-IP limit uses
    /// ([`crate::request::rate_key`]: IPv6 grouped by /64), so no
    /// limit can be dodged by walking through one's own /64.
    pub fn check_ip(&self, ip: &str) -> RateState {
        self.check(&crate::request::rate_key(ip))
    }

    /// Drops state for keys not seen recently (called periodically).
    pub fn retain_recent(&self) {
        self.inner.retain_recent();
    }
}

/// The limiters of one instance.
pub struct RateLimits {
    pub per_ip: Limiter,
    pub per_token: Limiter,
    pub verify: Limiter,
    /// OAuth dynamic registrations per client IP (10 a minute).
    pub oauth_register: Limiter,
    /// Token exchanges per subject token (task-scoped tokens minted).
    pub exchange: Limiter,
    /// Leaked-token reports per client IP (60 a minute).
    pub leak_report: Limiter,
    /// CI federation exchanges per trust rule (60 a minute).
    pub federation: Limiter,
}

impl RateLimits {
    pub fn new(per_ip: u32, per_token: u32, verify: u32) -> Arc<Self> {
        Arc::new(Self {
            per_ip: Limiter::new("ip", per_ip),
            per_token: Limiter::new("token", per_token),
            verify: Limiter::new("verify", verify),
            oauth_register: Limiter::new("oauth-register", 10),
            exchange: Limiter::new("exchange", 60),
            leak_report: Limiter::new("leak-report", 60),
            federation: Limiter::new("federation", 60),
        })
    }

    pub fn retain_recent(&self) {
        self.per_ip.retain_recent();
        self.per_token.retain_recent();
        self.verify.retain_recent();
        self.oauth_register.retain_recent();
        self.exchange.retain_recent();
        self.leak_report.retain_recent();
        self.federation.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses() {
        let l = Limiter::new("token", 3);
        assert_eq!(l.check("a").remaining, 2);
        assert_eq!(l.check("a").remaining, 1);
        assert_eq!(l.check("a").remaining, 0);
        let refused = l.check("a");
        assert!(refused.retry_after_secs.is_some());
        assert_eq!(refused.limit_header(), "\"token\";r=0;t=60");
        assert_eq!(refused.policy_header(), "\"token\";q=3;w=60");
        assert!(
            l.check("b").retry_after_secs.is_none(),
            "keys are independent"
        );
    }

    #[test]
    fn ip_checks_group_ipv6_by_64() {
        let l = Limiter::new("ip", 1);
        assert!(l.check_ip("2001:db8:1:2::1").retry_after_secs.is_none());
        assert!(l.check_ip("2001:db8:1:2::2").retry_after_secs.is_some());
        assert!(l.check_ip("2001:db8:1:3::1").retry_after_secs.is_none());
    }
}
