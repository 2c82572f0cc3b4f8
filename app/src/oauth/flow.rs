//! The authorization-code flow: an authorization request is checked and
//! parked until the owner consents; consent creates a grant and a code; the
//! code (single use, 60 seconds, bound to client, redirect URI, PKCE
//! challenge and resource) is exchanged for tokens.

use sqlx::Row;

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

/// Why an authorization request was refused.
pub enum Refusal {
    /// The client or its redirect URI cannot be trusted: shown to the
    /// person, never redirected (RFC 6749 4.1.2.1).
    Show(String),
    /// Sent back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// A checked request, parked for consent.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub scopes: Vec<Scope>,
    pub resource: String,
}

/// Checks an authorization request and parks it. Returns its id, for the
/// consent page.
pub async fn park(
    db: &Db,
    config: &Config,
    q: AuthorizeQuery,
    now: Timestamp,
) -> Result<String, Refusal> {
    let client_id = q
        .client_id
        .filter(|c| !c.is_empty() && c.len() <= 2000)
        .ok_or_else(|| Refusal::Show("The request names no client (client_id).".into()))?;
    let client = super::http::resolve_client(db, config, &client_id, now)
        .await
        .map_err(|e| Refusal::Show(format!("Unknown or unusable client: {}", e.description)))?;
    let redirect_uri = match q.redirect_uri {
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|r| clients::redirect_matches(r, &uri)) =>
        {
            uri
        }
        Some(_) => {
            return Err(Refusal::Show(
                "The redirect URI is not one this client registered.".into(),
            ))
        }
        None => return Err(Refusal::Show("The request has no redirect_uri.".into())),
    };
    let state = q.state.clone();
    let back = |error: &'static str, m: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error: OAuthError::new(error, m),
    };
    if q.response_type.as_deref() != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "Only the authorization code flow (response_type=code) is supported.",
        ));
    }
    let Some(state) = q.state.filter(|s| !s.is_empty() && s.len() <= 500) else {
        return Err(back(
            "invalid_request",
            "state is required (1-500 characters).",
        ));
    };
    if q.code_challenge_method.as_deref() != Some("S256") {
        return Err(back(
            "invalid_request",
            "PKCE is required: code_challenge_method=S256.",
        ));
    }
    let Some(challenge) = q.code_challenge.filter(|c| super::valid_challenge(c)) else {
        return Err(back(
            "invalid_request",
            "code_challenge must be 43 base64url characters (S256).",
        ));
    };
    let resource = match q.resource {
        Some(r) if super::resources(config).contains(&r) => r,
        Some(_) => {
            return Err(back(
                "invalid_target",
                "resource must be this server's /mcp endpoint or its API base URL.",
            ))
        }
        None => {
            return Err(back(
                "invalid_target",
                "resource is required (RFC 8707): this server's /mcp URL.",
            ))
        }
    };
    let scopes = parse_scopes(q.scope.as_deref()).map_err(|m| back("invalid_scope", &m))?;
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
    .map_err(|e| Refusal::Show(OAuthError::db(e).description))?;
    Ok(id)
}

/// A space-separated scope list: every scope known and grantable; none
/// given means every grantable scope (the person may untick some).
pub fn parse_scopes(scope: Option<&str>) -> Result<Vec<Scope>, String> {
    let grantable = super::grantable_scopes();
    let words: Vec<&str> = scope.unwrap_or_default().split_whitespace().collect();
    if words.is_empty() {
        return Ok(grantable);
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

/// A parked request that has not expired.
pub async fn pending(db: &Db, id: &str, now: Timestamp) -> Result<Option<Pending>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, client_id, redirect_uri, state, code_challenge, scopes, resource FROM oauth_requests \
         WHERE id = $1 AND expires_at >= $2",
    )
    .bind(id)
    .bind(now.millis())
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        let scopes: String = r.try_get("scopes")?;
        Ok(Pending {
            id: r.try_get("id")?,
            client_id: r.try_get("client_id")?,
            redirect_uri: r.try_get("redirect_uri")?,
            state: r.try_get("state")?,
            code_challenge: r.try_get("code_challenge")?,
            scopes: scopes.split_whitespace().filter_map(Scope::parse).collect(),
            resource: r.try_get("resource")?,
        })
    })
    .transpose()
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
}

