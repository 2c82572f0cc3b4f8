//! The inventory's queries and the administrator's revoke (server only).

use super::*;
use crate::{
    audit::{AuditAction, NewEvent},
    config::Config,
    db::Db,
    fault::Fault,
    tokens::{allowlist::IpAllowlist, format, service},
    types::AccountId,
};

const DAY_MS: i64 = 86_400_000;

/// Columns shared by both kinds, in this order.
#[derive(sqlx::FromRow)]
struct Row {
    kind: String,
    id: String,
    account_id: String,
    owner: String,
    name: String,
    prefix: Option<String>,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    ips: i64,
    allowed_ips: Option<String>,
    revoked_at: Option<i64>,
    revoked_by: Option<String>,
    revoked_reason: Option<String>,
}

fn credential(r: Row, now: Timestamp) -> Credential {
    let status = if r.revoked_at.is_some() {
        TokenStatus::Revoked
    } else if r.expires_at.is_some_and(|e| e <= now.millis()) {
        TokenStatus::Expired
    } else {
        TokenStatus::Active
    };
    Credential {
        kind: CredentialKind::parse(&r.kind).unwrap_or(CredentialKind::ApiKey),
        id: r.id,
        account_id: r.account_id,
        owner: r.owner,
        name: r.name,
        prefix: r.prefix.unwrap_or_default(),
        scopes: r.scopes.split_whitespace().map(str::to_string).collect(),
        created_at: Timestamp(r.created_at),
        expires_at: r.expires_at.map(Timestamp),
        last_used_at: r.last_used_at.map(Timestamp),
        last_used_ip: r.last_used_ip,
        ips: r.ips,
        allowed_ips: IpAllowlist::from_stored(r.allowed_ips.as_deref()).entries(),
        status,
        revoked_at: r.revoked_at.map(Timestamp),
        revoked_by: r.revoked_by,
        revoked_reason: r.revoked_reason,
    }
}

/// A rotated key whose grace is over counts as revoked (the sweep
/// writes it within a minute).
const KEYS: &str = "SELECT 'api_key' AS kind, t.id, t.account_id, a.email AS owner, t.name, t.prefix, \
     t.scopes, t.created_at, t.expires_at, t.last_used_at, t.last_used_ip, \
     (SELECT COUNT(*) FROM token_ips i WHERE i.token_id = t.id) AS ips, t.allowed_ips, \
     COALESCE(t.revoked_at, CASE WHEN t.rotated_to IS NOT NULL AND t.grace_until <= $1 THEN t.grace_until END) AS revoked_at, \
     r.email AS revoked_by, t.revoked_reason \
     FROM api_tokens t JOIN accounts a ON a.id = t.account_id LEFT JOIN accounts r ON r.id = t.revoked_by";

const GRANTS: &str = "SELECT 'oauth_grant' AS kind, g.id, g.account_id, a.email AS owner, \
     g.client_name AS name, (SELECT o.prefix FROM oauth_tokens o WHERE o.grant_id = g.id \
     AND o.kind = 'access' ORDER BY o.created_at DESC LIMIT 1) AS prefix, g.scopes, g.created_at, \
     CAST(NULL AS BIGINT) AS expires_at, g.last_used_at, g.last_used_ip, \
     (SELECT COUNT(*) FROM token_ips i WHERE i.token_id = g.id) AS ips, \
     CAST(NULL AS TEXT) AS allowed_ips, g.revoked_at, CAST(NULL AS TEXT) AS revoked_by, g.revoked_reason \
     FROM oauth_grants g JOIN accounts a ON a.id = g.account_id";

/// What a search names: a whole token (by its hash) or a prefix.
enum Search {
    KeyHash(String),
    GrantHash(String),
    Prefix(String),
}

fn search_of(config: &Config, s: &str) -> Search {
    let s = s.trim();
    if let Ok(secret) = format::parse(&config.token_prefix, s) {
        return Search::KeyHash(secret.hash());
    }
    for prefix in [
        crate::oauth::grants::access_prefix(config),
        crate::oauth::grants::refresh_prefix(config),
    ] {
        if let Ok(secret) = format::parse(&prefix, s) {
            return Search::GrantHash(secret.hash());
        }
    }
    // The list shows 12 characters, a log may hold more: the stored
    // prefix is compared with as much of it as both have.
    Search::Prefix(s.trim_end_matches('…').chars().take(12).collect())
}

