//! What one credential (an API key, or an OAuth grant) has done, as its
//! page shows it: calls per day for the last 30 days by outcome (from the
//! calls rollup, `audit::calls`, never a scan of the log), its last 20 calls
//! (from the audit log, by the token-prefix index) and the IPs it was used
//! from (at most [`MAX_IPS`] per credential, the least recent dropped by the
//! sweep).

use serde::{Deserialize, Serialize};

pub use crate::audit::calls::CallOutcome;
use crate::types::Timestamp;

/// Days the chart shows, today included.
pub const DAYS: i64 = 30;
/// Calls listed under the chart.
pub const RECENT_CALLS: i64 = 20;
/// IPs kept per credential.
pub const MAX_IPS: i64 = 1_000;
/// An IP first seen this recently (and not the credential's first) is marked new.
pub const NEW_IP_MS: i64 = 86_400_000;

/// One UTC day's calls, by outcome in [`CallOutcome::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCalls {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub calls: [i64; 5],
}

impl DayCalls {
    pub fn total(&self) -> i64 {
        self.calls.iter().sum()
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        let at = Timestamp(self.day * crate::audit::calls::DAY_MS).rfc3339();
        at.get(..10).unwrap_or_default().to_string()
    }
}

/// The last [`DAYS`] days, oldest first, every day present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub days: Vec<DayCalls>,
}

impl Usage {
    /// Calls over the whole range, by outcome.
    pub fn totals(&self) -> [i64; 5] {
        let mut t = [0; 5];
        for d in &self.days {
            for (i, n) in d.calls.iter().enumerate() {
                t[i] += n;
            }
        }
        t
    }

    pub fn busiest(&self) -> i64 {
        self.days.iter().map(DayCalls::total).max().unwrap_or(0)
    }
}

/// One call, as the audit log recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentCall {
    pub at: Timestamp,
    pub method: Option<String>,
    /// The path, or `tool NAME` for an MCP tool call.
    pub target: String,
    pub status: Option<u16>,
    pub ip: Option<String>,
    pub client: Option<String>,
}

/// An IP the credential was used from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenIp {
    pub ip: String,
    pub first_seen: Timestamp,
    pub last_seen: Option<Timestamp>,
    pub calls: i64,
    /// First seen within the last day, after the credential's first IP.
    pub new: bool,
}

