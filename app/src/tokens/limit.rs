//! Usage limits: a token may hold a number of calls (`remaining`), reset to
//! a refill amount at the start of each UTC day or month. Each
//! authenticated request spends its cost (1 unless the operator configured
//! another for the operation) in one conditional statement that also
//! applies a refill that is due, so the count is exact under concurrency
//! and across instances: no read-then-write. Tokens without a limit pay
//! nothing (no write).

use serde::{Deserialize, Serialize};

/// How often a limit refills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Refill {
    Day,
    Month,
}

impl Refill {
    pub fn as_str(self) -> &'static str {
        match self {
            Refill::Day => "day",
            Refill::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Refill::Day),
            "month" => Some(Refill::Month),
            _ => None,
        }
    }
}

/// A limit as the owner set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLimit {
    /// Calls granted at creation (or when the owner set the limit).
    pub limit: i64,
    /// The amount the limit resets to, and how often.
    pub refill: Option<(i64, Refill)>,
}

/// A limit and where it stands, for the token's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageState {
    pub limit: UsageLimit,
    pub remaining: i64,
}

/// The largest limit or refill an owner may set.
pub const MAX_CALLS: i64 = 1_000_000_000;

impl UsageLimit {
    /// Reads the form's (or API's) fields: `limit` empty means no limit;
    /// `refill_period` is empty, `day` or `month`, and then `refill_amount`
    /// (default: the limit) is what each period starts with.
    pub fn from_input(
        limit: Option<&str>,
        refill_amount: Option<&str>,
        refill_period: Option<&str>,
    ) -> Result<Option<Self>, String> {
        let number = |s: &str, what: &str| -> Result<i64, String> {
            match s.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_CALLS).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{what} must be a whole number from 1 to {MAX_CALLS}."
                )),
            }
        };
        let Some(limit) = limit.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let limit = number(limit, "The usage limit")?;
        let period = refill_period.map(str::trim).filter(|s| !s.is_empty());
        let refill = match period {
            None | Some("none") => None,
            Some(p) => {
                let period =
                    Refill::parse(p).ok_or("The refill is none, day or month.".to_string())?;
                let amount = match refill_amount.map(str::trim).filter(|s| !s.is_empty()) {
                    Some(a) => number(a, "The refill amount")?,
                    None => limit,
                };
                Some((amount, period))
            }
        };
        Ok(Some(UsageLimit { limit, refill }))
    }

    /// "1,000 calls, 1,000 a day".
    pub fn describe(&self) -> String {
        match self.refill {
            None => format!("{} calls", self.limit),
            Some((amount, period)) => {
                format!("{} calls, {} a {}", self.limit, amount, period.as_str())
            }
        }
    }
}

/// What each operation costs (`PREQSTATION_USAGE_COSTS`, e.g.
/// `create_task=5,add_work_log=2`); every other call costs 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageCosts(Vec<(super::operation::Operation, i64)>);