/// The credentials matching `query`, newest first, at most [`MAX_ROWS`].
pub async fn list(
    db: &Db,
    config: &Config,
    query: &Query,
    now: Timestamp,
) -> Result<Vec<Credential>, Fault> {
    let mut keys_where = vec!["1 = 1".to_string()];
    let mut grants_where = vec!["1 = 1".to_string()];
    // $1 now, $2 search, $3 account email.
    let search = query
        .search
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| search_of(config, s));
    let search_value = match &search {
        None => String::new(),
        Some(Search::KeyHash(h) | Search::GrantHash(h)) => h.clone(),
        Some(Search::Prefix(p)) => p.clone(),
    };
    match &search {
        None => {}
        Some(Search::KeyHash(_)) => {
            keys_where.push("t.token_hash = $2".into());
            grants_where.push("1 = 0".into());
        }
        Some(Search::GrantHash(_)) => {
            keys_where.push("1 = 0".into());
            grants_where.push(
                "EXISTS (SELECT 1 FROM oauth_tokens o WHERE o.grant_id = g.id AND o.token_hash = $2)"
                    .into(),
            );
        }
        Some(Search::Prefix(_)) => {
            keys_where.push("SUBSTR(t.prefix, 1, LENGTH($2)) = $2".into());
            grants_where.push(
                "EXISTS (SELECT 1 FROM oauth_tokens o WHERE o.grant_id = g.id \
                 AND SUBSTR(o.prefix, 1, LENGTH($2)) = $2)"
                    .into(),
            );
        }
    }
    if query.account.is_some() {
        keys_where.push("a.email = $3".into());
        grants_where.push("a.email = $3".into());
    }
    let active_key =
        "t.revoked_at IS NULL AND NOT (t.rotated_to IS NOT NULL AND t.grace_until <= $1) \
                      AND (t.expires_at IS NULL OR t.expires_at > $1)";
    match query.status {
        None => {}
        Some(TokenStatus::Active) => {
            keys_where.push(active_key.into());
            grants_where.push("g.revoked_at IS NULL".into());
        }
        Some(TokenStatus::Expired) => {
            keys_where.push("t.revoked_at IS NULL AND t.expires_at <= $1".into());
            grants_where.push("1 = 0".into());
        }
        Some(TokenStatus::Revoked) => {
            keys_where.push(format!(
                "NOT ({active_key}) AND NOT (t.revoked_at IS NULL AND t.expires_at <= $1)"
            ));
            grants_where.push("g.revoked_at IS NOT NULL".into());
        }
    }
    let unused_since = now.millis() - 90 * DAY_MS;
    match query.filter {
        None => {}
        Some(f @ (Filter::Expiring7 | Filter::Expiring30)) => {
            let days = if f == Filter::Expiring7 { 7 } else { 30 };
            keys_where.push(format!(
                "{active_key} AND t.expires_at <= {}",
                now.millis() + days * DAY_MS
            ));
            grants_where.push("1 = 0".into());
        }
        Some(Filter::NeverUsed) => {
            keys_where.push(format!("{active_key} AND t.last_used_at IS NULL"));
            grants_where.push("g.revoked_at IS NULL AND g.last_used_at IS NULL".into());
        }
        Some(Filter::Unused90) => {
            keys_where.push(format!(
                "{active_key} AND COALESCE(t.last_used_at, t.created_at) < {unused_since}"
            ));
            grants_where.push(format!(
                "g.revoked_at IS NULL AND COALESCE(g.last_used_at, g.created_at) < {unused_since}"
            ));
        }
        Some(Filter::NoExpiry) => {
            keys_where.push(format!("{active_key} AND t.expires_at IS NULL"));
            grants_where.push("1 = 0".into());
        }
        Some(Filter::NoAllowlist) => {
            keys_where.push(format!(
                "{active_key} AND (t.allowed_ips IS NULL OR t.allowed_ips = '')"
            ));
            grants_where.push("g.revoked_at IS NULL".into());
        }
    }
    let sql = format!(
        "SELECT * FROM ({KEYS} WHERE {} UNION ALL {GRANTS} WHERE {}) c \
         ORDER BY created_at DESC, id LIMIT {MAX_ROWS}",
        keys_where.join(" AND "),
        grants_where.join(" AND "),
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(now.millis())
        .bind(search_value)
        .bind(query.account.clone().unwrap_or_default())
        .fetch_all(db)
        .await
        .map_err(|e| Fault::db("credentials inventory", e))?;
    Ok(rows.into_iter().map(|r| credential(r, now)).collect())
}

