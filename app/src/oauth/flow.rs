//! The authorization-code flow: an authorization request is checked and
//! parked until the owner consents; consent creates a grant and a code; the
//! code (single use, 60 seconds, bound to client, redirect URI, PKCE
//! challenge and resource) is exchanged for tokens.

use crate::audit::AuditAction;

use super::{clients, grants, OAuthError};
use crate::{
    audit::NewEvent,
    config::Config,
    db::Db,
    keys::Keyring,
    tokens::Scope,
    types::{AccountId, Timestamp},
};

/// How long a parked request waits for consent.
pub const REQUEST_TTL_MS: i64 = 10 * 60_000;
/// How long a code may be exchanged.
pub const CODE_TTL_MS: i64 = 60_000;

/// The query of `GET /oauth/authorize`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthorizeQuery {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resource: Option<String>,
}

/// A checked request, parked for consent.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// The client's `state`, when it sent one (OAuth 2.1 makes it optional:
    /// PKCE binds the answer to the request).
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Vec<Scope>,
    pub resource: String,
}

/// Checks an authorization request and parks it. Returns its id, for the
/// consent page, or why it was refused. A refusal is shown on a page of
/// ours and never redirected: nobody has signed in or seen the consent page
/// yet, and anyone can register a client whose redirect URI is theirs (RFC
/// 9700 4.11.2: no open redirector).
pub async fn park(
    db: &Db,
    config: &Config,
    q: AuthorizeQuery,
    now: Timestamp,
) -> Result<String, String> {
    let client_id = q
        .client_id
        .filter(|c| !c.is_empty() && c.len() <= 2000)
        .ok_or_else(|| "The request names no client (client_id).".to_string())?;
    let client = clients::resolve(db, config, &client_id, now)
        .await
        .map_err(|e| format!("Unknown or unusable client: {}", e.description))?;
    let redirect_uri = match q.redirect_uri {
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|r| clients::redirect_matches(r, &uri)) =>
        {
            uri
        }
        Some(_) => return Err("The redirect URI is not one this client registered.".into()),
        None => return Err("The request has no redirect_uri.".into()),
    };
    if q.response_type.as_deref() != Some("code") {
        return Err("Only the authorization code flow (response_type=code) is supported.".into());
    }
    let state = match q.state.filter(|s| !s.is_empty()) {
        Some(s) if s.len() > 500 => {
            return Err("state is too long (at most 500 characters).".into())
        }
        other => other,
    };
    if q.code_challenge_method.as_deref() != Some("S256") {
        return Err("PKCE is required: code_challenge_method=S256.".into());
    }
    let Some(challenge) = q.code_challenge.filter(|c| super::valid_challenge(c)) else {
        return Err("code_challenge must be 43 base64url characters (S256).".into());
    };
    let resource = match q.resource {
        Some(r) if super::resources(config).contains(&r) => r,
        Some(_) => {
            return Err("resource must be this server's /mcp endpoint or its API base URL.".into())
        }
        None => return Err("resource is required (RFC 8707): this server's /mcp URL.".into()),
    };
    let scopes = parse_scopes(q.scope.as_deref())?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    sqlx::query(
        "INSERT INTO oauth_requests (id, client_id, redirect_uri, state, code_challenge, scopes, resource, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&client.client_id)
    .bind(&redirect_uri)
    .bind(&state)
    .bind(&challenge)
    .bind(Scope::join(&scopes))
    .bind(&resource)
    .bind(now.millis() + REQUEST_TTL_MS)
    .execute(db)
    .await
    .map_err(|e| OAuthError::db(e).description)?;
    Ok(id)
}

/// A space-separated scope list: every scope known and grantable; none
/// given means every grantable scope (the person may untick some).
pub fn parse_scopes(scope: Option<&str>) -> Result<Vec<Scope>, String> {
    let grantable = super::grantable_scopes();
    let words: Vec<&str> = scope.unwrap_or_default().split_whitespace().collect();
    if words.is_empty() {
        // Everything but `tokens:delegate`, which must be asked for.
        return Ok(grantable
            .into_iter()
            .filter(|s| *s != Scope::TokensDelegate)
            .collect());
    }
    let mut out = Vec::new();
    for w in words {
        match Scope::parse(w) {
            Some(s) if grantable.contains(&s) => {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Some(_) => return Err(format!("{w} cannot be granted to an OAuth client.")),
            None => return Err(format!("Unknown scope {w:?}.")),
        }
    }
    Ok(out)
}

/// A parked request as stored.
#[derive(sqlx::FromRow)]
struct PendingRow {
    id: String,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    scopes: String,
    resource: String,
}

/// A parked request that has not expired.
pub async fn pending(db: &Db, id: &str, now: Timestamp) -> Result<Option<Pending>, sqlx::Error> {
    let row: Option<PendingRow> = sqlx::query_as(
        "SELECT id, client_id, redirect_uri, state, code_challenge, scopes, resource FROM oauth_requests \
         WHERE id = $1 AND expires_at >= $2",
    )
    .bind(id)
    .bind(now.millis())
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Pending {
        id: r.id,
        client_id: r.client_id,
        redirect_uri: r.redirect_uri,
        state: r.state,
        code_challenge: r.code_challenge,
        scopes: r
            .scopes
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect(),
        resource: r.resource,
    }))
}