impl UsageCosts {
    pub fn from_setting(s: &str) -> Result<Self, String> {
        let mut costs = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, cost) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?}: write operation=cost"))?;
            let op = super::operation::Operation::parse(name.trim())
                .ok_or_else(|| format!("{:?} is not an operation", name.trim()))?;
            let cost = cost
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|c| (0..=1000).contains(c))
                .ok_or_else(|| format!("{pair:?}: the cost is a whole number from 0 to 1000"))?;
            costs.push((op, cost));
        }
        Ok(UsageCosts(costs))
    }

    /// No operation has a cost of its own: every call costs 1 (then the
    /// doors need not work out which operation a request is).
    pub fn is_uniform(&self) -> bool {
        self.0.is_empty()
    }

    /// The cost of `op` (`None`: a call that is no one operation, e.g. an
    /// MCP `initialize`).
    pub fn cost(&self, op: Option<super::operation::Operation>) -> i64 {
        op.and_then(|op| self.0.iter().find(|(o, _)| *o == op).map(|(_, c)| *c))
            .unwrap_or(1)
    }
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use time::{Date, Month, OffsetDateTime, Time};

    use super::*;
    use crate::{
        db::Db,
        notifications::{outbox::Notice, NoticeKind},
        types::Timestamp,
    };

    /// Which table holds the token.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Holder {
        ApiKey,
        TaskToken,
        FederatedToken,
    }

    impl Holder {
        fn table(self) -> &'static str {
            match self {
                Holder::ApiKey => "api_tokens",
                Holder::TaskToken => "task_tokens",
                Holder::FederatedToken => "federated_tokens",
            }
        }
    }

    /// What spending left.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Spent {
        /// Spent; `remaining` calls are left of `limit`.
        Left { remaining: i64, limit: i64 },
        /// Nothing left; a refill comes in `retry_after` seconds (`None`:
        /// never).
        Exhausted { retry_after: Option<u64> },
    }

    /// The starts of the current UTC day and month, in milliseconds.
    pub fn period_starts(now: Timestamp) -> (i64, i64) {
        let day = now.millis().div_euclid(86_400_000) * 86_400_000;
        let at = now.to_offset();
        let month = Date::from_calendar_date(at.year(), at.month(), 1)
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
            .map(|d| d.unix_timestamp() * 1000)
            .unwrap_or(day);
        (day, month)
    }

    /// Seconds until the next refill of `period`.
    pub fn until_refill(period: Refill, now: Timestamp) -> u64 {
        let next = match period {
            Refill::Day => (now.millis().div_euclid(86_400_000) + 1) * 86_400_000,
            Refill::Month => {
                let at = now.to_offset();
                let (y, m) = match at.month() {
                    Month::December => (at.year() + 1, Month::January),
                    m => (at.year(), m.next()),
                };
                Date::from_calendar_date(y, m, 1)
                    .map(|d| OffsetDateTime::new_utc(d, Time::MIDNIGHT).unix_timestamp() * 1000)
                    .unwrap_or(now.millis() + 86_400_000)
            }
        };
        ((next - now.millis()).max(0) as u64).div_ceil(1000)
    }

    /// The refill due condition on a row, with `$3` the day start and `$4`
    /// the month start.
    const DUE: &str = "(usage_refill_period IS NOT NULL AND COALESCE(usage_refilled_at, 0) < \
                       CASE usage_refill_period WHEN 'day' THEN $3 ELSE $4 END)";

    /// Spends `cost` calls of token `id`'s limit on `conn`: one conditional
    /// statement (a due refill applied in it). The caller knows the token
    /// has a limit; no row back means none is left.
    pub async fn spend(
        conn: &mut sqlx::AnyConnection,
        holder: Holder,
        id: &str,
        cost: i64,
        now: Timestamp,
    ) -> Result<Spent, sqlx::Error> {
        let (day, month) = period_starts(now);
        let sql = format!(
            "UPDATE {table} SET \
               usage_remaining = CASE WHEN {DUE} THEN usage_refill_amount ELSE usage_remaining END - $2, \
               usage_refilled_at = CASE WHEN {DUE} THEN $5 ELSE usage_refilled_at END \
             WHERE id = $1 AND usage_remaining IS NOT NULL \
               AND CASE WHEN {DUE} THEN usage_refill_amount ELSE usage_remaining END >= $2 \
             RETURNING usage_remaining, usage_limit",
            table = holder.table()
        );
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(&sql)
            .bind(id)
            .bind(cost)
            .bind(day)
            .bind(month)
            .bind(now.millis())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some((remaining, limit)) = row {
            return Ok(Spent::Left {
                remaining,
                limit: limit.unwrap_or(remaining),
            });
        }
        let period: Option<(Option<String>,)> = sqlx::query_as(&format!(
            "SELECT usage_refill_period FROM {} WHERE id = $1",
            holder.table()
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let retry_after = period
            .and_then(|(p,)| p)
            .and_then(|p| Refill::parse(&p))
            .map(|p| until_refill(p, now));
        Ok(Spent::Exhausted { retry_after })
    }

    /// One token whose limit a call spends.
    struct Payer<'a> {
        holder: Holder,
        id: &'a str,
        /// The id, name and prefix the owner's notification names.
        notice: (&'a str, String, &'a str),
    }

    /// What a call's charge left: the calls left of the token's own limit
    /// (or of its subject's), or why none.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Charge {
        Left(Option<i64>),
        Exhausted { retry_after: Option<u64> },
    }

    /// Charges `cost` calls to `token`'s limit and, for a task token, to its
    /// subject's as well: both or neither (one transaction when both have a
    /// limit, one statement when one has). Crossing 10 % and running out
    /// notify the owner once per period.
    pub async fn charge(
        db: &Db,
        token: &crate::tokens::service::Authenticated,
        cost: i64,
        now: Timestamp,
    ) -> Result<Charge, sqlx::Error> {
        let mut payers = Vec::with_capacity(2);
        // A task token's page is its subject's.
        let page = token
            .task
            .as_ref()
            .map_or(token.token_id.as_str(), |t| &t.subject_id);
        if token.limited {
            payers.push(Payer {
                holder: match (&token.task, &token.ci) {
                    (Some(_), _) => Holder::TaskToken,
                    (None, Some(_)) => Holder::FederatedToken,
                    (None, None) => Holder::ApiKey,
                },
                id: &token.token_id,
                notice: (page, token.name.clone(), &token.prefix),
            });
        }
        if let Some(t) = token.task.as_ref().filter(|t| t.subject_limited) {
            payers.push(Payer {
                holder: Holder::ApiKey,
                id: &t.subject_id,
                notice: (&t.subject_id, t.subject_name.clone(), &t.subject_prefix),
            });
        }
        if payers.is_empty() {
            return Ok(Charge::Left(None));
        }
        let postgres = crate::db::is_postgres(db);
        if let ([payer], false) = (payers.as_slice(), postgres) {
            // SQLite serialises its writes: one statement, no transaction
            // (which would only add hand-offs to its worker).
            let mut conn = db.acquire().await?;
            let spent = spend(&mut conn, payer.holder, payer.id, cost, now).await?;
            return settle(&mut conn, token, payer, spent, cost, now).await;
        }
        let mut tx = db.begin().await?;
        if postgres {
            // The commit need not wait for the WAL's flush: the row lock keeps
            // the count exact while PostgreSQL runs; a crash of PostgreSQL may
            // give back the calls of its last moment (wal_writer_delay, 200 ms
            // by default). Without this, every limited call waits for an fsync.
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        let mut left = None;
        for payer in &payers {
            match spend(&mut tx, payer.holder, payer.id, cost, now).await? {
                Spent::Exhausted { retry_after } => {
                    // Nothing is spent: the other payer's share rolls back.
                    tx.rollback().await?;
                    let mut conn = db.acquire().await?;
                    let spent = Spent::Exhausted { retry_after };
                    return settle(&mut conn, token, payer, spent, cost, now).await;
                }
                spent => {
                    if let Charge::Left(now_left) =
                        settle(&mut tx, token, payer, spent, cost, now).await?
                    {
                        left = left.or(now_left);
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(Charge::Left(left))
    }

    /// One payer's outcome: the calls left (and a notice on crossing 10 %),
    /// or its exhaustion (and a notice).
    async fn settle(
        conn: &mut sqlx::AnyConnection,
        token: &crate::tokens::service::Authenticated,
        payer: &Payer<'_>,
        spent: Spent,
        cost: i64,
        now: Timestamp,
    ) -> Result<Charge, sqlx::Error> {
        match spent {
            Spent::Left { remaining, limit } => {
                if crossed_tenth(remaining, limit, cost) {
                    let low = (NoticeKind::UsageLow, Some(remaining), false);
                    notify(conn, token, payer, low, now).await?;
                }
                Ok(Charge::Left(Some(remaining)))
            }
            Spent::Exhausted { retry_after } => {
                let out = (NoticeKind::UsageExhausted, None, retry_after.is_some());
                notify(conn, token, payer, out, now).await?;
                Ok(Charge::Exhausted { retry_after })
            }
        }
    }

    async fn notify(
        conn: &mut sqlx::AnyConnection,
        token: &crate::tokens::service::Authenticated,
        payer: &Payer<'_>,
        (kind, left, refills): (NoticeKind, Option<i64>, bool),
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let (id, name, prefix) = &payer.notice;
        // Once per token and period (a refill or a new limit starts one).
        let (period,): (Option<i64>,) = sqlx::query_as(&format!(
            "SELECT usage_refilled_at FROM {} WHERE id = $1",
            payer.holder.table()
        ))
        .bind(payer.id)
        .fetch_one(&mut *conn)
        .await?;
        let mut notice = Notice::new(kind, token.account_id)
            .token(*id, name.clone(), *prefix)
            .flag(refills);
        if let Some(n) = left {
            notice = notice.count(n);
        }
        let key = format!("{}:{}:{}", kind.as_str(), payer.id, period.unwrap_or(0));
        crate::notifications::outbox::enqueue(conn, &notice, &key, now).await?;
        Ok(())
    }

    /// A stored limit, as read with a token's row.
    pub fn from_row(
        limit: Option<i64>,
        remaining: Option<i64>,
        refill_amount: Option<i64>,
        refill_period: Option<&str>,
    ) -> Option<UsageState> {
        let (limit, remaining) = (limit?, remaining?);
        let refill = match (refill_amount, refill_period.and_then(Refill::parse)) {
            (Some(a), Some(p)) => Some((a, p)),
            _ => None,
        };
        Some(UsageState {
            limit: UsageLimit { limit, refill },
            remaining,
        })
    }

    /// Whether spending down to `remaining` crossed 10 % of `limit` just now
    /// (`cost` ago it was above).
    pub fn crossed_tenth(remaining: i64, limit: i64, cost: i64) -> bool {
        let tenth = limit / 10;
        remaining <= tenth && remaining + cost > tenth && remaining > 0
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn periods_start_at_utc_midnight_and_the_first() {
            // 2026-12-05T03:44:12Z
            let now = Timestamp(1_796_442_252_000);
            let (day, month) = period_starts(now);
            assert_eq!(Timestamp(day).rfc3339(), "2026-12-05T00:00:00Z");
            assert_eq!(Timestamp(month).rfc3339(), "2026-12-01T00:00:00Z");
            assert_eq!(until_refill(Refill::Day, now), 72_948);
            let to_jan = until_refill(Refill::Month, now);
            assert_eq!(
                Timestamp(now.millis() + to_jan as i64 * 1000).rfc3339(),
                "2027-01-01T00:00:00Z"
            );
        }

        #[test]
        fn the_tenth_is_crossed_once() {
            assert!(crossed_tenth(10, 100, 1));
            assert!(!crossed_tenth(9, 100, 1));
            assert!(!crossed_tenth(11, 100, 1));
            assert!(!crossed_tenth(0, 5, 1));
        }

        #[test]
        fn input() {
            assert_eq!(UsageLimit::from_input(None, None, None), Ok(None));
            assert_eq!(
                UsageLimit::from_input(Some(" "), None, Some("day")),
                Ok(None)
            );
            assert_eq!(
                UsageLimit::from_input(Some("10"), None, Some("day")),
                Ok(Some(UsageLimit {
                    limit: 10,
                    refill: Some((10, Refill::Day))
                }))
            );
            assert!(UsageLimit::from_input(Some("0"), None, None).is_err());
            assert!(UsageLimit::from_input(Some("x"), None, None).is_err());
            assert!(UsageLimit::from_input(Some("5"), Some("-1"), Some("month")).is_err());
            assert!(UsageLimit::from_input(Some("5"), None, Some("week")).is_err());
        }
    }
}
