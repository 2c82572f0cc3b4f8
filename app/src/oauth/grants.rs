//! Grants and their tokens. An access token (`<prefix>oat_…`, default one
//! hour) and a refresh token (`<prefix>ort_…`, rotated on every use, 30 days
//! idle, 90 days from the grant) are stored hashed like API keys, with the
//! same CRC32 checksum. Revoking a grant ends its tokens at once, on every
//! instance (each request reads the grant).

use super::{clients::Client, OAuthError};
use crate::audit::{ActorKind, AuditAction, Outcome};
use crate::{
    audit::NewEvent,
    config::Config,
    db::Db,
    tokens::{
        format::{self, FormatError, TokenSecret},
        last_use::{self, RecentWrites},
        service::{AuthFailure, Authenticated, Identified},
        Scope,
    },
    types::{AccountId, Timestamp},
};

/// The access-token prefix under a deployment's API-key prefix (`preq_oat_`).
pub fn access_prefix(config: &Config) -> String {
    format!("{}oat_", config.token_prefix)
}

/// True when `presented` has the access-token prefix. Asked on every bearer
/// request, so it allocates nothing.
pub fn is_access_token(config: &Config, presented: &str) -> bool {
    presented
        .strip_prefix(config.token_prefix.as_str())
        .is_some_and(|rest| rest.starts_with("oat_"))
}

/// The refresh-token prefix (`preq_ort_`).
pub fn refresh_prefix(config: &Config) -> String {
    format!("{}ort_", config.token_prefix)
}

