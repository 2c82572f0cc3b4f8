//! What the doors call for trust rules: an account's rules (every rule for
//! an administrator, who may disable any), creating, changing, enabling,
//! disabling and deleting one, a rule's recent exchanges, and the sweep.
//! Every query carries the owner filter; every change is audited in its
//! transaction. Disabling a rule revokes the tokens it issued in the same
//! transaction (and `authenticate` reads the rule on every request too).

use super::{
    audience, conditions, Condition, ExchangeView, Provider, RuleDetail, RuleForm, RuleView,
    DEFAULT_TTL_SECS, MAX_NAME, MAX_RULES, MAX_TTL_SECS, RECENT_EXCHANGES, SCOPES,
};
use crate::{
    audit::{chain, AuditAction, NewEvent},
    config::Config,
    db::Db,
    fault::{Fault, Input},
    tokens::{allowlist::IpAllowlist, limit::UsageLimit, service::write_projects, Scope},
    types::{AccountId, Timestamp},
};

/// Who asks: an account, and whether it administers the server.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub account: AccountId,
    pub admin: bool,
}

/// Tokens' rows are kept this long after they expire (the page's history).
pub const KEEP_AFTER_EXPIRY_MS: i64 = 7 * 86_400_000;

/// A rule's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub issuer: String,
    pub conditions: String,
    pub allow_fork_events: i64,
    pub scopes: String,
    pub projects_restricted: i64,
    pub allowed_ips: Option<String>,
    pub ttl_secs: i64,
    pub usage_limit: Option<i64>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub last_exchange_at: Option<i64>,
}

impl RuleRow {
    pub fn conditions(&self) -> Vec<Condition> {
        serde_json::from_str(&self.conditions).unwrap_or_default()
    }
}

const COLUMNS: &str = "r.id, r.account_id, r.name, r.issuer, r.conditions, r.allow_fork_events, \
    r.scopes, r.projects_restricted, r.allowed_ips, r.ttl_secs, r.usage_limit, r.created_at, \
    r.disabled_at, r.last_exchange_at";

fn db_fault(context: &'static str) -> impl Fn(sqlx::Error) -> Fault {
    move |e| Fault::db(context, e)
}

fn not_found() -> Fault {
    Fault::NotFound("No such trust rule.".into())
}

/// The rule `id`, whoever owns it (the exchange's read).
pub async fn load(db: &Db, id: &str) -> Result<Option<RuleRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM federation_rules r WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A checked form.
struct Checked {
    name: String,
    issuer: String,
    conditions: Vec<Condition>,
    scopes: Vec<Scope>,
    allowed_ips: Option<String>,
    ttl_secs: i64,
    usage_limit: Option<i64>,
}

fn check(config: &Config, form: &RuleForm) -> Result<Checked, Fault> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Fault::invalid(
            Input::FederationName,
            format!("Give the rule a name of 1 to {MAX_NAME} characters."),
        ));
    }
    let issuer = form.issuer.trim().trim_end_matches('/').to_string();
    if issuer.len() > 512 {
        return Err(Fault::invalid(
            Input::FederationIssuer,
            "The issuer URL is too long.",
        ));
    }
    let url = crate::outbound::check_shape(&config.federation_allow_hosts, &issuer)
        .map_err(|e| Fault::invalid(Input::FederationIssuer, format!("The issuer URL {e}.")))?;
    if url.query().is_some() {
        return Err(Fault::invalid(
            Input::FederationIssuer,
            "The issuer URL has no query.",
        ));
    }
    let conditions = conditions::check(&issuer, &form.conditions)
        .map_err(|m| Fault::invalid(Input::FederationConditions, m))?;
    let mut scopes = form.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(s)) {
        return Err(Fault::invalid(
            Input::Scopes,
            "Choose at least one scope; a CI token cannot make or rotate tokens.",
        ));
    }
    let allowed_ips = IpAllowlist::from_input(Some(&form.allowed_ips))?.to_stored();
    let ttl_secs = match form.lifetime_minutes {
        None => DEFAULT_TTL_SECS,
        Some(m) if (1..=MAX_TTL_SECS / 60).contains(&m) => m * 60,
        Some(_) => {
            return Err(Fault::invalid(
                Input::FederationLifetime,
                format!("The lifetime is 1 to {} minutes.", MAX_TTL_SECS / 60),
            ))
        }
    };
    let usage_limit = UsageLimit::from_input(Some(&form.usage_limit), None, None)
        .map_err(|m| Fault::invalid(Input::UsageLimit, m))?
        .map(|u| u.limit);
    Ok(Checked {
        name: name.to_string(),
        issuer,
        conditions,
        scopes,
        allowed_ips,
        ttl_secs,
        usage_limit,
    })
}

