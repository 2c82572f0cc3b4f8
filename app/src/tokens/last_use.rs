//! Last use, kept the same way for every bearer credential (API keys and
//! OAuth access tokens): written at most once per [`LAST_USED_INTERVAL_MS`]
//! per credential and at once from a new IP ([`due`]), and within one
//! instance only by the first of the requests in flight ([`RecentWrites`]).

/// `last_used_*` is written at most once a minute per credential (and at
/// once when the IP changes), so authentication does not write on every
/// request.
pub const LAST_USED_INTERVAL_MS: i64 = 60_000;

/// Whether a credential last used at `last_used_at` from `last_ip` should
/// record this use from `ip` now.
pub fn due(last_used_at: Option<i64>, last_ip: Option<&str>, ip: Option<&str>, now: i64) -> bool {
    let ip_changed = ip.is_some() && last_ip != ip;
    ip_changed || last_used_at.is_none_or(|t| now - t >= LAST_USED_INTERVAL_MS)
}

/// Where a credential without a per-IP history keeps its last use.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    OauthGrants,
    TaskTokens,
    FederatedTokens,
}

/// Records a use of credential `id` of `table`, last used at `last` (time
/// and IP), from `ip`: when [`due`] and claimed on this instance; a failed
/// write is released for the next request. (API keys keep their IPs too:
/// `tokens::service::authenticate`.)
pub async fn record(
    db: &crate::db::Db,
    recent: &RecentWrites,
    (table, id): (Table, &str),
    last: (Option<i64>, Option<&str>),
    ip: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    if !due(last.0, last.1, ip, now) || !recent.claim(id, ip, now) {
        return Ok(());
    }
    let sql = match table {
        Table::OauthGrants => {
            "UPDATE oauth_grants SET last_used_at = $1, last_used_ip = $2 WHERE id = $3"
        }
        Table::TaskTokens => {
            "UPDATE task_tokens SET last_used_at = $1, last_used_ip = $2 WHERE id = $3"
        }
        Table::FederatedTokens => {
            "UPDATE federated_tokens SET last_used_at = $1, last_used_ip = $2 WHERE id = $3"
        }
    };
    let written = sqlx::query(sql)
        .bind(now)
        .bind(ip)
        .bind(id)
        .execute(db)
        .await;
    if written.is_err() {
        recent.release(id, ip);
    }
    written.map(|_| ())
}

/// The most (token, IP) pairs remembered; beyond it, expired ones are
/// dropped, then all (which costs only repeated writes).
const RECENT_MAX: usize = 10_000;

/// Coalesces last-use writes within one instance: the requests in flight
/// when a token's last use is due (first use, a new IP, a minute passed)
/// all read the same row and would all write it; only the first per
/// (credential, IP) and [`LAST_USED_INTERVAL_MS`] does. Not an
/// authentication cache: every request still reads its token's row.
#[derive(Default)]
pub struct RecentWrites(std::sync::Mutex<std::collections::HashMap<(String, String), i64>>);

impl RecentWrites {
    /// True when this request should write (and the pair is now claimed).
    pub fn claim(&self, token_id: &str, ip: Option<&str>, now: i64) -> bool {
        let interval = LAST_USED_INTERVAL_MS;
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (token_id.to_owned(), ip.unwrap_or_default().to_owned());
        if map
            .get(&key)
            .is_some_and(|at| (0..interval).contains(&(now - at)))
        {
            return false;
        }
        if map.len() >= RECENT_MAX {
            map.retain(|_, at| (0..interval).contains(&(now - *at)));
            if map.len() >= RECENT_MAX {
                map.clear();
            }
        }
        map.insert(key, now);
        true
    }

    /// The claimed write failed: the next request tries again.
    pub fn release(&self, token_id: &str, ip: Option<&str>) {
        let key = (token_id.to_owned(), ip.unwrap_or_default().to_owned());
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_last_use_write_per_token_ip_and_interval() {
        let recent = RecentWrites::default();
        let minute = LAST_USED_INTERVAL_MS;
        assert!(recent.claim("t1", Some("10.0.0.1"), 1_000));
        // The same pair while that write is under way or fresh: no write.
        assert!(!recent.claim("t1", Some("10.0.0.1"), 1_500));
        // Another IP, another token: their own writes.
        assert!(recent.claim("t1", Some("192.0.2.7"), 1_500));
        assert!(recent.claim("t2", Some("10.0.0.1"), 1_500));
        // A minute later the pair writes again; a clock that went back, too.
        assert!(recent.claim("t1", Some("10.0.0.1"), 1_000 + minute));
        assert!(recent.claim("t2", Some("10.0.0.1"), 0));
        // A failed write is given back: the next request writes.
        recent.release("t1", Some("192.0.2.7"));
        assert!(recent.claim("t1", Some("192.0.2.7"), 1_600));
        // Bounded: past the cap the expired pairs go, then all.
        for i in 0..RECENT_MAX {
            recent.claim(&format!("x{i}"), None, 5_000_000);
        }
        assert!(recent.0.lock().unwrap().len() <= RECENT_MAX);
    }

    #[test]
    fn a_use_is_due_once_a_minute_or_from_a_new_ip() {
        let ip = Some("10.0.0.1");
        assert!(due(None, None, ip, 0), "never used");
        assert!(!due(Some(0), ip, ip, LAST_USED_INTERVAL_MS - 1));
        assert!(due(Some(0), ip, ip, LAST_USED_INTERVAL_MS));
        assert!(due(Some(0), ip, Some("192.0.2.7"), 1), "a new IP");
        assert!(!due(Some(0), ip, None, 1), "no IP known: the interval only");
    }
}