/// Creates a grant on the caller's transaction; returns its id.
pub async fn create(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
    client: &Client,
    scopes: &[Scope],
    resource: &str,
    now: Timestamp,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO oauth_grants (id, account_id, client_id, client_name, client_source, scopes, resource, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(account.to_string())
    .bind(&client.client_id)
    .bind(&client.name)
    .bind(client.source())
    .bind(Scope::join(scopes))
    .bind(resource)
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    // Bounded, as GitHub bounds OAuth tokens per user and app: at most
    // GRANTS_PER_CLIENT live grants of one client (several machines) and
    // GRANTS_PER_ACCOUNT in all; the oldest beyond that end.
    for (filter, cap) in [
        ("AND client_id = $2", GRANTS_PER_CLIENT),
        ("AND $2 = $2", GRANTS_PER_ACCOUNT),
    ] {
        sqlx::query(&format!(
            "UPDATE oauth_grants SET revoked_at = $3, revoked_reason = 'superseded' WHERE id IN (\
             SELECT id FROM oauth_grants WHERE account_id = $1 {filter} AND revoked_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1000000 OFFSET {cap})"
        ))
        .bind(account.to_string())
        .bind(&client.client_id)
        .bind(now.millis())
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// Live grants one client may hold for one account.
pub const GRANTS_PER_CLIENT: i64 = 10;
/// Live grants one account may hold in all.
pub const GRANTS_PER_ACCOUNT: i64 = 100;

/// A token response (RFC 6749 5.1). It holds two secrets: `Debug` shows
/// neither.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub scope: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The grant as [`issue`] reads it.
#[derive(sqlx::FromRow)]
struct GrantRow {
    scopes: String,
    created_at: i64,
    revoked_at: Option<i64>,
    account_id: String,
    disabled_at: Option<i64>,
}

/// Issues an access and a refresh token for a live grant, on the caller's
/// transaction (the one that claimed the code or refresh token, so a
/// failure here leaves the claim undone). `refreshed`: this answers a
/// refresh (audited). Returns the answer and the new refresh token's hash.
pub async fn issue(
    conn: &mut sqlx::AnyConnection,
    config: &Config,
    grant_id: &str,
    refreshed: bool,
    now: Timestamp,
) -> Result<(Issued, String), OAuthError> {
    let grant: GrantRow = sqlx::query_as(
        "SELECT g.scopes, g.created_at, g.revoked_at, g.account_id, a.disabled_at \
         FROM oauth_grants g JOIN accounts a ON a.id = g.account_id WHERE g.id = $1",
    )
    .bind(grant_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(OAuthError::db)?
    .ok_or_else(|| OAuthError::new("invalid_grant", "The grant no longer exists."))?;
    if grant.revoked_at.is_some() || grant.disabled_at.is_some() {
        return Err(OAuthError::new("invalid_grant", "The grant was revoked."));
    }
    let access = format::generate(&access_prefix(config))
        .map_err(|_| OAuthError::new("server_error", "Randomness failed."))?;
    let refresh = format::generate(&refresh_prefix(config))
        .map_err(|_| OAuthError::new("server_error", "Randomness failed."))?;
    let access_ttl = config.oauth_access_ttl_secs * 1000;
    let day = 86_400_000;
    let refresh_expires = (now.millis() + config.oauth_refresh_idle_days * day)
        .min(grant.created_at + config.oauth_refresh_max_days * day);
    if refresh_expires <= now.millis() {
        return Err(OAuthError::new(
            "invalid_grant",
            "The grant reached its maximum lifetime; authorize again.",
        ));
    }
    for (secret, kind, expires) in [
        (&access, "access", now.millis() + access_ttl),
        (&refresh, "refresh", refresh_expires),
    ] {
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, grant_id, kind, prefix, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(secret.hash())
        .bind(grant_id)
        .bind(kind)
        .bind(secret.display_prefix())
        .bind(now.millis())
        .bind(expires)
        .execute(&mut *conn)
        .await
        .map_err(OAuthError::db)?;
    }
    if refreshed {
        let event = NewEvent::new(
            AuditAction::OauthTokenRefreshed,
            ActorKind::OauthClient,
            Outcome::Success,
        )
        .account(grant.account_id)
        .actor(grant_id.to_string())
        .target(grant_id.to_string())
        .token(access.display_prefix());
        crate::audit::chain::append(&mut *conn, &config.keys, &[event], now)
            .await
            .map_err(OAuthError::db)?;
    }
    let issued = Issued {
        access_token: access.expose().to_string(),
        token_type: "Bearer".into(),
        expires_in: config.oauth_access_ttl_secs,
        refresh_token: refresh.expose().to_string(),
        scope: grant.scopes,
    };
    Ok((issued, refresh.hash()))
}

/// The row of the access token `presented` names, with its grant and
/// account; why not when it is malformed or unknown.
async fn read_access(
    db: &Db,
    config: &Config,
    presented: &str,
) -> Result<Result<AccessRow, AuthFailure>, sqlx::Error> {
    let secret: TokenSecret = match format::parse(&access_prefix(config), presented) {
        Ok(s) => s,
        Err(FormatError::Malformed) => return Ok(Err(AuthFailure::Malformed)),
        Err(FormatError::BadChecksum) => return Ok(Err(AuthFailure::BadChecksum)),
    };
    let row: Option<AccessRow> = sqlx::query_as(
        "SELECT t.prefix, t.created_at, t.expires_at, g.id AS grant_id, g.account_id, g.client_name, g.scopes, \
                g.resource, g.revoked_at, g.last_used_at, g.last_used_ip, a.email, a.disabled_at, \
                g.projects_restricted \
         FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN accounts a ON a.id = g.account_id \
         WHERE t.token_hash = $1 AND t.kind = 'access'",
    )
    .bind(secret.hash())
    .fetch_optional(db)
    .await?;
    Ok(row.ok_or(AuthFailure::Unknown))
}

/// Why the access token of `row` does not work at `now` (grant revoked,
/// account disabled, expired, another audience), or `None` when it does.
fn access_refusal(row: &AccessRow, config: &Config, now: Timestamp) -> Option<AuthFailure> {
    let (prefix, account) = (|| row.prefix.clone(), || row.account_id.clone());
    if row.revoked_at.is_some() || row.disabled_at.is_some() {
        return Some(AuthFailure::Revoked {
            prefix: prefix(),
            account: account(),
            credential: row.grant_id.clone(),
            retired: None,
        });
    }
    if row.expires_at <= now.millis() {
        return Some(AuthFailure::Expired {
            prefix: prefix(),
            account: account(),
            credential: row.grant_id.clone(),
            at: Timestamp(row.expires_at),
        });
    }
    if !super::resources(config).contains(&row.resource) {
        return Some(AuthFailure::WrongAudience {
            prefix: prefix(),
            account: account(),
        });
    }
    None
}

/// The grant of the access token `presented` when the token works at `now`
/// (the read and rules of [`authenticate`], recording no use); `None` for
/// anything else.
pub async fn identify(
    db: &Db,
    config: &Config,
    presented: &str,
    now: Timestamp,
) -> Result<Option<Identified>, sqlx::Error> {
    let Ok(row) = read_access(db, config, presented).await? else {
        return Ok(None);
    };
    if access_refusal(&row, config, now).is_some() {
        return Ok(None);
    }
    Ok(AccountId::parse(&row.account_id).map(|owner| Identified {
        id: row.grant_id,
        owner,
        name: row.client_name,
        prefix: row.prefix,
    }))
}

/// Authenticates an OAuth access token as the bearer of a request: the
/// same [`Authenticated`] an API key gives, with the grant's scopes. The
/// grant must be live, the account enabled, and the token's audience one
/// of this server's two resources.
pub async fn authenticate(
    db: &Db,
    config: &Config,
    recent: &RecentWrites,
    presented: &str,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    let row = match read_access(db, config, presented).await? {
        Ok(row) => row,
        Err(failure) => return Ok(Err(failure)),
    };
    if let Some(failure) = access_refusal(&row, config, now) {
        return Ok(Err(failure));
    }
    let (prefix, account) = (row.prefix.clone(), row.account_id.clone());
    let Some(account_id) = AccountId::parse(&account) else {
        return Ok(Err(AuthFailure::Unknown));
    };
    // Last use, for Connected apps: kept as API keys keep theirs (the same
    // interval and coalescer), so a burst of calls writes once.
    last_use::record(
        db,
        recent,
        (last_use::Table::OauthGrants, &row.grant_id),
        (row.last_used_at, row.last_used_ip.as_deref()),
        ip,
        now.millis(),
    )
    .await?;
    let reach = match row.projects_restricted {
        0 => crate::projects::Reach::all(account_id),
        _ => crate::projects::Reach::token(account_id, &row.grant_id),
    };
    Ok(Ok(Authenticated {
        token_id: row.grant_id,
        account_id,
        account_email: row.email,
        name: row.client_name,
        prefix,
        scopes: row
            .scopes
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect(),
        created_at: Timestamp(row.created_at),
        expires_at: Some(Timestamp(row.expires_at)),
        new_ip: false,
        oauth: true,
        allowed_ips: Default::default(),
        reach,
        task: None,
        ci: None,
        limited: false,
        usage_remaining: None,
    }))
}

/// An access token with its grant and account, as [`authenticate`] reads it.
#[derive(sqlx::FromRow)]
struct AccessRow {
    /// 1: the grant reaches only its rows in `token_projects`.
    projects_restricted: i64,
    prefix: String,
    created_at: i64,
    expires_at: i64,
    grant_id: String,
    account_id: String,
    client_name: String,
    scopes: String,
    resource: String,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    email: String,
    disabled_at: Option<i64>,
}

/// One row of Connected apps.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GrantView {
    pub id: String,
    pub client_name: String,
    pub client_source: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// Limited to its rows in `token_projects` (the consent page's choice).
    pub restricted: bool,
}

/// A grant as Connected apps lists it.
#[derive(sqlx::FromRow)]
struct GrantListRow {
    id: String,
    client_name: String,
    client_source: String,
    scopes: String,
    created_at: i64,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    projects_restricted: i64,
}

/// The columns of a grant as Connected apps shows it.
const GRANT_COLUMNS: &str =
    "id, client_name, client_source, scopes, created_at, last_used_at, last_used_ip, projects_restricted";

impl From<GrantListRow> for GrantView {
    fn from(r: GrantListRow) -> Self {
        GrantView {
            id: r.id,
            client_name: r.client_name,
            client_source: r.client_source,
            scopes: r.scopes.split_whitespace().map(str::to_string).collect(),
            created_at: Timestamp(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp),
            last_used_ip: r.last_used_ip,
            restricted: r.projects_restricted != 0,
        }
    }
}

/// `owner`'s live grants, newest first.
pub async fn list(db: &Db, owner: AccountId) -> Result<Vec<GrantView>, sqlx::Error> {
    let rows: Vec<GrantListRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM oauth_grants \
         WHERE account_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 200"
    ))
    .bind(owner.to_string())
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(GrantView::from).collect())
}

