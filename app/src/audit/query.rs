//! Reading the audit log: filters, keyset pagination (newest first, by
//! `seq`, so a page costs the same on millions of rows), and who may see what
//! (members their own account's events, admins everyone's on request).

use super::{AuditEntry, AuditFilter};
use crate::{
    db::Db,
    fault::{Fault, Input},
    types::{CurrentUser, Timestamp},
};

/// Whose events a reader may see.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `None`: every account (admins asking for all).
    pub account: Option<String>,
}

impl Scope {
    pub fn for_user(user: &CurrentUser, filter: &AuditFilter) -> Result<Self, Fault> {
        let all = matches!(filter.all_accounts.as_deref(), Some("on" | "true" | "1"));
        if all && !user.is_admin() {
            return Err(Fault::Forbidden(
                "Only administrators can see every account's events.".into(),
            ));
        }
        Ok(Self {
            account: (!all).then(|| user.id.to_string()),
        })
    }
}

const DAY_MS: i64 = 86_400_000;

fn day_start(raw: &str, input: Input) -> Result<i64, Fault> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw.trim(), &format)
        .map_err(|_| Fault::invalid(input, "Use a date like 2026-11-22."))?;
    Ok((date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A value bound to the page query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Text(String),
    Int(i64),
}

/// One page's SQL and its values, in placeholder order.
#[derive(Debug)]
struct PageSql {
    text: String,
    args: Vec<Arg>,
}

/// The `WHERE` clause of a page, holding only the filters given.
///
/// Why not one static statement with `($1 = '' OR e.action = $1)`-style
/// predicates: a plan made for such a statement without its values (what
/// PostgreSQL switches a prepared statement to after five runs) can use no
/// index for the ORs; on 10 million rows it walks or sorts the whole table
/// (docs/benchmarks.md, "Audit log with 10 million rows"). Here each filter
/// combination is its own SQL, and every value is bound.
#[derive(Default)]
struct Where {
    text: String,
    args: Vec<Arg>,
}

impl Where {
    /// Appends `predicate` (`WHERE` first, `AND` after); every `?` in it
    /// stands for `arg`, written as the next numbered placeholder.
    fn and(&mut self, predicate: &str, arg: Option<Arg>) {
        self.text.push_str(if self.text.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        match arg {
            Some(arg) => {
                self.args.push(arg);
                let placeholder = format!("${}", self.args.len());
                self.text.push_str(&predicate.replace('?', &placeholder));
            }
            None => self.text.push_str(predicate),
        }
    }
}

/// An entry as [`SELECT`] reads it.
#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    at: i64,
    email: Option<String>,
    #[sqlx(flatten)]
    fields: super::chain::StoredFields,
}

impl From<EntryRow> for AuditEntry {
    fn from(
        EntryRow {
            seq,
            at,
            email,
            fields: r,
        }: EntryRow,
    ) -> Self {
        AuditEntry {
            seq,
            at: Timestamp(at),
            account_email: email,
            actor_kind: r.actor_kind,
            actor: r.actor,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            token_prefix: r.token_prefix,
            details: r.details.unwrap_or_default(),
            security: r.security != 0,
        }
    }
}

const SELECT: &str =
    "SELECT e.seq, e.at, a.email, e.actor_kind, e.actor, e.action, e.target, e.outcome, \
    e.ip, e.user_agent, e.request_id, e.token_prefix, e.details, e.security \
    FROM audit_events e LEFT JOIN accounts a ON a.id = e.account_id";

/// The filters of one page, checked.
#[derive(Debug, Default)]
struct Criteria {
    account: Option<String>,
    action: Option<String>,
    token: Option<String>,
    /// Milliseconds: `at >= from`, `at < to`.
    from: Option<i64>,
    to: Option<i64>,
    security_only: bool,
}

impl Criteria {
    fn from_filter(scope: &Scope, filter: &AuditFilter) -> Result<Self, Fault> {
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let action = nonempty(&filter.action);
        if let Some(a) = &action {
            if super::AuditAction::parse(a).is_none() {
                return Err(Fault::invalid(Input::AuditAction, "Unknown action."));
            }
        }
        let token = nonempty(&filter.token);
        if token.as_ref().is_some_and(|t| t.chars().count() > 64) {
            return Err(Fault::invalid(
                Input::AuditToken,
                "Enter a token prefix (up to 12 characters).",
            ));
        }
        Ok(Self {
            account: scope.account.clone(),
            action,
            token,
            from: nonempty(&filter.from)
                .map(|f| day_start(&f, Input::From))
                .transpose()?,
            to: nonempty(&filter.to)
                .map(|t| day_start(&t, Input::To).map(|d| d + DAY_MS))
                .transpose()?,
            security_only: matches!(filter.security_only.as_deref(), Some("on" | "true" | "1")),
        })
    }
}

/// Builds the page's SQL: newest first, `limit` + 1 rows (the extra one says
/// whether there is a next page).
///
/// The limit is written into the SQL, not bound: it is the server's own
/// number (50 for the page, the export's chunk), never the reader's, and a
/// bound LIMIT makes a generic plan assume a tenth of the rows are wanted.
/// `range_first`: see [`range_first`].
fn page_sql(c: &Criteria, before: Option<i64>, limit: i64, range_first: bool) -> PageSql {
    let mut w = Where::default();
    if let Some(account) = &c.account {
        w.and("e.account_id = ?", Some(Arg::Text(account.clone())));
    }
    if let Some(action) = &c.action {
        w.and("e.action = ?", Some(Arg::Text(action.clone())));
    }
    if let Some(token) = &c.token {
        // Stored prefixes are a token's first DISPLAY_PREFIX_LEN characters,
        // never more, so a filter that long or longer matches by equality,
        // which the (token_prefix, seq) index serves: the links on token
        // prefixes give the whole prefix. A shorter one is a true prefix
        // match; a range (`>= x AND < x || max`) would be indexable but is
        // only right under a byte-order collation, and a LIKE would need its
        // `%` and `_` escaped and is no more indexable with a bound pattern.
        if token.chars().count() >= crate::tokens::format::DISPLAY_PREFIX_LEN {
            w.and("e.token_prefix = ?", Some(Arg::Text(token.clone())));
        } else {
            w.and(
                "substr(e.token_prefix, 1, length(?)) = ?",
                Some(Arg::Text(token.clone())),
            );
        }
    }
    if let Some(from) = c.from {
        w.and("e.at >= ?", Some(Arg::Int(from)));
    }
    if let Some(to) = c.to {
        w.and("e.at < ?", Some(Arg::Int(to)));
    }
    if c.security_only {
        w.and("e.security = 1", None);
    }
    if let Some(before) = before {
        w.and("e.seq < ?", Some(Arg::Int(before)));
    }
    let rows = limit.saturating_add(1);
    let text = if range_first {
        // `+ 0`: not the primary key's order, so the planner reads the
        // range's entries from an index on `at` and keeps the newest.
        format!(
            "{SELECT} WHERE e.seq IN (SELECT e.seq FROM audit_events e{} \
             ORDER BY e.seq + 0 DESC LIMIT {rows}) ORDER BY e.seq DESC",
            w.text
        )
    } else {
        format!("{SELECT}{} ORDER BY e.seq DESC LIMIT {rows}", w.text)
    };
    PageSql { text, args: w.args }
}

/// Whether a date range is better read range first than by walking `seq`
/// down from the newest entry.
///
/// The planner prefers the walk (it takes the matches to be spread evenly
/// over `seq`), but a range that ends (`to`) before the newest entry in scope
/// lies somewhere in the log's past, and the walk first steps over every
/// entry after it: a second on 10 million rows for a week a month back. Read
/// range first, its seqs from the (account_id, at, seq) index (or (at) for
/// all accounts), the cost is the range's entries, not its age; that is
/// chosen when the newest entry in scope (below `before`) is at or after
/// `to`, and only for a bounded range: one account's, or from..to (all of
/// the log before a date could be all of it). Either way the same rows.
async fn range_first(db: &Db, c: &Criteria, before: Option<i64>) -> Result<bool, Fault> {
    let Some(to) = c.to else { return Ok(false) };
    if c.account.is_none() && c.from.is_none() {
        return Ok(false);
    }
    let mut w = Where::default();
    if let Some(account) = &c.account {
        w.and("account_id = ?", Some(Arg::Text(account.clone())));
    }
    if let Some(before) = before {
        w.and("seq < ?", Some(Arg::Int(before)));
    }
    let sql = format!(
        "SELECT at FROM audit_events{} ORDER BY seq DESC LIMIT 1",
        w.text
    );
    let newest: Option<(i64,)> = bound(&sql, w.args)
        .fetch_optional(db)
        .await
        .map_err(|e| Fault::db("audit query", e))?;
    Ok(newest.is_some_and(|(at,)| at >= to))
}

/// `sql` with `args` bound in order, not kept as a prepared statement:
/// PostgreSQL then plans each page for its values (an unnamed statement
/// always gets a custom plan), which is what a skewed log needs: a plan made
/// once for any account and any action cannot tell the account with 3 % of
/// the rows from one with 0.01 %, nor token_used from token_reuse_detected,
/// and picks the same scan for both (docs/benchmarks.md). Planning costs
/// well under a millisecond, nothing next to a page a person asked for.
fn bound<O>(
    sql: &str,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'_, sqlx::Any, O, sqlx::any::AnyArguments<'_>>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    let mut query = sqlx::query_as(sql).persistent(false);
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
        };
    }
    query
}

/// Fetches up to `limit` entries older than `before` (a seq), newest first,
/// and the `before` for the next page.
pub async fn page(
    db: &Db,
    scope: &Scope,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i64>), Fault> {
    let criteria = Criteria::from_filter(scope, filter)?;
    let range_first = range_first(db, &criteria, before).await?;
    let sql = page_sql(&criteria, before, limit, range_first);
    let rows: Vec<EntryRow> = bound(&sql.text, sql.args)
        .fetch_all(db)
        .await
        .map_err(|e| Fault::db("audit query", e))?;
    let mut entries: Vec<AuditEntry> = rows.into_iter().map(AuditEntry::from).collect();
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next = if more {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok((entries, next))
}

#[cfg(test)]
mod tests;
