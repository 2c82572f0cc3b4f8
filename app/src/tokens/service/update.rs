//! Changing a working token after its creation: its name and description,
//! its IP allowlist and the projects it reaches. Each change and its
//! `token_updated` entry commit together; a running server applies it on
//! the token's next request (every request reads the token's row).

use crate::audit::AuditAction;

use super::*;
use crate::tokens::{allowlist::IpAllowlist, limit::UsageLimit, TokenView};
use crate::{
    audit::NewEvent,
    db::Db,
    fault::{Fault, Input},
    types::{AccountId, Timestamp},
};

/// The `token_updated` entry for a change to the token `(prefix, name)`.
fn updated(base: &NewEvent, owner: AccountId, (prefix, name): (String, String)) -> NewEvent {
    base.with_action(AuditAction::TokenUpdated)
        .account(owner)
        .target(name)
        .token(prefix)
}

fn not_found() -> Fault {
    Fault::NotFound("No such token.".into())
}

/// A token id is a UUID; anything else names no token.
fn known_id(id: &str) -> Result<(), Fault> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| not_found())
}

/// The token after a change: `NotFound` when it is not `owner`'s, a
/// `Conflict` when it was revoked (nothing changed).
async fn changed_view(
    db: &Db,
    owner: AccountId,
    id: &str,
    changed: bool,
    now: Timestamp,
    what: &'static str,
) -> Result<TokenView, Fault> {
    let view = get(db, owner, id, now)
        .await
        .map_err(|e| Fault::db("update token", e))?
        .ok_or_else(not_found)?;
    if !changed {
        return Err(Fault::Conflict("A revoked token cannot be changed.".into()));
    }
    tracing::info!(account = %owner, token = %view.prefix, what, "token changed");
    Ok(view)
}

/// Renames one of `owner`'s working tokens and sets its description. The
/// name stays unique among the owner's active tokens (the owner's row is
/// locked, as at creation).
pub async fn set_label(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    id: &str,
    label: (String, Option<String>),
    base: &NewEvent,
    now: Timestamp,
) -> Result<TokenView, Fault> {
    known_id(id)?;
    let (name, description) = label;
    let run = async {
        let mut tx = db.begin().await?;
        crate::accounts::lock_row(&mut tx, owner).await?;
        let taken: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE account_id = $1 AND {ACTIVE} AND name = $3 AND id <> $4"
        ))
        .bind(owner.to_string())
        .bind(now.millis())
        .bind(&name)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Ok(Err(Fault::invalid(
                Input::TokenName,
                "You already have an active token with this name. Choose another name.",
            )));
        }
        let changed: Option<(String, String)> = sqlx::query_as(
            "UPDATE api_tokens SET name = $1, description = $2 \
             WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(&name)
        .bind(description.as_deref())
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(changed) = changed else {
            return Ok(Ok(false));
        };
        let event = updated(base, owner, changed)
            .detail("name", &name)
            .detail("description", description.as_deref());
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(true))
    };
    let changed = run.await.map_err(|e| Fault::db("update token", e))??;
    changed_view(db, owner, id, changed, now, "label").await
}

