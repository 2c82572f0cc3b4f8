//! Creating a token: the form rules (name, description, expiry, scopes) and
//! the insert under the account policy and active-token cap.

use crate::audit::AuditAction;
use crate::tokens::{allowlist::IpAllowlist, limit::UsageLimit};

use super::read::ACTIVE;
use crate::tokens::{
    format::{self, TokenSecret},
    policy, Scope, TokenStatus, TokenView, EXPIRY_PRESETS,
};
use crate::{
    audit::NewEvent,
    config::Config,
    db::Db,
    fault::{Fault, Input},
    types::{AccountId, Timestamp},
};

pub const NAME_MAX_CHARS: usize = 64;
pub const DESCRIPTION_MAX_CHARS: usize = 500;
pub(super) const DAY_MS: i64 = 86_400_000;
/// Custom dates further out than this are refused (10 years).
const CUSTOM_MAX_DAYS: i64 = 3_653;

/// When a new token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// A preset lifetime from now.
    Days(i64),
    /// A custom date: the token expires at the end of that day, UTC.
    Until(Timestamp),
}

impl Expiry {
    pub fn expires_at(self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Expiry::Never => None,
            Expiry::Days(d) => Some(Timestamp(now.millis() + d * DAY_MS)),
            Expiry::Until(t) => Some(t),
        }
    }
}

/// A validated create request (before the policy check).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub description: Option<String>,
    pub expiry: Expiry,
    pub scopes: Vec<Scope>,
    /// Where the token may be used from (empty: any).
    pub allowed_ips: IpAllowlist,
    /// The projects it reaches (`None`: every project of its owner).
    pub projects: Option<Vec<String>>,
    /// Its usage limit (`None`: unlimited).
    pub usage: Option<UsageLimit>,
}

/// A token's name (1-64 characters, trimmed, no control characters) and
/// optional description, as the create and edit forms give them.
pub fn label(name: &str, description: Option<&str>) -> Result<(String, Option<String>), Fault> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Fault::invalid(
            Input::TokenName,
            "Give the token a name, e.g. claude-code-prod.",
        ));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(Fault::invalid(
            Input::TokenName,
            format!("Use at most {NAME_MAX_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Fault::invalid(
            Input::TokenName,
            "The name cannot contain control characters.",
        ));
    }
    let description = description.map(str::trim).filter(|d| !d.is_empty());
    if let Some(d) = description {
        if d.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(Fault::invalid(
                Input::TokenDescription,
                format!("Use at most {DESCRIPTION_MAX_CHARS} characters."),
            ));
        }
    }
    Ok((name.to_string(), description.map(str::to_string)))
}

impl NewToken {
    /// Validates the create form. `expiry` is a preset (`7`..`365`), `never`
    /// or `custom` (then `custom_date` is `YYYY-MM-DD`).
    pub fn from_form(
        name: &str,
        description: Option<&str>,
        expiry: &str,
        custom_date: Option<&str>,
        mut scopes: Vec<Scope>,
        now: Timestamp,
    ) -> Result<Self, Fault> {
        let (name, description) = label(name, description)?;
        let expiry = match expiry.trim() {
            "never" => Expiry::Never,
            "custom" => Expiry::Until(parse_custom_date(custom_date.unwrap_or_default(), now)?),
            other => match other.parse::<i64>() {
                Ok(d) if EXPIRY_PRESETS.contains(&d) => Expiry::Days(d),
                _ => return Err(Fault::invalid(Input::Expiry, "Choose an expiration.")),
            },
        };
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(Fault::invalid(Input::Scopes, "Choose at least one scope."));
        }
        Ok(Self {
            name,
            description,
            expiry,
            scopes,
            allowed_ips: IpAllowlist::default(),
            projects: None,
            usage: None,
        })
    }

    /// Gives the token a usage limit (the form's three fields; an empty
    /// limit: none).
    pub fn limited(
        mut self,
        limit: Option<&str>,
        refill_amount: Option<&str>,
        refill_period: Option<&str>,
    ) -> Result<Self, Fault> {
        self.usage = UsageLimit::from_input(limit, refill_amount, refill_period)
            .map_err(|m| Fault::invalid(Input::UsageLimit, m))?;
        Ok(self)
    }

    /// Limits the token to `projects` of its owner (`None`: all of them);
    /// checked against the owner's projects when the token is created.
    pub fn reaching(mut self, projects: Option<Vec<String>>) -> Self {
        self.projects = projects;
        self
    }

    /// Limits the token to the networks the owner listed (none: any IP).
    pub fn allow_from(mut self, networks: Option<&str>) -> Result<Self, Fault> {
        self.allowed_ips = IpAllowlist::from_input(networks)?;
        Ok(self)
    }
}