/// The audit entry of a change to `rule` (`id`, `name`, `issuer`).
fn entry(base: &NewEvent, action: AuditAction, owner: &str, id: &str, name: &str) -> NewEvent {
    base.with_action(action)
        .account(owner)
        .target(id)
        .detail("rule", name)
        .security(true)
}

async fn views(
    db: &Db,
    config: &Config,
    caller: Caller,
    only: Option<&str>,
    now: Timestamp,
) -> Result<Vec<RuleView>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        rule: RuleRow,
        email: String,
        live: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, a.email, \
           (SELECT COUNT(*) FROM federated_tokens t WHERE t.rule_id = r.id AND t.revoked_at IS NULL \
              AND t.expires_at > $3) AS live \
         FROM federation_rules r JOIN accounts a ON a.id = r.account_id \
         WHERE (r.account_id = $1 OR $2 = 1) AND ($4 = '' OR r.id = $4) \
         ORDER BY r.created_at DESC, r.id DESC LIMIT 500"
    ))
    .bind(caller.account.to_string())
    .bind(i64::from(caller.admin))
    .bind(now.millis())
    .bind(only.unwrap_or_default())
    .fetch_all(db)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for Row {
        rule: r,
        email,
        live,
    } in rows
    {
        let projects = if r.projects_restricted != 0 {
            let ids: Vec<(String,)> = sqlx::query_as(
                "SELECT project_id FROM token_projects WHERE token_id = $1 ORDER BY project_id",
            )
            .bind(&r.id)
            .fetch_all(db)
            .await?;
            Some(ids.into_iter().map(|(p,)| p).collect())
        } else {
            None
        };
        out.push(RuleView {
            audience: audience(&config.public_url, &r.id),
            owned: r.account_id == caller.account.to_string(),
            owner_email: email,
            provider: Provider::of(&r.issuer),
            conditions: r.conditions(),
            allow_fork_events: r.allow_fork_events != 0,
            scopes: Scope::split(&r.scopes),
            projects,
            allowed_ips: IpAllowlist::from_stored(r.allowed_ips.as_deref()).entries(),
            ttl_secs: r.ttl_secs,
            usage_limit: r.usage_limit,
            created_at: Timestamp(r.created_at),
            disabled_at: r.disabled_at.map(Timestamp),
            last_exchange_at: r.last_exchange_at.map(Timestamp),
            live_tokens: live,
            id: r.id,
            name: r.name,
            issuer: r.issuer,
        });
    }
    Ok(out)
}

/// The caller's rules (every rule for an administrator), newest first.
pub async fn list(
    db: &Db,
    config: &Config,
    caller: Caller,
    now: Timestamp,
) -> Result<Vec<RuleView>, Fault> {
    views(db, config, caller, None, now)
        .await
        .map_err(db_fault("list trust rules"))
}

