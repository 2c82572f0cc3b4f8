//! The calls rollup: how many calls each credential (an API key, or an
//! OAuth grant across its access tokens) made per UTC day and outcome, and
//! from which IPs. The audit writer keeps it in the same transaction as the
//! entries it counts (a `token_used`, or an `auth_failed` naming a known
//! token), so the rollup and the log never drift apart, even when the
//! process is killed; a noise summary counts for its repeats. The token page
//! reads it instead of scanning the log.
//!
//! Entries written before the rollup existed are counted once by
//! [`backfill`], in bounded batches that commit with their progress, so a
//! restart resumes where it stopped. The sweep drops days past the audit
//! retention ([`purge_before`]).

use serde::{Deserialize, Serialize};

/// What became of one call, each call in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// 1xx-3xx.
    Success,
    /// 401 or 403: the credential or the call was refused.
    Refused,
    /// 429.
    Limited,
    /// Any other 4xx.
    ClientError,
    /// 5xx.
    ServerError,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 5] = [
        CallOutcome::Success,
        CallOutcome::Refused,
        CallOutcome::Limited,
        CallOutcome::ClientError,
        CallOutcome::ServerError,
    ];

    pub fn of_status(status: u16) -> Self {
        match status {
            401 | 403 => CallOutcome::Refused,
            429 => CallOutcome::Limited,
            400..=499 => CallOutcome::ClientError,
            500.. => CallOutcome::ServerError,
            _ => CallOutcome::Success,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Success => "success",
            CallOutcome::Refused => "refused",
            CallOutcome::Limited => "limited",
            CallOutcome::ClientError => "client_error",
            CallOutcome::ServerError => "server_error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// For people: the chart's legend.
    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::Success => "Success",
            CallOutcome::Refused => "Refused (401/403)",
            CallOutcome::Limited => "Limited (429)",
            CallOutcome::ClientError => "Other 4xx",
            CallOutcome::ServerError => "5xx",
        }
    }

    /// Index in [`CallOutcome::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Milliseconds in a UTC day; the rollup's `day` is `at / DAY_MS`.