/// `YYYY-MM-DD` → the end of that day (UTC), which must be in the future.
fn parse_custom_date(raw: &str, now: Timestamp) -> Result<Timestamp, Fault> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw.trim(), &format)
        .map_err(|_| Fault::invalid(Input::ExpiryDate, "Pick a date (YYYY-MM-DD)."))?;
    let end_of_day = date
        .next_day()
        .map(|d| d.midnight().assume_utc())
        .ok_or_else(|| Fault::invalid(Input::ExpiryDate, "Pick an earlier date."))?;
    let millis = (end_of_day.unix_timestamp_nanos() / 1_000_000) as i64;
    if millis <= now.millis() + DAY_MS / 24 {
        return Err(Fault::invalid(
            Input::ExpiryDate,
            "Pick a date in the future.",
        ));
    }
    if millis > now.millis() + CUSTOM_MAX_DAYS * DAY_MS {
        return Err(Fault::invalid(
            Input::ExpiryDate,
            "Pick a date within 10 years.",
        ));
    }
    Ok(Timestamp(millis))
}

/// Issues a token under the current policy. The owner's row is locked for
/// the transaction, so two concurrent creates cannot both take the last slot
/// or the same name.
pub async fn create(
    db: &Db,
    config: &Config,
    owner: AccountId,
    new: NewToken,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(TokenSecret, TokenView), Fault> {
    let policy = policy::load(db)
        .await
        .map_err(|e| Fault::db("load policy", e))?;
    let expires_at = new.expiry.expires_at(now);
    match (expires_at, policy.max_lifetime_days) {
        (None, Some(max)) => {
            return Err(Fault::invalid(
                Input::Expiry,
                format!("Your administrator requires tokens to expire within {max} days."),
            ))
        }
        (Some(at), Some(max)) if at.millis() - now.millis() > max * DAY_MS => {
            return Err(Fault::invalid(
                Input::Expiry,
                format!("Your administrator allows tokens to live at most {max} days."),
            ))
        }
        _ => {}
    }
    let secret = format::generate(&config.token_prefix)
        .map_err(|e| Fault::internal("token generation", e))?;

    let run = async {
        let mut tx = db.begin().await?;
        // Serialises token creation per owner.
        crate::accounts::lock_row(&mut tx, owner).await?;
        let active: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE account_id = $1 AND {ACTIVE}"
        ))
        .bind(owner.to_string())
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        if active >= policy.max_active_tokens {
            return Ok(Err(Fault::Conflict(format!(
                "You already have {active} active tokens, the most allowed. Revoke a token you no longer \
                 use (or wait for one to expire) to free a slot."
            ))));
        }
        let taken: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE account_id = $1 AND {ACTIVE} AND name = $3"
        ))
        .bind(owner.to_string())
        .bind(now.millis())
        .bind(&new.name)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Ok(Err(Fault::invalid(
                Input::TokenName,
                "You already have an active token with this name. Choose another name.",
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, description, prefix, token_hash, scopes, \
             created_at, expires_at, allowed_ips, projects_restricted, usage_limit, usage_remaining, \
             usage_refill_amount, usage_refill_period, usage_refilled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $8)",
        )
        .bind(&id)
        .bind(owner.to_string())
        .bind(&new.name)
        .bind(new.description.as_deref())
        .bind(secret.display_prefix())
        .bind(secret.hash())
        .bind(Scope::join(&new.scopes))
        .bind(now.millis())
        .bind(expires_at.map(Timestamp::millis))
        .bind(new.allowed_ips.to_stored())
        .bind(i64::from(new.projects.is_some()))
        .bind(new.usage.map(|u| u.limit))
        .bind(new.usage.and_then(|u| u.refill).map(|(a, _)| a))
        .bind(new.usage.and_then(|u| u.refill).map(|(_, p)| p.as_str()))
        .execute(&mut *tx)
        .await?;
        if let Err(refused) =
            super::update::write_projects(&mut tx, owner, &id, new.projects.as_deref()).await?
        {
            return Ok(Err(refused));
        }
        let event = (base.clone())
            .with_action(AuditAction::TokenCreated)
            .account(owner)
            .target(new.name.clone())
            .token(secret.display_prefix())
            .detail("scopes", Scope::join(&new.scopes))
            .detail("expires_at", expires_at.map(|e| e.rfc3339()))
            .detail("allowed_ips", new.allowed_ips.to_stored())
            .detail("projects", new.projects.as_ref().map(|p| p.join(" ")))
            .detail("usage_limit", new.usage.map(|u| u.describe()));
        crate::audit::chain::append(&mut tx, &config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(id))
    };
    // `check_limit`'s Err(Fault) is a refusal, not a database failure.
    let id = run.await.map_err(|e| Fault::db("create token", e))??;
    let mut view = TokenView {
        id,
        name: new.name,
        description: new.description,
        prefix: secret.display_prefix(),
        scopes: new.scopes,
        created_at: now,
        expires_at,
        last_used_at: None,
        last_used_ip: None,
        last_used_client: None,
        status: TokenStatus::Active,
        revoked_at: None,
        revoked_by: None,
        revoked_reason: None,
        rotated_to: None,
        grace_until: None,
        allowed_ips: new.allowed_ips.entries(),
        projects: None,
        now,
    };
    if new.projects.is_some() {
        view.projects = Some(Vec::new());
        super::read::attach_projects(db, std::slice::from_mut(&mut view))
            .await
            .map_err(|e| Fault::db("create token", e))?;
    }
    Ok((secret, view))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn form(name: &str, expiry: &str, date: Option<&str>) -> Result<NewToken, Fault> {
        NewToken::from_form(name, None, expiry, date, Scope::DEFAULT.to_vec(), NOW)
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(form("  local-dev ", "30", None).unwrap().name, "local-dev");
        assert!(form("   ", "30", None).unwrap_err().input() == Some(Input::TokenName));
        assert!(form(&"x".repeat(65), "30", None).unwrap_err().input() == Some(Input::TokenName));
        assert!(form("a\u{0}b", "30", None).unwrap_err().input() == Some(Input::TokenName));
        assert!(form(&"ü".repeat(64), "30", None).is_ok());
    }

    #[test]
    fn expiry_choices() {
        for d in EXPIRY_PRESETS {
            assert_eq!(
                form("t", &d.to_string(), None).unwrap().expiry,
                Expiry::Days(d)
            );
        }
        assert_eq!(form("t", "never", None).unwrap().expiry, Expiry::Never);
        for bad in ["", "0", "14", "forever", "-7"] {
            assert!(
                form("t", bad, None).unwrap_err().input() == Some(Input::Expiry),
                "{bad}"
            );
        }
        // 1_800_000_000_000 ms is 2027-01-15; a custom date ends at midnight UTC after it.
        let until = form("t", "custom", Some("2027-02-01")).unwrap().expiry;
        assert_eq!(
            until.expires_at(NOW).unwrap().rfc3339(),
            "2027-02-02T00:00:00Z"
        );
        for bad in [
            None,
            Some(""),
            Some("2027-13-01"),
            Some("yesterday"),
            Some("2020-01-01"),
            Some("2099-01-01"),
        ] {
            assert!(
                form("t", "custom", bad).unwrap_err().input() == Some(Input::ExpiryDate),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn at_least_one_scope() {
        let err = NewToken::from_form("t", None, "30", None, vec![], NOW).unwrap_err();
        assert!(err.input() == Some(Input::Scopes));
    }
}