/// Sets the networks one of `owner`'s tokens may be used from (empty: any).
/// Someone else's token, or a made-up id, is `NotFound`; a revoked token
/// cannot change.
pub async fn set_allowlist(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    id: &str,
    allowed: &IpAllowlist,
    base: &NewEvent,
    now: Timestamp,
) -> Result<TokenView, Fault> {
    known_id(id)?;
    let run = async {
        let mut tx = db.begin().await?;
        let changed: Option<(String, String)> = sqlx::query_as(
            "UPDATE api_tokens SET allowed_ips = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(allowed.to_stored())
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(changed) = changed else {
            return Ok(false);
        };
        let event = updated(base, owner, changed)
            .detail("allowed_ips", allowed.to_stored())
            .security(true);
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(true)
    };
    let changed = run.await.map_err(|e| Fault::db("update token", e))?;
    changed_view(db, owner, id, changed, now, "allowlist").await
}

/// Sets (or with `None` clears) the usage limit of one of `owner`'s working
/// API keys: its remaining calls start again at the limit.
pub async fn set_usage_limit(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    id: &str,
    limit: Option<UsageLimit>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<TokenView, Fault> {
    known_id(id)?;
    let (amount, period) = match limit.and_then(|l| l.refill) {
        Some((a, p)) => (Some(a), Some(p.as_str())),
        None => (None, None),
    };
    let run = async {
        let mut tx = db.begin().await?;
        let changed: Option<(String, String)> = sqlx::query_as(
            "UPDATE api_tokens SET usage_limit = $1, usage_remaining = $1, usage_refill_amount = $2, \
             usage_refill_period = $3, usage_refilled_at = $4 \
             WHERE id = $5 AND account_id = $6 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(limit.map(|l| l.limit))
        .bind(amount)
        .bind(period)
        .bind(now.millis())
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(changed) = changed else {
            return Ok(false);
        };
        let event =
            updated(base, owner, changed).detail("usage_limit", limit.map(|l| l.describe()));
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(true)
    };
    let changed = run.await.map_err(|e| Fault::db("update token", e))?;
    changed_view(db, owner, id, changed, now, "usage limit").await
}

/// The most projects one token may be restricted to.
pub const MAX_PROJECTS: usize = 100;

/// Limits one of `owner`'s tokens to `projects` (`None`: every project).
/// Each must be one of the owner's projects.
pub async fn set_projects(
    db: &Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    id: &str,
    projects: Option<&[String]>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<TokenView, Fault> {
    known_id(id)?;
    let run = async {
        let mut tx = db.begin().await?;
        let changed: Option<(String, String)> = sqlx::query_as(
            "UPDATE api_tokens SET projects_restricted = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(i64::from(projects.is_some()))
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(changed) = changed else {
            return Ok(Ok(false));
        };
        if let Err(refused) = write_projects(&mut tx, owner, id, projects).await? {
            return Ok(Err(refused));
        }
        let event = updated(base, owner, changed)
            .detail("projects", projects.map(|p| p.join(" ")))
            .security(true);
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(true))
    };
    let changed = run.await.map_err(|e| Fault::db("update token", e))??;
    changed_view(db, owner, id, changed, now, "projects").await
}

/// Replaces the projects credential `id` (an API key, or an OAuth grant)
/// reaches, on the caller's transaction: none listed for `None` (every
/// project). Refuses an empty selection, more than [`MAX_PROJECTS`], and
/// any id that is not one of `owner`'s projects.
pub async fn write_projects(
    conn: &mut sqlx::AnyConnection,
    owner: AccountId,
    id: &str,
    projects: Option<&[String]>,
) -> Result<Result<(), Fault>, sqlx::Error> {
    let refuse = |m: &str| Ok(Err(Fault::invalid(Input::TokenProjects, m)));
    sqlx::query("DELETE FROM token_projects WHERE token_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let Some(projects) = projects else {
        return Ok(Ok(()));
    };
    if projects.is_empty() {
        return refuse("Choose at least one project, or all projects.");
    }
    if projects.len() > MAX_PROJECTS {
        return refuse(&format!("Choose at most {MAX_PROJECTS} projects."));
    }
    for project in projects {
        let inserted = sqlx::query(
            "INSERT INTO token_projects (token_id, project_id) \
             SELECT $1, id FROM projects WHERE id = $2 AND account_id = $3 \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(project)
        .bind(owner.to_string())
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 0 {
            let (known,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM token_projects WHERE token_id = $1 AND project_id = $2",
            )
            .bind(id)
            .bind(project)
            .fetch_one(&mut *conn)
            .await?;
            if known == 0 {
                return refuse("No such project.");
            }
        }
    }
    Ok(Ok(()))
}