/// The activity part of a credential's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub usage: Usage,
    pub calls: Vec<RecentCall>,
    pub ips: Vec<SeenIp>,
    /// How many IPs are listed at most ([`MAX_IPS`]).
    pub ip_cap: i64,
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::{audit::calls::DAY_MS, db::Db, types::AccountId};

    #[derive(sqlx::FromRow)]
    struct UsageRow {
        day: i64,
        outcome: String,
        calls: i64,
    }

    #[derive(sqlx::FromRow)]
    struct CallRow {
        at: i64,
        action: String,
        ip: Option<String>,
        user_agent: Option<String>,
        details: Option<String>,
    }

    #[derive(sqlx::FromRow)]
    struct IpRow {
        ip: String,
        first_seen: i64,
        last_seen: Option<i64>,
        calls: i64,
    }

    /// Which credential: its id, owner, and the token prefixes its calls
    /// were recorded under (an API key's own; a grant's access tokens').
    pub struct Credential<'a> {
        pub id: &'a str,
        pub owner: AccountId,
        pub prefixes: &'a [String],
    }

    /// The credential's usage, recent calls and IPs. The caller has checked
    /// that `owner` owns it; every query filters on the owner again.
    pub async fn activity(
        db: &Db,
        credential: &Credential<'_>,
        now: Timestamp,
    ) -> Result<Activity, sqlx::Error> {
        let owner = credential.owner.to_string();
        let today = now.millis().div_euclid(DAY_MS);
        let first = today - DAYS + 1;
        let rows: Vec<UsageRow> = sqlx::query_as(
            "SELECT day, outcome, calls FROM token_usage \
             WHERE credential_id = $1 AND account_id = $2 AND day >= $3",
        )
        .bind(credential.id)
        .bind(&owner)
        .bind(first)
        .fetch_all(db)
        .await?;
        let mut days: Vec<DayCalls> = (first..=today)
            .map(|day| DayCalls { day, calls: [0; 5] })
            .collect();
        for row in rows {
            let (Some(slot), Some(outcome)) = (
                usize::try_from(row.day - first)
                    .ok()
                    .and_then(|i| days.get_mut(i)),
                CallOutcome::parse(&row.outcome),
            ) else {
                continue;
            };
            slot.calls[outcome.index()] += row.calls;
        }
        Ok(Activity {
            usage: Usage { days },
            calls: recent_calls(db, &owner, credential.prefixes).await?,
            ips: seen_ips(db, credential.id, now).await?,
            ip_cap: MAX_IPS,
        })
    }

    async fn recent_calls(
        db: &Db,
        owner: &str,
        prefixes: &[String],
    ) -> Result<Vec<RecentCall>, sqlx::Error> {
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        // A grant has had many access tokens; its newest 50 are asked.
        let prefixes = &prefixes[..prefixes.len().min(50)];
        let list = (0..prefixes.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT at, action, ip, user_agent, details FROM audit_events \
             WHERE account_id = $1 AND token_prefix IN ({list}) \
             AND action IN ('token_used', 'auth_failed') ORDER BY seq DESC LIMIT {RECENT_CALLS}"
        );
        let mut q = sqlx::query_as::<_, CallRow>(&sql).bind(owner);
        for p in prefixes {
            q = q.bind(p.as_str());
        }
        Ok(q.fetch_all(db).await?.into_iter().map(call_of).collect())
    }

    fn call_of(row: CallRow) -> RecentCall {
        let details: serde_json::Value = row
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let text = |k: &str| details.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let target = match text("tool") {
            Some(tool) => format!("tool {tool}"),
            None => text("path").unwrap_or_default(),
        };
        let status = details
            .get("status")
            .and_then(|s| s.as_u64())
            .and_then(|s| u16::try_from(s).ok())
            .or((row.action == "auth_failed").then_some(401));
        RecentCall {
            at: Timestamp(row.at),
            method: text("method"),
            target,
            status,
            ip: row.ip,
            client: text("client").or(row.user_agent),
        }
    }

    async fn seen_ips(db: &Db, id: &str, now: Timestamp) -> Result<Vec<SeenIp>, sqlx::Error> {
        let rows: Vec<IpRow> = sqlx::query_as(&format!(
            "SELECT ip, first_seen, last_seen, calls FROM token_ips WHERE token_id = $1 \
             ORDER BY COALESCE(last_seen, first_seen) DESC LIMIT {MAX_IPS}"
        ))
        .bind(id)
        .fetch_all(db)
        .await?;
        let earliest = rows.iter().map(|r| r.first_seen).min();
        Ok(rows
            .into_iter()
            .map(|r| SeenIp {
                new: Some(r.first_seen) != earliest && now.millis() - r.first_seen < NEW_IP_MS,
                ip: r.ip,
                first_seen: Timestamp(r.first_seen),
                last_seen: r.last_seen.map(Timestamp),
                calls: r.calls,
            })
            .collect())
    }

    /// Keeps the [`MAX_IPS`] most recent IPs of each credential (the sweep,
    /// at most 100 credentials a run). Returns the rows removed.
    pub async fn trim_ips(db: &Db) -> Result<u64, sqlx::Error> {
        let over: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT token_id FROM token_ips GROUP BY token_id HAVING COUNT(*) > {MAX_IPS} LIMIT 100"
        ))
        .fetch_all(db)
        .await?;
        let mut removed = 0;
        for (id,) in over {
            removed += sqlx::query(&format!(
                "DELETE FROM token_ips WHERE token_id = $1 AND ip NOT IN (SELECT ip FROM token_ips \
                 WHERE token_id = $1 ORDER BY COALESCE(last_seen, first_seen) DESC LIMIT {MAX_IPS})"
            ))
            .bind(&id)
            .execute(db)
            .await?
            .rows_affected();
        }
        Ok(removed)
    }
}