/// Takes a parked request out (single use), if still there.
pub async fn take(db: &Db, id: &str, now: Timestamp) -> Result<Option<Pending>, sqlx::Error> {
    let found = pending(db, id, now).await?;
    let deleted = sqlx::query("DELETE FROM oauth_requests WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected();
    // Two tabs submitting at once: only the one that deleted it proceeds.
    Ok(found.filter(|_| deleted == 1))
}

/// What the owner allowed: `scopes` is a subset of the request's.
pub struct Approval<'a> {
    pub account: AccountId,
    pub request: &'a Pending,
    pub client: &'a clients::Client,
    pub scopes: &'a [Scope],
    /// The projects the owner limited the grant to (`None`: every project).
    pub projects: Option<&'a [String]>,
}

/// The owner allowed: a grant (limited to the projects chosen, each one of
/// the owner's) and a code, committed with the grant's audit entry.
/// Returns the code, or the refusal of the project choice.
pub async fn approve(
    db: &Db,
    keys: &Keyring,
    approval: Approval<'_>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Result<String, crate::fault::Fault>, sqlx::Error> {
    let Approval {
        account,
        request: req,
        client,
        scopes,
        projects,
    } = approval;
    let code = crate::crypto::random_bytes::<32>()
        .map(|b| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        })
        .map_err(|e| sqlx::Error::Protocol(format!("randomness: {e}")))?;
    let mut tx = db.begin().await?;
    let grant_id = grants::create(&mut tx, account, client, scopes, &req.resource, now).await?;
    if projects.is_some() {
        sqlx::query("UPDATE oauth_grants SET projects_restricted = 1 WHERE id = $1")
            .bind(&grant_id)
            .execute(&mut *tx)
            .await?;
        if let Err(refused) =
            crate::tokens::service::write_projects(&mut tx, account, &grant_id, projects).await?
        {
            return Ok(Err(refused));
        }
    }
    sqlx::query(
        "INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, resource, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::crypto::sha256_hex(code.as_bytes()))
    .bind(&grant_id)
    .bind(&client.client_id)
    .bind(&req.redirect_uri)
    .bind(&req.code_challenge)
    .bind(&req.resource)
    .bind(now.millis() + CODE_TTL_MS)
    .execute(&mut *tx)
    .await?;
    let event = base
        .with_action(AuditAction::OauthGrantCreated)
        .account(account)
        .target(grant_id)
        .detail("client", &client.name)
        .detail("client_id", &client.client_id)
        .detail("source", client.source())
        .detail("scopes", Scope::join(scopes))
        .detail("resource", &req.resource)
        .detail("projects", projects.map(|p| p.join(" ")));
    crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
    tx.commit().await?;
    clients::touch(db, &client.client_id, now).await?;
    Ok(Ok(code))
}

/// `grant_type=authorization_code`.
pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
    pub resource: Option<&'a str>,
}

/// A code as stored.
#[derive(sqlx::FromRow)]
struct CodeRow {
    grant_id: String,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    resource: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Exchanges a code for tokens. The client, redirect URI, PKCE verifier and
/// resource are checked before anything else: a presentation that fails
/// them changes nothing (someone who saw a code but not the verifier cannot
/// get the owner's grant revoked). A code that passes them and comes back a
/// second time revokes the grant it created (RFC 6749 4.1.2: it may have
/// been stolen). The code is claimed and the tokens issued in one
/// transaction.
pub async fn exchange(
    db: &Db,
    config: &Config,
    x: CodeExchange<'_>,
    now: Timestamp,
) -> Result<grants::Issued, OAuthError> {
    let invalid = |m: &str| OAuthError::new("invalid_grant", m);
    let code_hash = crate::crypto::sha256_hex(x.code.as_bytes());
    let code: CodeRow = sqlx::query_as(
        "SELECT grant_id, client_id, redirect_uri, code_challenge, resource, expires_at, used_at \
         FROM oauth_codes WHERE code_hash = $1",
    )
    .bind(&code_hash)
    .fetch_optional(db)
    .await
    .map_err(OAuthError::db)?
    .ok_or_else(|| invalid("Unknown authorization code."))?;
    if code.client_id != x.client_id {
        return Err(invalid("The code was issued to another client."));
    }
    if code.redirect_uri != x.redirect_uri {
        return Err(invalid(
            "redirect_uri does not match the authorization request.",
        ));
    }
    if !super::pkce_matches(x.code_verifier, &code.code_challenge) {
        return Err(invalid("code_verifier does not match the code challenge."));
    }
    if x.resource.is_some_and(|r| r != code.resource) {
        return Err(OAuthError::new(
            "invalid_target",
            "resource differs from the authorization request's.",
        ));
    }
    let reused = |db, config, grant_id| async move {
        super::revocation::revoke_for_reuse(
            db,
            config,
            grant_id,
            AuditAction::OauthCodeReused,
            now,
        )
        .await
        .map_err(OAuthError::db)?;
        Err(invalid(
            "This authorization code was already used; the tokens it gave are revoked.",
        ))
    };
    if code.used_at.is_some() {
        return reused(db, config, &code.grant_id).await;
    }
    if code.expires_at < now.millis() {
        return Err(invalid("The authorization code has expired (60 seconds)."));
    }
    // Single use, decided by the database: of two racing exchanges, one
    // wins. The claim is the transaction's first statement, so on SQLite
    // the loser waits for the lock instead of failing busy.
    let mut tx = db.begin().await.map_err(OAuthError::db)?;
    let claimed =
        sqlx::query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now.millis())
            .bind(&code_hash)
            .execute(&mut *tx)
            .await
            .map_err(OAuthError::db)?
            .rows_affected();
    if claimed == 0 {
        drop(tx);
        return reused(db, config, &code.grant_id).await;
    }
    let (issued, _) = grants::issue(&mut tx, config, &code.grant_id, false, now).await?;
    tx.commit().await.map_err(OAuthError::db)?;
    Ok(issued)
}