/// One rule and its recent exchanges (the newest [`RECENT_EXCHANGES`]).
pub async fn get(
    db: &Db,
    config: &Config,
    caller: Caller,
    id: &str,
    now: Timestamp,
) -> Result<RuleDetail, Fault> {
    if id.is_empty() {
        return Err(not_found());
    }
    let rule = views(db, config, caller, Some(id), now)
        .await
        .map_err(db_fault("read trust rule"))?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    #[derive(sqlx::FromRow)]
    struct Row {
        prefix: String,
        actor: String,
        identity: String,
        scopes: String,
        created_at: i64,
        expires_at: i64,
        last_used_at: Option<i64>,
        last_used_ip: Option<String>,
        revoked_reason: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT prefix, actor, identity, scopes, created_at, expires_at, last_used_at, last_used_ip, \
                revoked_reason \
         FROM federated_tokens WHERE rule_id = $1 AND (account_id = $2 OR $3 = 1) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(id)
    .bind(caller.account.to_string())
    .bind(i64::from(caller.admin))
    .bind(RECENT_EXCHANGES)
    .fetch_all(db)
    .await
    .map_err(db_fault("read exchanges"))?;
    let exchanges = rows
        .into_iter()
        .map(|r| ExchangeView {
            identity: serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
                &r.identity,
            )
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "jti")
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect(),
            prefix: r.prefix,
            actor: r.actor,
            scopes: Scope::split(&r.scopes),
            created_at: Timestamp(r.created_at),
            expires_at: Timestamp(r.expires_at),
            last_used_at: r.last_used_at.map(Timestamp),
            last_used_ip: r.last_used_ip,
            revoked_reason: r.revoked_reason,
        })
        .collect();
    Ok(RuleDetail { rule, exchanges })
}

/// Writes a checked form to rule `id` (new or existing) and its projects.
async fn write(
    tx: &mut sqlx::AnyConnection,
    owner: AccountId,
    id: &str,
    c: &Checked,
    form: &RuleForm,
    now: Timestamp,
) -> Result<Result<(), Fault>, sqlx::Error> {
    sqlx::query(
        "UPDATE federation_rules SET name = $1, provider = $2, issuer = $3, conditions = $4, \
           allow_fork_events = $5, scopes = $6, projects_restricted = $7, allowed_ips = $8, \
           ttl_secs = $9, usage_limit = $10, updated_at = $11 \
         WHERE id = $12 AND account_id = $13",
    )
    .bind(&c.name)
    .bind(
        serde_json::to_value(Provider::of(&c.issuer))
            .ok()
            .and_then(|v| v.as_str().map(str::to_string)),
    )
    .bind(&c.issuer)
    .bind(serde_json::to_string(&c.conditions).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(form.allow_fork_events))
    .bind(Scope::join(&c.scopes))
    .bind(i64::from(form.projects.is_some()))
    .bind(&c.allowed_ips)
    .bind(c.ttl_secs)
    .bind(c.usage_limit)
    .bind(now.millis())
    .bind(id)
    .bind(owner.to_string())
    .execute(&mut *tx)
    .await?;
    write_projects(tx, owner, id, form.projects.as_deref()).await
}

/// The audit details of a checked form.
fn described(event: NewEvent, c: &Checked, form: &RuleForm) -> NewEvent {
    event
        .detail("issuer", &c.issuer)
        .detail("conditions", &c.conditions)
        .detail("allow_fork_events", form.allow_fork_events)
        .detail("scopes", Scope::join(&c.scopes))
        .detail("projects", form.projects.as_ref().map(|p| p.join(" ")))
        .detail("allowed_ips", &c.allowed_ips)
        .detail("ttl_secs", c.ttl_secs)
        .detail("usage_limit", c.usage_limit)
}