/// The one credential `search` (a prefix or a whole token) names. Several
/// matches are refused with the candidates (an OAuth token's prefix holds
/// only 3 random characters), none is `NotFound`.
pub async fn find(
    db: &Db,
    config: &Config,
    search: &str,
    now: Timestamp,
) -> Result<Credential, Found> {
    if search.trim().chars().count() < 6 {
        return Err(Found::Fault(Fault::invalid(
            crate::fault::Input::Search,
            "Give at least 6 characters of the prefix, or the whole token.",
        )));
    }
    let query = Query {
        search: Some(search.to_string()),
        ..Query::default()
    };
    let mut found = list(db, config, &query, now).await.map_err(Found::Fault)?;
    match found.len() {
        0 => Err(Found::Fault(Fault::NotFound(
            "No credential matches this prefix or token.".into(),
        ))),
        1 => Ok(found.remove(0)),
        _ => Err(Found::Many(found)),
    }
}

/// Why [`find`] found not exactly one.
#[derive(Debug)]
pub enum Found {
    Fault(Fault),
    /// More than one matches: the candidates.
    Many(Vec<Credential>),
}

/// Who revokes: an administrator signed in (their account), or the
/// command line on the server.
#[derive(Debug, Clone, Copy)]
pub enum Revoker {
    Admin(AccountId),
    CommandLine,
}

/// Revokes any account's credential as an administrator: an API key
/// (with its working rotation family) or an OAuth grant. The owner's
/// trail gets the revocation, the admin's a copy naming the owner.
/// Revoking a revoked credential is a no-op. Returns it as it is now.
pub async fn revoke(
    db: &Db,
    config: &Config,
    kind: CredentialKind,
    id: &str,
    who: Revoker,
    note: Option<&str>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Credential, Fault> {
    let not_found = || Fault::NotFound("No such credential.".into());
    let owner: Option<(String,)> = sqlx::query_as(match kind {
        CredentialKind::ApiKey => "SELECT account_id FROM api_tokens WHERE id = $1",
        CredentialKind::OauthGrant => "SELECT account_id FROM oauth_grants WHERE id = $1",
    })
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(|e| Fault::db("revoke credential", e))?;
    let owner = owner
        .and_then(|(o,)| AccountId::parse(&o))
        .ok_or_else(not_found)?;
    let mut base = base.clone();
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        base = base.detail("note", crate::audit::cut(note));
    }
    let by = match who {
        Revoker::Admin(admin) => Some(admin),
        Revoker::CommandLine => None,
    };
    match kind {
        CredentialKind::ApiKey => {
            service::revoke(
                db,
                &config.keys,
                owner,
                id,
                service::Revocation {
                    by,
                    reason: "revoked_by_admin",
                    base: &base,
                },
                now,
            )
            .await?;
        }
        CredentialKind::OauthGrant => {
            crate::oauth::revocation::revoke(
                db,
                &config.keys,
                owner,
                id,
                "revoked_by_admin",
                &base,
                now,
            )
            .await
            .map_err(|e| Fault::db("revoke credential", e))?;
        }
    }
    let current = list_one(db, kind, id, now).await?.ok_or_else(not_found)?;
    // The admin's own trail: what they revoked, and whose.
    if let Some(admin) = by.filter(|a| *a != owner) {
        let event = base
            .with_action(match kind {
                CredentialKind::ApiKey => AuditAction::TokenRevoked,
                CredentialKind::OauthGrant => AuditAction::OauthGrantRevoked,
            })
            .account(admin)
            .target(current.name.clone())
            .token(current.prefix.clone())
            .detail("reason", "revoked_by_admin")
            .detail("owner", current.owner.clone());
        crate::audit::chain::append_now(db, &config.keys, &[event], now)
            .await
            .map_err(|e| Fault::db("revoke credential", e))?;
    }
    tracing::info!(kind = kind.as_str(), credential = id, owner = %owner, "credential revoked by an administrator");
    Ok(current)
}

async fn list_one(
    db: &Db,
    kind: CredentialKind,
    id: &str,
    now: Timestamp,
) -> Result<Option<Credential>, Fault> {
    let keys_sql = format!("{KEYS} WHERE t.id = $2");
    let grants_sql = format!("{GRANTS} WHERE g.id = $1");
    let read = match kind {
        CredentialKind::ApiKey => sqlx::query_as(&keys_sql).bind(now.millis()).bind(id),
        CredentialKind::OauthGrant => sqlx::query_as(&grants_sql).bind(id),
    };
    let row: Option<Row> = read
        .fetch_optional(db)
        .await
        .map_err(|e| Fault::db("credentials inventory", e))?;
    Ok(row.map(|r| credential(r, now)))
}
