//! Client ID Metadata Documents: a `client_id` that is an https URL names
//! a JSON document the client publishes there; its `client_id` must equal
//! the URL and its `redirect_uris` are the allowed ones.
//!
//! Fetching a URL chosen by anyone is a server-side request forgery risk,
//! so the fetch goes through [`crate::outbound`]'s guard (special-purpose
//! addresses refused after resolving, the checked address pinned, no
//! redirects, no proxy, https only); the answer is at most 64 KiB and the
//! whole exchange at most 5 seconds. Hosts named in
//! `PREQSTATION_OAUTH_METADATA_ALLOW_HOSTS` skip the address check and may
//! use http (tests, or an internal host an admin trusts).
//!
//! Documents are cached per their `Cache-Control: max-age` (from a minute
//! to a day; `no-store`/`no-cache`: a minute; no header: 5 minutes).

use super::{
    clients::{validate_redirect_uri, Client, ClientKind},
    OAuthError,
};
use crate::{config::Config, db::Db, outbound, types::Timestamp};

const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const DEFAULT_CACHE_MS: i64 = 5 * 60_000;
const MAX_CACHE_MS: i64 = 86_400_000;

/// True for the `client_id`s that name a metadata document.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Addresses a fetch must never reach ([`crate::outbound::ssrf`]).
pub use crate::outbound::forbidden;

/// The client a metadata-document URL names: from the cache, or fetched.
pub async fn resolve(
    db: &Db,
    config: &Config,
    url: &str,
    now: Timestamp,
) -> Result<Client, OAuthError> {
    let cached: Option<(String, String)> = sqlx::query_as(
        "SELECT name, redirect_uris FROM oauth_clients WHERE client_id = $1 AND kind = 'metadata_document' \
         AND cache_until >= $2",
    )
    .bind(url)
    .bind(now.millis())
    .fetch_optional(db)
    .await
    .map_err(OAuthError::db)?;
    if let Some((name, uris)) = cached {
        return Ok(Client {
            client_id: url.to_string(),
            kind: ClientKind::MetadataDocument,
            name,
            redirect_uris: serde_json::from_str(&uris).unwrap_or_default(),
        });
    }
    let (client, cache_ms) = fetch(config, url).await?;
    sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
        .bind(url)
        .execute(db)
        .await
        .map_err(OAuthError::db)?;
    sqlx::query(
        "INSERT INTO oauth_clients (client_id, kind, name, redirect_uris, created_at, cache_until) \
         VALUES ($1, 'metadata_document', $2, $3, $4, $5)",
    )
    .bind(url)
    .bind(&client.name)
    .bind(serde_json::to_string(&client.redirect_uris).unwrap_or_default())
    .bind(now.millis())
    .bind(now.millis() + cache_ms)
    .execute(db)
    .await
    .map_err(OAuthError::db)?;
    Ok(client)
}

fn refused(m: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_client", m)
}

/// Fetches and checks a document; returns it and how long it may be cached.
async fn fetch(config: &Config, client_id: &str) -> Result<(Client, i64), OAuthError> {
    let shape = outbound::check_shape(&config.oauth_metadata_allow_hosts, client_id)
        .map_err(|e| refused(format!("The client ID metadata document URL {e}.")))?;
    if shape.path() == "/" || shape.path().is_empty() {
        return Err(refused(
            "A client ID metadata document URL needs a path, and no fragment or credentials.",
        ));
    }
    let guarded = outbound::guard(
        &config.oauth_metadata_allow_hosts,
        client_id,
        TIMEOUT,
        "Preqstation (client metadata fetch)",
    )
    .await
    .map_err(|e| match e {
        outbound::Refused::Private => {
            refused("The client's host resolves to a private or reserved address.")
        }
        e => refused(format!("The client's host {e}.")),
    })?;
    let exchange = async {
        let mut res = guarded
            .client
            .get(guarded.url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    return refused("The metadata document took longer than 5 seconds.");
                }
                refused(format!(
                    "The metadata document could not be fetched: {}",
                    outbound::short(&e)
                ))
            })?;
        if !res.status().is_success() {
            return Err(refused(format!(
                "The metadata document answered {} (redirects are not followed).",
                res.status().as_u16()
            )));
        }
        let cache_ms = cache_ms(res.headers().get("cache-control"));
        let body = outbound::read_limited(&mut res, MAX_BYTES)
            .await
            .map_err(|e| match e {
                outbound::BodyError::TooLarge => {
                    refused("The metadata document is larger than 64 KiB.")
                }
                outbound::BodyError::Read => refused("The metadata document could not be read."),
            })?;
        Ok((body, cache_ms))
    };
    let (body, cache_ms) = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| refused("The metadata document took longer than 5 seconds."))??;
    Ok((parse(client_id, &body)?, cache_ms))
}

