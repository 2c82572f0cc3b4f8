//! The token policy: one row, changed by admins, applied on the server at
//! every creation so a hand-made request cannot get around it. Each change
//! is kept (before and after) in `policy_changes` for the audit log.

use crate::audit::AuditAction;

use super::{TokenPolicy, EXPIRY_PRESETS};
use crate::{
    db::Db,
    fault::{Fault, Input},
    types::{AccountId, Timestamp},
};

pub use super::policy_limits::{DORMANT_PRESETS, MAX_ACTIVE_TOKENS_LIMIT};

/// The policy row, as [`load`] and [`update`] read it.
const SELECT: &str =
    "SELECT default_expiry_days, max_lifetime_days, max_active_tokens, revoke_family_on_reuse, \
     revoke_unused_after_days, task_token_max_minutes FROM token_policy WHERE id = 1";

/// The policy's row; the flag is stored as an integer (0 or 1).
#[derive(sqlx::FromRow)]
struct PolicyRow {
    default_expiry_days: Option<i64>,
    max_lifetime_days: Option<i64>,
    max_active_tokens: i64,
    revoke_family_on_reuse: i64,
    revoke_unused_after_days: Option<i64>,
    task_token_max_minutes: i64,
}

impl From<PolicyRow> for TokenPolicy {
    fn from(r: PolicyRow) -> Self {
        TokenPolicy {
            default_expiry_days: r.default_expiry_days,
            max_lifetime_days: r.max_lifetime_days,
            max_active_tokens: r.max_active_tokens,
            revoke_family_on_reuse: r.revoke_family_on_reuse != 0,
            revoke_unused_after_days: r.revoke_unused_after_days,
            task_token_max_minutes: r.task_token_max_minutes,
        }
    }
}

pub async fn load(db: &Db) -> Result<TokenPolicy, sqlx::Error> {
    let row: Option<PolicyRow> = sqlx::query_as(SELECT).fetch_optional(db).await?;
    Ok(row.map(TokenPolicy::from).unwrap_or_default())
}

/// Reads the policy form: `default_expiry` is a preset or `never`,
/// `max_lifetime` a preset or `none`, `max_active_tokens` 1-100,
/// `revoke_family_on_reuse` a checkbox (`on` when ticked).
pub fn parse_form(
    default_expiry: &str,
    max_lifetime: &str,
    max_active_tokens: &str,
    revoke_family_on_reuse: Option<&str>,
    revoke_unused_after: Option<&str>,
    task_token_max: Option<&str>,
) -> Result<TokenPolicy, Fault> {
    let revoke_family_on_reuse = match revoke_family_on_reuse.map(str::trim) {
        None | Some("") | Some("off") | Some("false") => false,
        Some("on") | Some("true") => true,
        Some(_) => {
            return Err(Fault::invalid(
                Input::RevokeFamilyOnReuse,
                "Tick the box or leave it empty.",
            ))
        }
    };
    let days = |input: Input, v: &str| -> Result<i64, Fault> {
        v.trim()
            .parse::<i64>()
            .ok()
            .filter(|d| EXPIRY_PRESETS.contains(d))
            .ok_or_else(|| Fault::invalid(input, "Choose one of the listed durations."))
    };
    let default_expiry_days = match default_expiry.trim() {
        "never" => None,
        v => Some(days(Input::DefaultExpiry, v)?),
    };
    let max_lifetime_days = match max_lifetime.trim() {
        "none" | "" => None,
        v => Some(days(Input::MaxLifetime, v)?),
    };
    let max_active_tokens = max_active_tokens
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=MAX_ACTIVE_TOKENS_LIMIT).contains(n))
        .ok_or_else(|| {
            Fault::invalid(
                Input::MaxActiveTokens,
                format!("Enter a whole number from 1 to {MAX_ACTIVE_TOKENS_LIMIT}."),
            )
        })?;
    if let Some(max) = max_lifetime_days {
        match default_expiry_days {
            None => {
                return Err(Fault::invalid(
                    Input::DefaultExpiry,
                    "With a maximum lifetime, the default cannot be \"No expiration\".",
                ))
            }
            Some(d) if d > max => {
                return Err(Fault::invalid(
                    Input::DefaultExpiry,
                    "The default expiry must not be longer than the maximum lifetime.",
                ))
            }
            _ => {}
        }
    }
    let task_token_max_minutes = match task_token_max.map(str::trim) {
        None | Some("") => super::policy_limits::TASK_TOKEN_DEFAULT_MAX_MINUTES,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|m| super::policy_limits::TASK_TOKEN_MAX_PRESETS.contains(m))
            .ok_or_else(|| {
                Fault::invalid(Input::TaskTokenMax, "Choose one of the listed durations.")
            })?,
    };
    Ok(TokenPolicy {
        task_token_max_minutes,
        default_expiry_days,
        max_lifetime_days,
        max_active_tokens,
        revoke_family_on_reuse,
        revoke_unused_after_days: match revoke_unused_after.map(str::trim) {
            None | Some("") | Some("off") => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .ok()
                    .filter(|d| DORMANT_PRESETS.contains(d))
                    .ok_or_else(|| {
                        Fault::invalid(
                            Input::RevokeUnusedAfter,
                            "Choose one of the listed durations.",
                        )
                    })?,
            ),
        },
    })
}