/// One of `owner`'s live grants.
pub async fn get(db: &Db, owner: AccountId, id: &str) -> Result<Option<GrantView>, sqlx::Error> {
    let row: Option<GrantListRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM oauth_grants \
         WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL"
    ))
    .bind(id)
    .bind(owner.to_string())
    .fetch_optional(db)
    .await?;
    Ok(row.map(GrantView::from))
}

/// The sweep: expired requests, codes and tokens, and grants revoked more
/// than 30 days ago (with their tokens).
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    for sql in [
        "DELETE FROM oauth_requests WHERE expires_at < $1",
        // Successor pairs kept for the refresh leeway, once it has ended.
        "UPDATE oauth_tokens SET replay_sealed = NULL, replay_until = NULL \
         WHERE replay_until IS NOT NULL AND replay_until < $1",
        "DELETE FROM oauth_codes WHERE expires_at < $1",
        "DELETE FROM oauth_tokens WHERE expires_at < $1",
        "DELETE FROM oauth_codes WHERE grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at < $1 - 2592000000)",
        "DELETE FROM oauth_tokens WHERE grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at < $1 - 2592000000)",
        "DELETE FROM oauth_grants WHERE revoked_at < $1 - 2592000000",
    ] {
        n += sqlx::query(sql)
            .bind(now.millis())
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(n)
}
