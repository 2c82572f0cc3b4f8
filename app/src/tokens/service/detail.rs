//! One token's page: the token, its rotation family's neighbours, who
//! created it (from the audit log) and what it has done
//! ([`crate::tokens::usage`]).

use super::get;
use crate::tokens::{usage, TokenDetail, TokenRef};
use crate::{
    db::Db,
    types::{AccountId, Timestamp},
};

/// A token's usage limit columns.
#[derive(sqlx::FromRow)]
struct LimitRow {
    usage_limit: Option<i64>,
    usage_remaining: Option<i64>,
    usage_refill_amount: Option<i64>,
    usage_refill_period: Option<String>,
}

/// Who created a token, from the entry that did.
#[derive(sqlx::FromRow)]
struct CreatorRow {
    actor: Option<String>,
    ip: Option<String>,
}

/// One of `owner`'s tokens with everything its page shows; `None` when it
/// is not theirs (or not a token id at all).
pub async fn detail(
    db: &Db,
    owner: AccountId,
    id: &str,
    now: Timestamp,
) -> Result<Option<TokenDetail>, sqlx::Error> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    let Some(view) = get(db, owner, id, now).await? else {
        return Ok(None);
    };
    let predecessor = neighbour(db, owner, id, "rotated_from").await?;
    let successor = neighbour(db, owner, id, "rotated_to").await?;
    // A successor was made by its predecessor's rotation.
    let (action, prefix) = match &predecessor {
        Some(p) => ("token_rotated", p.prefix.as_str()),
        None => ("token_created", view.prefix.as_str()),
    };
    let creator: Option<CreatorRow> = sqlx::query_as(
        "SELECT actor, ip FROM audit_events \
         WHERE token_prefix = $1 AND account_id = $2 AND action = $3 ORDER BY seq LIMIT 1",
    )
    .bind(prefix)
    .bind(owner.to_string())
    .bind(action)
    .fetch_optional(db)
    .await?;
    let created_by = creator.map(|c| {
        let who = c.actor.unwrap_or_else(|| "the system".into());
        match c.ip {
            Some(ip) => format!("{who}, from {ip}"),
            None => who,
        }
    });
    let prefixes = [view.prefix.clone()];
    let activity = usage::activity(
        db,
        &usage::Credential {
            id,
            owner,
            prefixes: &prefixes,
        },
        now,
    )
    .await?;
    let limit: Option<LimitRow> = sqlx::query_as(
        "SELECT usage_limit, usage_remaining, usage_refill_amount, usage_refill_period \
         FROM api_tokens WHERE id = $1 AND account_id = $2",
    )
    .bind(id)
    .bind(owner.to_string())
    .fetch_optional(db)
    .await?;
    let usage = limit.and_then(|r| {
        crate::tokens::limit::from_row(
            r.usage_limit,
            r.usage_remaining,
            r.usage_refill_amount,
            r.usage_refill_period.as_deref(),
        )
    });
    let task_tokens = crate::tokens::task::manage::live_for_subject(db, owner, id, now).await?;
    Ok(Some(TokenDetail {
        view,
        predecessor,
        successor,
        created_by,
        activity,
        usage,
        task_tokens,
    }))
}

/// The token `column` (`rotated_from` or `rotated_to`) of token `id` points at.
async fn neighbour(
    db: &Db,
    owner: AccountId,
    id: &str,
    column: &'static str,
) -> Result<Option<TokenRef>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(&format!(
        "SELECT n.id, n.prefix FROM api_tokens t JOIN api_tokens n ON n.id = t.{column} \
         WHERE t.id = $1 AND t.account_id = $2 AND n.account_id = $2"
    ))
    .bind(id)
    .bind(owner.to_string())
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, prefix)| TokenRef { id, prefix }))
}