/// Creates a rule for the caller (at most [`MAX_RULES`] an account).
pub async fn create(
    db: &Db,
    config: &Config,
    caller: Caller,
    form: &RuleForm,
    base: &NewEvent,
    now: Timestamp,
) -> Result<RuleView, Fault> {
    let c = check(config, form)?;
    let id = uuid::Uuid::now_v7().to_string();
    let owner = caller.account;
    let run = async {
        let mut tx = db.begin().await?;
        crate::accounts::lock_row(&mut tx, owner).await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM federation_rules WHERE account_id = $1")
                .bind(owner.to_string())
                .fetch_one(&mut *tx)
                .await?;
        if count >= MAX_RULES {
            return Ok(Err(Fault::Conflict(format!(
                "An account can have at most {MAX_RULES} trust rules; delete one first."
            ))));
        }
        sqlx::query(
            "INSERT INTO federation_rules (id, account_id, name, provider, issuer, conditions, scopes, \
             ttl_secs, created_at, updated_at) VALUES ($1, $2, '', '', '', '[]', '', 0, $3, $3)",
        )
        .bind(&id)
        .bind(owner.to_string())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        if let Err(f) = write(&mut tx, owner, &id, &c, form, now).await? {
            return Ok(Err(f));
        }
        let event = described(
            entry(
                base,
                AuditAction::FederationRuleCreated,
                &owner.to_string(),
                &id,
                &c.name,
            ),
            &c,
            form,
        );
        chain::append(&mut tx, &config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    };
    run.await.map_err(db_fault("create trust rule"))??;
    Ok(get(db, config, caller, &id, now).await?.rule)
}

/// Changes one of the caller's own rules (tokens already issued keep their
/// scopes and lifetime; its projects and allowlist apply to them at once).
pub async fn update(
    db: &Db,
    config: &Config,
    caller: Caller,
    id: &str,
    form: &RuleForm,
    base: &NewEvent,
    now: Timestamp,
) -> Result<RuleView, Fault> {
    let c = check(config, form)?;
    let owner = caller.account;
    let run = async {
        let mut tx = db.begin().await?;
        let found: Option<(String,)> = sqlx::query_as(
            "UPDATE federation_rules SET updated_at = $1 WHERE id = $2 AND account_id = $3 RETURNING id",
        )
        .bind(now.millis())
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Ok(Err(not_found()));
        }
        if let Err(f) = write(&mut tx, owner, id, &c, form, now).await? {
            return Ok(Err(f));
        }
        let event = described(
            entry(
                base,
                AuditAction::FederationRuleUpdated,
                &owner.to_string(),
                id,
                &c.name,
            ),
            &c,
            form,
        );
        chain::append(&mut tx, &config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    };
    run.await.map_err(db_fault("update trust rule"))??;
    Ok(get(db, config, caller, id, now).await?.rule)
}

/// Enables (the owner only) or disables (the owner or an administrator) a
/// rule. Disabling revokes every live token it issued, in the same
/// transaction. Returns the rule as it is now.
pub async fn set_enabled(
    db: &Db,
    config: &Config,
    caller: Caller,
    id: &str,
    enabled: bool,
    base: &NewEvent,
    now: Timestamp,
) -> Result<RuleView, Fault> {
    let run = async {
        let mut tx = db.begin().await?;
        let found: Option<(String, String, Option<i64>)> = sqlx::query_as(
            "UPDATE federation_rules SET updated_at = $1 \
             WHERE id = $2 AND (account_id = $3 OR ($4 = 1 AND $5 = 0)) \
             RETURNING account_id, name, disabled_at",
        )
        .bind(now.millis())
        .bind(id)
        .bind(caller.account.to_string())
        .bind(i64::from(caller.admin))
        .bind(i64::from(enabled))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((owner, name, disabled_at)) = found else {
            return Ok(Err(not_found()));
        };
        if disabled_at.is_none() == enabled {
            tx.commit().await?;
            return Ok(Ok(()));
        }
        sqlx::query("UPDATE federation_rules SET disabled_at = $1, disabled_by = $2 WHERE id = $3")
            .bind((!enabled).then_some(now.millis()))
            .bind((!enabled).then(|| caller.account.to_string()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let revoked = if enabled {
            0
        } else {
            revoke_issued(&mut tx, id, "rule_disabled", now).await?
        };
        let action = if enabled {
            AuditAction::FederationRuleEnabled
        } else {
            AuditAction::FederationRuleDisabled
        };
        let event = entry(base, action, &owner, id, &name).detail("tokens_revoked", revoked);
        chain::append(&mut tx, &config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    };
    run.await.map_err(db_fault("change trust rule"))??;
    Ok(get(db, config, caller, id, now).await?.rule)
}

/// Revokes every live token rule `id` issued, with `reason`; how many.
pub async fn revoke_issued(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE federated_tokens SET revoked_at = $1, revoked_reason = $2 \
         WHERE rule_id = $3 AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now.millis())
    .bind(reason)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Disables every enabled rule of `owner` and revokes their live tokens, on
/// the caller's transaction (the account's "revoke everything"): a rule an
/// intruder added keeps minting nothing. Returns (rules, tokens).
pub async fn disable_all_for_account(
    conn: &mut sqlx::AnyConnection,
    owner: AccountId,
    now: Timestamp,
) -> Result<(u64, u64), sqlx::Error> {
    let owner = owner.to_string();
    let tokens = sqlx::query(
        "UPDATE federated_tokens SET revoked_at = $1, revoked_reason = 'revoked_all_by_owner' \
         WHERE account_id = $2 AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now.millis())
    .bind(&owner)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let rules = sqlx::query(
        "UPDATE federation_rules SET disabled_at = $1, disabled_by = $2, updated_at = $1 \
         WHERE account_id = $2 AND disabled_at IS NULL",
    )
    .bind(now.millis())
    .bind(&owner)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((rules, tokens))
}

/// Revokes one of `owner`'s live CI tokens (a leaked-token report); 1 when
/// it was live, 0 otherwise. The caller audits why.
pub async fn revoke_token(
    db: &Db,
    owner: AccountId,
    id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE federated_tokens SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL",
    )
    .bind(now.millis())
    .bind(reason)
    .bind(id)
    .bind(owner.to_string())
    .execute(db)
    .await?
    .rows_affected())
}

/// Deletes one of the caller's own rules, its tokens (dead at once) and
/// their history with it.
pub async fn delete(
    db: &Db,
    config: &Config,
    caller: Caller,
    id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<(), Fault> {
    let owner = caller.account.to_string();
    let run = async {
        let mut tx = db.begin().await?;
        let found: Option<(String,)> = sqlx::query_as(
            "UPDATE federation_rules SET disabled_at = COALESCE(disabled_at, $1) \
             WHERE id = $2 AND account_id = $3 RETURNING name",
        )
        .bind(now.millis())
        .bind(id)
        .bind(&owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((name,)) = found else {
            return Ok(Err(not_found()));
        };
        let revoked = revoke_issued(&mut tx, id, "rule_deleted", now).await?;
        for sql in [
            "DELETE FROM federated_tokens WHERE rule_id = $1",
            "DELETE FROM token_projects WHERE token_id = $1",
            "DELETE FROM federation_rules WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let event = entry(base, AuditAction::FederationRuleDeleted, &owner, id, &name)
            .detail("tokens_revoked", revoked);
        chain::append(&mut tx, &config.keys, &[event], now).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    };
    run.await.map_err(db_fault("delete trust rule"))?
}

/// Drops tokens a week past their expiry and replay records past theirs.
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    let tokens = sqlx::query("DELETE FROM federated_tokens WHERE expires_at < $1")
        .bind(now.millis() - KEEP_AFTER_EXPIRY_MS)
        .execute(db)
        .await?
        .rows_affected();
    let jtis = sqlx::query("DELETE FROM federation_jtis WHERE expires_at < $1")
        .bind(now.millis())
        .execute(db)
        .await?
        .rows_affected();
    Ok(tokens + jtis)
}
