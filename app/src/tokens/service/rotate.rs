//! Rotating a token: its successor, and how long the predecessor keeps
//! working (the grace period).

use crate::audit::AuditAction;

use super::*;
use crate::tokens::{
    format::{self, TokenSecret},
    policy, TokenView,
};
use crate::{
    audit::NewEvent,
    config::Config,
    db::Db,
    fault::Fault,
    types::{AccountId, Timestamp},
};

/// How long a rotated token keeps working (or until the successor's first
/// use, whichever comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    None,
    OneHour,
    OneDay,
    SevenDays,
}

impl Grace {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "none" | "0" => Some(Grace::None),
            "1h" => Some(Grace::OneHour),
            "24h" => Some(Grace::OneDay),
            "7d" => Some(Grace::SevenDays),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grace::None => "none",
            Grace::OneHour => "1h",
            Grace::OneDay => "24h",
            Grace::SevenDays => "7d",
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            Grace::None => 0,
            Grace::OneHour => 3_600,
            Grace::OneDay => 86_400,
            Grace::SevenDays => 7 * 86_400,
        }
    }
}

/// The token being rotated, as [`rotate`] reads it.
#[derive(sqlx::FromRow)]
struct RotatedRow {
    name: String,
    description: Option<String>,
    prefix: String,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    rotated_to: Option<String>,
    allowed_ips: Option<String>,
    projects_restricted: i64,
}

/// Issues a successor with the same name, description, scopes, IP
/// allowlist and projects, and the same lifetime from now (capped by the
/// current policy; "never" stays never only if the policy still allows
/// it). The old token keeps working for `grace` or until the successor's
/// first use. A token that was already rotated is refused (409) and its
/// successor is left alone.
pub async fn rotate(
    db: &Db,
    config: &Config,
    owner: AccountId,
    id: &str,
    grace: Grace,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(TokenSecret, TokenView), Fault> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Fault::NotFound("No such token.".into()));
    }
    let policy = policy::load(db)
        .await
        .map_err(|e| Fault::db("load policy", e))?;
    let secret = format::generate(&config.token_prefix)
        .map_err(|e| Fault::internal("token generation", e))?;
    let new_id = uuid::Uuid::now_v7().to_string();
    let run = async {
        let mut tx = db.begin().await?;
        crate::accounts::lock_row(&mut tx, owner).await?;
        let Some(old): Option<RotatedRow> = sqlx::query_as(
            "SELECT name, description, prefix, scopes, created_at, expires_at, revoked_at, rotated_to, \
             allowed_ips, projects_restricted FROM api_tokens WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Err(Fault::NotFound("No such token.".into())));
        };
        if old.rotated_to.is_some() {
            return Ok(Err(Fault::Conflict(
                "This token has already been rotated. Rotate its successor instead.".into(),
            )));
        }
        if old.revoked_at.is_some() || old.expires_at.is_some_and(|e| e <= now.millis()) {
            return Ok(Err(Fault::Conflict(
                "Only an active token can be rotated.".into(),
            )));
        }
        let max_ms = policy.max_lifetime_days.map(|d| d * super::create::DAY_MS);
        let new_expiry = match (old.expires_at.map(|e| e - old.created_at), max_ms) {
            (Some(lifetime), Some(max)) => Some(now.millis() + lifetime.min(max)),
            (Some(lifetime), None) => Some(now.millis() + lifetime),
            (None, Some(max)) => Some(now.millis() + max),
            (None, None) => None,
        };
        // A family has at most two working tokens: rotating this one ends
        // the grace of its own predecessor, if that still works.
        let ended: Vec<super::revoke::RevokedRow> = sqlx::query_as(
            "UPDATE api_tokens SET revoked_at = $1, revoked_reason = 'rotation_grace_ended', grace_until = $1 \
             WHERE rotated_to = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(now.millis())
        .bind(id)
        .bind(owner.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let ended_events: Vec<NewEvent> = ended
            .iter()
            .map(|r| super::revoke::revoked_event(base, owner, r, "rotation_grace_ended"))
            .collect();
        crate::audit::chain::append(&mut tx, &config.keys, &ended_events, now).await?;
        let RotatedRow {
            name,
            description,
            prefix: old_prefix,
            scopes,
            allowed_ips,
            projects_restricted,
            ..
        } = old;
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, description, prefix, token_hash, scopes, \
             created_at, expires_at, rotated_from, allowed_ips, projects_restricted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&new_id)
        .bind(owner.to_string())
        .bind(&name)
        .bind(description.as_deref())
        .bind(secret.display_prefix())
        .bind(secret.hash())
        .bind(&scopes)
        .bind(now.millis())
        .bind(new_expiry)
        .bind(id)
        .bind(allowed_ips.as_deref())
        .bind(projects_restricted)
        .execute(&mut *tx)
        .await?;
        // The successor carries on the usage limit where it stands: a
        // rotation is not a way to a fresh budget.
        sqlx::query(
            "UPDATE api_tokens SET (usage_limit, usage_remaining, usage_refill_amount, \
               usage_refill_period, usage_refilled_at) = \
             (SELECT usage_limit, usage_remaining, usage_refill_amount, usage_refill_period, \
               usage_refilled_at FROM api_tokens WHERE id = $2) WHERE id = $1",
        )
        .bind(&new_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO token_projects (token_id, project_id) \
             SELECT $1, project_id FROM token_projects WHERE token_id = $2",
        )
        .bind(&new_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let grace_until = now.millis() + grace.secs() * 1000;
        sqlx::query(
            "UPDATE api_tokens SET rotated_to = $1, grace_until = $2, \
               revoked_at = CASE WHEN $3 = 0 THEN $4 ELSE revoked_at END, \
               revoked_by = CASE WHEN $3 = 0 THEN $5 ELSE revoked_by END, \
               revoked_reason = CASE WHEN $3 = 0 THEN 'rotated' ELSE revoked_reason END \
             WHERE id = $6 AND account_id = $5",
        )
        .bind(&new_id)
        .bind(grace_until)
        .bind(grace.secs())
        .bind(now.millis())
        .bind(owner.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let event = (base.clone())
            .with_action(AuditAction::TokenRotated)
            .account(owner)
            .target(name.clone())
            .token(old_prefix)
            .detail("successor", secret.display_prefix())
            .detail("grace", grace.as_str())
            .detail("grace_until", Timestamp(grace_until).rfc3339());
        crate::audit::chain::append(&mut tx, &config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    };
    run.await.map_err(|e| Fault::db("rotate token", e))??;
    let view = get(db, owner, &new_id, now)
        .await
        .map_err(|e| Fault::db("rotate token", e))?
        .ok_or(Fault::Internal)?;
    tracing::info!(account = %owner, token = %view.prefix, grace = grace.as_str(), "token rotated");
    Ok((secret, view))
}
