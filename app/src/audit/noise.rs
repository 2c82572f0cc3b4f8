//! Anonymous noise, aggregated before it reaches the queue: repeats of one
//! `auth_failed`, `rate_limited` or `login_failed` (same IP, reason,
//! account and token) within a minute are counted, not queued. The first is
//! written at once (so the security event shows immediately); when its
//! minute ends, one more entry says how many repeats followed. A flood of
//! junk from one address therefore adds at most two rows a minute, and
//! never takes room in the queue from `token_used`.
//!
//! Bounded: at most [`MAX_KEYS`] windows are open; a new key beyond that
//! closes every open window first (their summaries are written).

use crate::audit::AuditAction;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use super::NewEvent;
use crate::types::Timestamp;

/// How long repeats of one event are counted together.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Open windows held in memory at most.
pub const MAX_KEYS: usize = 10_000;

const NOISY: [AuditAction; 3] = [
    AuditAction::AuthFailed,
    AuditAction::RateLimited,
    AuditAction::LoginFailed,
];

pub fn is_noise(e: &NewEvent) -> bool {
    NOISY.contains(&e.action)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    action: AuditAction,
    ip: Option<String>,
    reason: String,
    account: Option<String>,
    token: Option<String>,
}

impl Key {
    fn of(e: &NewEvent) -> Self {
        let detail = |k: &str| e.details.get(k).map(|v| v.to_string()).unwrap_or_default();
        Self {
            action: e.action,
            ip: e.ip.clone(),
            reason: format!("{}|{}", detail("reason"), detail("limit")),
            account: e.account_id.clone(),
            token: e.token_prefix.clone(),
        }
    }
}

struct Window {
    opened: Instant,
    first: NewEvent,
    repeats: u64,
}

impl Window {
    /// The entry that closes the window: the first event again, stamped now,
    /// with how many repeats it stands for.
    fn summary(self) -> Option<NewEvent> {
        (self.repeats > 0).then(|| {
            let mut e = self
                .first
                .detail("repeated", self.repeats)
                .detail("window_secs", WINDOW.as_secs());
            e.at = Some(Timestamp::now());
            e
        })
    }
}

#[derive(Default)]
pub struct Noise {
    open: HashMap<Key, Window>,
}

impl Noise {
    /// Counts `e` if a window for it is open (`None`: nothing to queue now);
    /// otherwise opens one and returns `e` to queue. `closed` receives the
    /// summaries of windows that had to close to make room.
    pub fn admit(
        &mut self,
        e: NewEvent,
        now: Instant,
        closed: &mut Vec<NewEvent>,
    ) -> Option<NewEvent> {
        let key = Key::of(&e);
        if let Some(w) = self.open.get_mut(&key) {
            if now.duration_since(w.opened) < WINDOW {
                w.repeats += 1;
                return None;
            }
            if let Some(w) = self.open.remove(&key) {
                closed.extend(w.summary());
            }
        }
        if self.open.len() >= MAX_KEYS {
            closed.extend(self.close(None));
        }
        self.open.insert(
            key,
            Window {
                opened: now,
                first: e.clone(),
                repeats: 0,
            },
        );
        Some(e)
    }

    /// Closes the windows older than [`WINDOW`] at `now` (all of them with
    /// `None`) and returns their summaries.
    pub fn close(&mut self, now: Option<Instant>) -> Vec<NewEvent> {
        let ended: Vec<Key> = self
            .open
            .iter()
            .filter(|(_, w)| now.is_none_or(|n| n.duration_since(w.opened) >= WINDOW))
            .map(|(k, _)| k.clone())
            .collect();
        ended
            .into_iter()
            .filter_map(|k| self.open.remove(&k))
            .filter_map(Window::summary)
            .collect()
    }

    pub fn open_windows(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{ActorKind, Outcome};

    fn failed(ip: &str) -> NewEvent {
        NewEvent::new(
            AuditAction::AuthFailed,
            ActorKind::Anonymous,
            Outcome::Failure,
        )
        .detail("reason", "malformed")
        .detail("path", "/api/x")
        .tap_ip(ip)
    }

    trait TapIp {
        fn tap_ip(self, ip: &str) -> Self;
    }
    impl TapIp for NewEvent {
        fn tap_ip(mut self, ip: &str) -> Self {
            self.ip = Some(ip.into());
            self
        }
    }

    #[test]
    fn repeats_in_a_minute_become_one_summary() {
        let mut noise = Noise::default();
        let t0 = Instant::now();
        let mut closed = Vec::new();
        assert!(noise.admit(failed("192.0.2.1"), t0, &mut closed).is_some());
        for _ in 0..999 {
            assert!(noise.admit(failed("192.0.2.1"), t0, &mut closed).is_none());
        }
        assert!(
            noise.admit(failed("192.0.2.2"), t0, &mut closed).is_some(),
            "another IP"
        );
        assert!(closed.is_empty());
        assert!(noise.close(Some(t0 + Duration::from_secs(30))).is_empty());
        let summaries = noise.close(Some(t0 + WINDOW));
        assert_eq!(summaries.len(), 1, "only the repeated one");
        assert_eq!(summaries[0].details["repeated"], 999);
        assert_eq!(noise.open_windows(), 0);
    }

    #[test]
    fn the_map_is_bounded() {
        let mut noise = Noise::default();
        let t0 = Instant::now();
        let mut closed = Vec::new();
        for i in 0..(MAX_KEYS + 5) {
            let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
            noise.admit(failed(&ip), t0, &mut closed);
            noise.admit(failed(&ip), t0, &mut closed);
        }
        assert!(noise.open_windows() <= MAX_KEYS);
        assert_eq!(
            closed.len(),
            MAX_KEYS,
            "the closed windows' repeats were written"
        );
    }
}