pub const DAY_MS: i64 = 86_400_000;

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use std::collections::HashMap;

    use super::{CallOutcome, DAY_MS};
    use crate::{audit::NewEvent, db::Db};

    /// A call an entry stands for: whose, and how it ended. Not part of the
    /// hashed entry; only the rollup reads it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Call {
        /// The API key's id, or the OAuth grant's id.
        pub credential: String,
        pub outcome: CallOutcome,
    }

    /// Calls per (credential, day, outcome) and per (credential, IP).
    #[derive(Default)]
    struct Tally {
        days: HashMap<(String, String, i64, CallOutcome), i64>,
        /// (calls, first at, last at)
        ips: HashMap<(String, String), (i64, i64, i64)>,
    }

    impl Tally {
        fn add(&mut self, call: &Call, account: &str, ip: Option<&str>, at: i64, n: i64) {
            *self
                .days
                .entry((
                    call.credential.clone(),
                    account.to_string(),
                    at.div_euclid(DAY_MS),
                    call.outcome,
                ))
                .or_default() += n;
            if let Some(ip) = ip {
                let e = self
                    .ips
                    .entry((call.credential.clone(), ip.to_string()))
                    .or_insert((0, at, at));
                e.0 += n;
                e.1 = e.1.min(at);
                e.2 = e.2.max(at);
            }
        }

        async fn write(self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
            for ((credential, account, day, outcome), n) in self.days {
                sqlx::query(
                    "INSERT INTO token_usage (credential_id, account_id, day, outcome, calls) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id, day, outcome) \
                     DO UPDATE SET calls = token_usage.calls + excluded.calls",
                )
                .bind(credential)
                .bind(account)
                .bind(day)
                .bind(outcome.as_str())
                .bind(n)
                .execute(&mut *conn)
                .await?;
            }
            for ((credential, ip), (n, first, last)) in self.ips {
                sqlx::query(
                    "INSERT INTO token_ips (token_id, ip, first_seen, last_seen, calls) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id, ip) DO UPDATE SET \
                     calls = token_ips.calls + excluded.calls, \
                     last_seen = CASE WHEN excluded.last_seen > COALESCE(token_ips.last_seen, 0) \
                     THEN excluded.last_seen ELSE token_ips.last_seen END",
                )
                .bind(credential)
                .bind(ip)
                .bind(first)
                .bind(last)
                .bind(n)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }
    }

    /// How many calls an entry stands for: one, or a noise summary's repeats.
    fn weight(details: &serde_json::Value) -> i64 {
        details
            .get("repeated")
            .and_then(|v| v.as_i64())
            .unwrap_or(1)
            .max(1)
    }

    /// Counts the calls among `events` (written with `ats`) inside the
    /// audit writer's transaction.
    pub(crate) async fn record(
        conn: &mut sqlx::AnyConnection,
        events: &[NewEvent],
        ats: impl Iterator<Item = i64>,
    ) -> Result<(), sqlx::Error> {
        let mut tally = Tally::default();
        for (e, at) in events.iter().zip(ats) {
            if let (Some(call), Some(account)) = (&e.call, &e.account_id) {
                tally.add(call, account, e.ip.as_deref(), at, weight(&e.details));
            }
        }
        if tally.days.is_empty() {
            return Ok(());
        }
        tally.write(conn).await
    }

    /// An entry the backfill reads.
    #[derive(sqlx::FromRow)]
    struct PastCall {
        seq: i64,
        at: i64,
        account_id: Option<String>,
        action: String,
        ip: Option<String>,
        details: Option<String>,
        /// The API key's id, else the OAuth grant's, found by prefix.
        credential: Option<String>,
    }

    /// Entries read per backfill batch.
    pub const BACKFILL_BATCH: i64 = 5_000;

    /// Counts one batch of the entries written before the rollup existed
    /// (`seq` up to the head at the migration), committed together with the
    /// position reached. Returns how many calls it counted, `None` once
    /// everything is counted.
    pub async fn backfill(db: &Db) -> Result<Option<u64>, sqlx::Error> {
        let mut tx = db.begin().await?;
        // Claims the batch: a second instance waits here, then starts after it.
        let Some((next, until)): Option<(i64, i64)> = sqlx::query_as(
            "UPDATE token_usage_backfill SET next_seq = next_seq WHERE id = 1 \
             RETURNING next_seq, until_seq",
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        if next > until {
            return Ok(None);
        }
        let end = (next + BACKFILL_BATCH - 1).min(until);
        let rows: Vec<PastCall> = sqlx::query_as(
            "SELECT e.seq, e.at, e.account_id, e.action, e.ip, e.details, \
             COALESCE(k.id, o.grant_id) AS credential \
             FROM audit_events e \
             LEFT JOIN api_tokens k ON k.account_id = e.account_id AND k.prefix = e.token_prefix \
             LEFT JOIN (SELECT t.prefix, t.grant_id, g.account_id FROM oauth_tokens t \
                        JOIN oauth_grants g ON g.id = t.grant_id WHERE t.kind = 'access') o \
               ON k.id IS NULL AND o.account_id = e.account_id AND o.prefix = e.token_prefix \
             WHERE e.seq BETWEEN $1 AND $2 AND e.token_prefix IS NOT NULL \
               AND e.action IN ('token_used', 'auth_failed')",
        )
        .bind(next)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
        let mut calls = 0;
        let mut tally = Tally::default();
        let mut counted = std::collections::HashSet::new();
        for row in rows {
            let (Some(credential), Some(account)) = (row.credential, row.account_id) else {
                continue;
            };
            // A prefix shared by two grants' tokens: counted once.
            if !counted.insert(row.seq) {
                continue;
            }
            let details: serde_json::Value = row
                .details
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            let outcome = if row.action == "auth_failed" {
                CallOutcome::Refused
            } else {
                let status = details
                    .get("status")
                    .and_then(|s| s.as_u64())
                    .unwrap_or(200);
                CallOutcome::of_status(u16::try_from(status).unwrap_or(500))
            };
            let call = Call {
                credential,
                outcome,
            };
            calls += weight(&details) as u64;
            tally.add(&call, &account, row.ip.as_deref(), row.at, weight(&details));
        }
        tally.write(&mut tx).await?;
        sqlx::query("UPDATE token_usage_backfill SET next_seq = $1 WHERE id = 1")
            .bind(end + 1)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(calls))
    }

    /// Runs [`backfill`] to the end, a batch at a time, yielding between
    /// batches so the server keeps answering. Returns the calls counted.
    pub async fn backfill_all(db: &Db) -> Result<u64, sqlx::Error> {
        let mut total = 0;
        while let Some(calls) = backfill(db).await? {
            total += calls;
            tokio::task::yield_now().await;
        }
        Ok(total)
    }

    /// Drops the days before `cutoff_ms` (the audit retention).
    pub async fn purge_before(db: &Db, cutoff_ms: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM token_usage WHERE day < $1")
            .bind(cutoff_ms.div_euclid(DAY_MS))
            .execute(db)
            .await?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::CallOutcome;

    #[test]
    fn each_status_has_exactly_one_outcome() {
        assert_eq!(CallOutcome::of_status(200), CallOutcome::Success);
        assert_eq!(CallOutcome::of_status(304), CallOutcome::Success);
        assert_eq!(CallOutcome::of_status(401), CallOutcome::Refused);
        assert_eq!(CallOutcome::of_status(403), CallOutcome::Refused);
        assert_eq!(CallOutcome::of_status(429), CallOutcome::Limited);
        assert_eq!(CallOutcome::of_status(404), CallOutcome::ClientError);
        assert_eq!(CallOutcome::of_status(422), CallOutcome::ClientError);
        assert_eq!(CallOutcome::of_status(500), CallOutcome::ServerError);
        assert_eq!(CallOutcome::of_status(503), CallOutcome::ServerError);
        for o in CallOutcome::ALL {
            assert_eq!(CallOutcome::parse(o.as_str()), Some(o));
            assert_eq!(CallOutcome::ALL[o.index()], o);
        }
    }
}
