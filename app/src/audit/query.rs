//! Reading the audit log: filters, keyset pagination (newest first, by
//! `seq`, so a page costs the same on millions of rows), and who may see what
//! (members their own account's events, admins everyone's on request).

use sqlx::Row;

use super::{AuditEntry, AuditFilter};
use crate::{
    db::Db,
    error::AppError,
    types::{CurrentUser, Timestamp},
};

/// Whose events a reader may see.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `None`: every account (admins asking for all).
    pub account: Option<String>,
}

impl Scope {
    pub fn for_user(user: &CurrentUser, filter: &AuditFilter) -> Result<Self, AppError> {
        let all = matches!(filter.all_accounts.as_deref(), Some("on" | "true" | "1"));
        if all && !user.is_admin() {
            return Err(AppError::Forbidden(
                "Only administrators can see every account's events.".into(),
            ));
        }
        Ok(Self {
            account: (!all).then(|| user.id.to_string()),
        })
    }
}

const DAY_MS: i64 = 86_400_000;

fn day_start(raw: &str, field: &str) -> Result<i64, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw.trim(), &format)
        .map_err(|_| AppError::field(field, "Use a date like 2026-11-22."))?;
    Ok((date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Fetches up to `limit` entries older than `before` (a seq), newest first,
/// and the `before` for the next page.
pub async fn page(
    db: &Db,
    scope: &Scope,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i64>), AppError> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let action = nonempty(&filter.action);
    if let Some(a) = &action {
        if !super::ACTIONS.contains(&a.as_str()) {
            return Err(AppError::field("action", "Unknown action."));
        }
    }
    let token = nonempty(&filter.token).unwrap_or_default();
    if token.chars().count() > 64 {
        return Err(AppError::field(
            "token",
            "Enter a token prefix (up to 12 characters).",
        ));
    }
    let from = nonempty(&filter.from)
        .map(|f| day_start(&f, "from"))
        .transpose()?
        .unwrap_or(0);
    let to = nonempty(&filter.to)
        .map(|t| day_start(&t, "to").map(|d| d + DAY_MS))
        .transpose()?
        .unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "SELECT e.seq, e.at, a.email, e.actor_kind, e.actor, e.action, e.target, e.outcome, e.ip, e.user_agent, \
                e.request_id, e.token_prefix, e.details, e.security \
         FROM audit_events e LEFT JOIN accounts a ON a.id = e.account_id \
         WHERE ($1 = '' OR e.account_id = $1) AND ($2 = '' OR e.action = $2) \
           AND ($3 = '' OR substr(e.token_prefix, 1, length($3)) = $3) \
           AND e.at >= $4 AND e.at < $5 AND e.seq < $6 AND ($8 = 0 OR e.security = 1) \
         ORDER BY e.seq DESC LIMIT $7",
    )
    .bind(scope.account.clone().unwrap_or_default())
    .bind(action.unwrap_or_default())
    .bind(token)
    .bind(from)
    .bind(to)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .bind(i64::from(matches!(filter.security_only.as_deref(), Some("on" | "true" | "1"))))
    .fetch_all(db)
    .await
    .map_err(|e| AppError::db("audit query", e))?;
    let mut entries = rows
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r.try_get("seq")?,
                at: Timestamp(r.try_get("at")?),
                account_email: r.try_get("email")?,
                actor_kind: r.try_get("actor_kind")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                outcome: r.try_get("outcome")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                request_id: r.try_get("request_id")?,
                token_prefix: r.try_get("token_prefix")?,
                details: r
                    .try_get::<Option<String>, _>("details")?
                    .unwrap_or_default(),
                security: r.try_get::<i64, _>("security")? != 0,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| AppError::db("audit query", e))?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next = if more {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok((entries, next))
}
