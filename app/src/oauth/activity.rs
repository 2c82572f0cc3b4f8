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
    let Some(grant) = super::grants::get(db, owner, grant_id).await? else {
        return Ok(None);
    };
    let projects = match grant.restricted {
        true => Some(
            crate::tokens::service::projects_of(db, &[grant_id])
                .await?
                .into_iter()
                .map(|(_, p)| p)
                .collect(),
        ),
        false => None,
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