/// The owner allowed: a grant and a code, committed with the grant's
/// audit entry. Returns the code.
pub async fn approve(
    db: &Db,
    keys: &Keyring,
    approval: Approval<'_>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<String, sqlx::Error> {
    let Approval {
        account,
        request: req,
        client,
        scopes,
    } = approval;
    let code = crate::crypto::random_bytes::<32>()
        .map(|b| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        })
        .map_err(|e| sqlx::Error::Protocol(format!("randomness: {e}")))?;
    let mut tx = db.begin().await?;
    let grant_id = grants::create(&mut tx, account, client, scopes, &req.resource, now).await?;
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
    let event = NewEvent {
        action: "oauth_grant_created".into(),
        ..base.clone()
    }
    .account(account)
    .target(grant_id)
    .detail("client", &client.name)
    .detail("client_id", &client.client_id)
    .detail("source", client.source())
    .detail("scopes", Scope::join(scopes))
    .detail("resource", &req.resource);
    crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
    tx.commit().await?;
    clients::touch(db, &client.client_id, now).await?;
    Ok(code)
}

/// `grant_type=authorization_code`.
pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
    pub resource: Option<&'a str>,
}

/// Exchanges a code for tokens. A code presented twice revokes the grant
/// it created (RFC 6749 4.1.2: it may have been stolen).
pub async fn exchange(
    db: &Db,
    config: &Config,
    x: CodeExchange<'_>,
    now: Timestamp,
) -> Result<grants::Issued, OAuthError> {
    let invalid = |m: &str| OAuthError::new("invalid_grant", m);
    let row = sqlx::query(
        "SELECT grant_id, client_id, redirect_uri, code_challenge, resource, expires_at, used_at \
         FROM oauth_codes WHERE code_hash = $1",
    )
    .bind(crate::crypto::sha256_hex(x.code.as_bytes()))
    .fetch_optional(db)
    .await
    .map_err(OAuthError::db)?
    .ok_or_else(|| invalid("Unknown authorization code."))?;
    let get = |c: &str| row.try_get::<String, _>(c).map_err(OAuthError::db);
    let grant_id = get("grant_id")?;
    let used_at: Option<i64> = row.try_get("used_at").map_err(OAuthError::db)?;
    if used_at.is_some() {
        grants::revoke_for_reuse(db, config, &grant_id, "oauth_code_reused", now)
            .await
            .map_err(OAuthError::db)?;
        return Err(invalid(
            "This authorization code was already used; the tokens it gave are revoked.",
        ));
    }
    // Single use, decided by the database: of two racing exchanges, one wins.
    let claimed =
        sqlx::query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now.millis())
            .bind(crate::crypto::sha256_hex(x.code.as_bytes()))
            .execute(db)
            .await
            .map_err(OAuthError::db)?
            .rows_affected();
    if claimed == 0 {
        grants::revoke_for_reuse(db, config, &grant_id, "oauth_code_reused", now)
            .await
            .map_err(OAuthError::db)?;
        return Err(invalid("This authorization code was already used."));
    }
    let expires_at: i64 = row.try_get("expires_at").map_err(OAuthError::db)?;
    if expires_at < now.millis() {
        return Err(invalid("The authorization code has expired (60 seconds)."));
    }
    if get("client_id")? != x.client_id {
        return Err(invalid("The code was issued to another client."));
    }
    if get("redirect_uri")? != x.redirect_uri {
        return Err(invalid(
            "redirect_uri does not match the authorization request.",
        ));
    }
    if !super::pkce_matches(x.code_verifier, &get("code_challenge")?) {
        return Err(invalid("code_verifier does not match the code challenge."));
    }
    let resource = get("resource")?;
    if x.resource.is_some_and(|r| r != resource) {
        return Err(OAuthError::new(
            "invalid_target",
            "resource differs from the authorization request's.",
        ));
    }
    grants::issue(db, config, &grant_id, None, now).await
}