/// Stores a new policy and records the change.
pub async fn update(
    db: &Db,
    keys: &crate::keys::Keyring,
    by: AccountId,
    new: &TokenPolicy,
    base: &crate::audit::NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let run = async {
        let mut tx = db.begin().await?;
        crate::audit::chain::lock_for_write(&mut tx).await?;
        let before: Option<PolicyRow> = sqlx::query_as(SELECT).fetch_optional(&mut *tx).await?;
        let before = before.map(|r| describe(&TokenPolicy::from(r)));
        sqlx::query(
            "UPDATE token_policy SET default_expiry_days = $1, max_lifetime_days = $2, \
             max_active_tokens = $3, revoke_family_on_reuse = $4, updated_at = $5, updated_by = $6, \
             revoke_unused_after_days = $7, task_token_max_minutes = $8 WHERE id = 1",
        )
        .bind(new.default_expiry_days)
        .bind(new.max_lifetime_days)
        .bind(new.max_active_tokens)
        .bind(new.revoke_family_on_reuse as i64)
        .bind(now.millis())
        .bind(by.to_string())
        .bind(new.revoke_unused_after_days)
        .bind(new.task_token_max_minutes)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO policy_changes (id, changed_at, changed_by, before_value, after_value) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(now.millis())
        .bind(by.to_string())
        .bind(before.clone())
        .bind(describe(new))
        .execute(&mut *tx)
        .await?;
        let event = base
            .clone()
            .with_action(AuditAction::PolicyChanged)
            .target("token policy")
            .detail("before", before)
            .detail("after", describe(new));
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await
    };
    run.await.map_err(|e| Fault::db("update token policy", e))
}

/// `default_expiry_days=90 max_lifetime_days=none max_active_tokens=5`,
/// and ` revoke_family_on_reuse=yes` when that is on.
pub fn describe(p: &TokenPolicy) -> String {
    let opt = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_else(|| "none".into());
    format!(
        "default_expiry_days={} max_lifetime_days={} max_active_tokens={}{}{}{}",
        opt(p.default_expiry_days),
        opt(p.max_lifetime_days),
        p.max_active_tokens,
        if p.revoke_family_on_reuse {
            " revoke_family_on_reuse=yes"
        } else {
            ""
        },
        p.revoke_unused_after_days
            .map(|d| format!(" revoke_unused_after_days={d}"))
            .unwrap_or_default(),
        if p.task_token_max_minutes == super::policy_limits::TASK_TOKEN_DEFAULT_MAX_MINUTES {
            String::new()
        } else {
            format!(" task_token_max_minutes={}", p.task_token_max_minutes)
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_form() {
        let p = parse_form("30", "90", "3", None, None, None).unwrap();
        assert_eq!(p.default_expiry_days, Some(30));
        assert_eq!(p.max_lifetime_days, Some(90));
        assert!(!p.allows_never());
        assert!(p.allows_days(90) && !p.allows_days(180));
        assert!(parse_form("never", "none", "5", None, None, None)
            .unwrap()
            .allows_never());
        assert!(
            parse_form("never", "90", "5", None, None, None)
                .unwrap_err()
                .input()
                == Some(Input::DefaultExpiry)
        );
        assert!(
            parse_form("365", "90", "5", None, None, None)
                .unwrap_err()
                .input()
                == Some(Input::DefaultExpiry)
        );
        assert!(
            parse_form("13", "none", "5", None, None, None)
                .unwrap_err()
                .input()
                == Some(Input::DefaultExpiry)
        );
        for bad in ["0", "101", "-1", "five", ""] {
            assert!(
                parse_form("30", "none", bad, None, None, None)
                    .unwrap_err()
                    .input()
                    == Some(Input::MaxActiveTokens)
            );
        }
    }
}