fn cache_ms(header: Option<&http::HeaderValue>) -> i64 {
    outbound::cache_ms(header, DEFAULT_CACHE_MS, MAX_CACHE_MS)
}

#[derive(serde::Deserialize)]
struct Document {
    client_id: String,
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
}

/// Checks a fetched document against the URL it came from.
pub fn parse(client_id: &str, body: &[u8]) -> Result<Client, OAuthError> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|_| refused("The metadata document is not a JSON client metadata object."))?;
    if doc.client_id != client_id {
        return Err(refused(
            "The metadata document's client_id is not the URL it was fetched from.",
        ));
    }
    if doc.redirect_uris.is_empty() || doc.redirect_uris.len() > 10 {
        return Err(refused(
            "The metadata document must list 1-10 redirect_uris.",
        ));
    }
    for uri in &doc.redirect_uris {
        validate_redirect_uri(uri).map_err(|m| refused(format!("redirect_uri {uri:?} {m}.")))?;
    }
    if !matches!(
        doc.token_endpoint_auth_method.as_deref(),
        None | Some("none")
    ) {
        return Err(refused(
            "Only public clients (token_endpoint_auth_method \"none\") are supported.",
        ));
    }
    let name = doc
        .client_name
        .and_then(|n| super::clients::display_name(&n))
        .unwrap_or_else(|| client_id.to_string());
    Ok(Client {
        client_id: client_id.to_string(),
        kind: ClientKind::MetadataDocument,
        name,
        redirect_uris: doc.redirect_uris,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_must_name_themselves_and_list_good_redirects() {
        let url = "https://client.example/oauth/metadata.json";
        let ok = serde_json::json!({"client_id": url, "client_name": "Example", "redirect_uris": ["https://client.example/cb"]});
        let c = parse(url, ok.to_string().as_bytes()).unwrap();
        assert_eq!(c.name, "Example");
        assert_eq!(c.source(), "client.example");
        for bad in [
            serde_json::json!({"client_id": "https://evil.example/x", "redirect_uris": ["https://client.example/cb"]}),
            serde_json::json!({"client_id": url, "redirect_uris": []}),
            serde_json::json!({"client_id": url, "redirect_uris": ["http://client.example/cb"]}),
            serde_json::json!({"client_id": url, "redirect_uris": ["https://client.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
        ] {
            assert!(parse(url, bad.to_string().as_bytes()).is_err(), "{bad}");
        }
        assert!(parse(url, b"not json").is_err());
    }

    #[test]
    fn cache_lifetimes_follow_cache_control() {
        let h = |v: &str| http::HeaderValue::from_str(v).unwrap();
        assert_eq!(cache_ms(None), DEFAULT_CACHE_MS);
        assert_eq!(cache_ms(Some(&h("public, max-age=600"))), 600_000);
        assert_eq!(cache_ms(Some(&h("max-age=999999"))), MAX_CACHE_MS);
        assert_eq!(cache_ms(Some(&h("max-age=1"))), 60_000);
        assert_eq!(cache_ms(Some(&h("no-store"))), 60_000);
        // Absurd values saturate (a multiply overflow panicked debug builds).
        assert_eq!(
            cache_ms(Some(&h("max-age=99999999999999999"))),
            MAX_CACHE_MS
        );
        assert_eq!(cache_ms(Some(&h("max-age=-99999999999999999"))), 60_000);
    }
}
