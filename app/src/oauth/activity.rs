//! One connected app's page: the grant and what it did, through the same
//! calls rollup, last calls and IPs as an API key's page
//! ([`crate::tokens::usage`]). Its calls were made with many access tokens
//! over time; the audit log names each by its prefix.

use crate::tokens::{usage, TokenProject};
use crate::{
    db::Db,
    types::{AccountId, Timestamp},
};

/// A grant of `owner` with its restriction and activity; `None` when it is
/// not theirs.
pub async fn detail(
    db: &Db,
    owner: AccountId,
    grant_id: &str,
    now: Timestamp,
) -> Result<
    Option<(
        super::grants::GrantView,
        Option<Vec<TokenProject>>,
        usage::Activity,
    )>,
    sqlx::Error,
> {
    let Some(grant) = super::grants::list(db, owner)
        .await?
        .into_iter()
        .find(|g| g.id == grant_id)
    else {
        return Ok(None);
    };
    let restricted: Option<(i64,)> = sqlx::query_as(
        "SELECT projects_restricted FROM oauth_grants WHERE id = $1 AND account_id = $2",
    )
    .bind(grant_id)
    .bind(owner.to_string())
    .fetch_optional(db)
    .await?;
    let projects = match restricted {
        Some((1,)) => Some(
            sqlx::query_as::<_, (String, String)>(
                "SELECT p.id, p.name FROM token_projects t JOIN projects p ON p.id = t.project_id \
                 WHERE t.token_id = $1 AND p.account_id = $2 ORDER BY p.name",
            )
            .bind(grant_id)
            .bind(owner.to_string())
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|(id, name)| TokenProject { id, name })
            .collect(),
        ),
        _ => None,
    };
    let prefixes: Vec<String> = sqlx::query_as::<_, (String,)>(
        "SELECT prefix FROM oauth_tokens WHERE grant_id = $1 AND kind = 'access' \
         ORDER BY created_at DESC LIMIT 50",
    )
    .bind(grant_id)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|(p,)| p)
    .collect();
    let activity = usage::activity(
        db,
        &usage::Credential {
            id: grant_id,
            owner,
            prefixes: &prefixes,
        },
        now,
    )
    .await?;
    Ok(Some((grant, projects, activity)))
}
