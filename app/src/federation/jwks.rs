//! The issuers' signing keys: the discovery document
//! (`<issuer>/.well-known/openid-configuration`, whose `issuer` must equal
//! the configured one exactly) names the JWKS; both are fetched through the
//! SSRF guard (`crate::outbound`), bounded in time and size, and the keys
//! are cached per issuer for as long as the JWKS's `Cache-Control` says
//! (a minute to a day). A `kid` the cache does not know triggers one
//! refresh, at most every [`MIN_REFRESH`] per issuer: a stream of made-up
//! kids cannot turn into a stream of fetches. At most [`MAX_ISSUERS`] are
//! cached (the least recently used goes).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use jsonwebtoken::jwk::{Jwk, JwkSet};

use crate::{config::Config, outbound};

/// Issuers cached at once.
pub const MAX_ISSUERS: usize = 64;
/// The soonest an unknown `kid` refreshes an issuer's keys again.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);
/// Keys are kept this long when the JWKS says nothing.
const DEFAULT_CACHE_MS: i64 = 300_000;
/// And at most this long.
const MAX_CACHE_MS: i64 = 86_400_000;
/// Each fetch gives up after this long.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest discovery document or JWKS read.
const MAX_BYTES: usize = 256 * 1024;

/// Why no key was found, in words for the exchange's error description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the issuer's discovery document or keys could not be fetched: {0}")]
    Fetch(String),
    #[error("the issuer's discovery document names another issuer ({0})")]
    IssuerMismatch(String),
    #[error("no key of the issuer has this kid")]
    UnknownKid,
}

struct Entry {
    keys: Arc<JwkSet>,
    fetched_at: Instant,
    fresh_until: Instant,
    used_at: Instant,
}

/// The cache, one per instance (in `AppState`).
#[derive(Default)]
pub struct Jwks {
    entries: Mutex<HashMap<String, Entry>>,
    /// One fetch at a time: concurrent exchanges for a cold issuer wait for
    /// the first one's keys instead of fetching beside it.
    fetching: tokio::sync::Mutex<()>,
}

impl Jwks {
    /// The key `kid` of `issuer` (the token's header may omit the kid when
    /// the issuer has exactly one key).
    pub async fn key(
        &self,
        config: &Config,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<Jwk, KeyError> {
        if let Some(found) = self.cached(issuer, kid) {
            return found;
        }
        let _one = self.fetching.lock().await;
        // Another exchange may have fetched while this one waited.
        if let Some(found) = self.cached(issuer, kid) {
            return found;
        }
        let (keys, cache_ms) = fetch(config, issuer).await?;
        metrics::counter!("federation_jwks_fetches_total").increment(1);
        let now = Instant::now();
        let keys = Arc::new(keys);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ISSUERS && !entries.contains_key(issuer) {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.used_at)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
            entries.insert(
                issuer.to_string(),
                Entry {
                    keys: keys.clone(),
                    fetched_at: now,
                    fresh_until: now + Duration::from_millis(cache_ms.max(0) as u64),
                    used_at: now,
                },
            );
        }
        find(&keys, kid).ok_or(KeyError::UnknownKid)
    }

    /// From the cache: `Some(Ok)` a key, `Some(Err)` a kid unknown to keys
    /// fetched too recently to fetch again, `None` fetch.
    fn cached(&self, issuer: &str, kid: Option<&str>) -> Option<Result<Jwk, KeyError>> {
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get_mut(issuer)?;
        let now = Instant::now();
        if now >= entry.fresh_until {
            return None;
        }
        entry.used_at = now;
        match find(&entry.keys, kid) {
            Some(key) => Some(Ok(key)),
            None if now.duration_since(entry.fetched_at) < MIN_REFRESH => {
                Some(Err(KeyError::UnknownKid))
            }
            None => None,
        }
    }
}

/// The key `kid` names, or the only signing key when there is no kid.
fn find(keys: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    match kid {
        Some(kid) => keys.find(kid).cloned(),
        None => match keys.keys.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// GETs `url` through the guard: the body (at most [`MAX_BYTES`]) and its
/// `Cache-Control` lifetime.
async fn get(config: &Config, url: &str) -> Result<(Vec<u8>, i64), KeyError> {
    let allow = &config.federation_allow_hosts;
    let guarded = outbound::guard(allow, url, TIMEOUT, "Preqstation (OIDC key fetch)")
        .await
        .map_err(|e| KeyError::Fetch(format!("the URL {e}")))?;
    let attempt = async {
        let mut res = guarded
            .client
            .get(guarded.url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| KeyError::Fetch(outbound::short(&e).into()))?;
        if !res.status().is_success() {
            return Err(KeyError::Fetch(format!("HTTP {}", res.status().as_u16())));
        }
        let cache = outbound::cache_ms(
            res.headers().get("cache-control"),
            DEFAULT_CACHE_MS,
            MAX_CACHE_MS,
        );
        let body = outbound::read_limited(&mut res, MAX_BYTES)
            .await
            .map_err(|_| KeyError::Fetch("the answer is too large or broken".into()))?;
        Ok((body, cache))
    };
    tokio::time::timeout(TIMEOUT, attempt)
        .await
        .map_err(|_| KeyError::Fetch("it took too long".into()))?
}

/// The discovery document of `issuer`, checked, then its keys.
async fn fetch(config: &Config, issuer: &str) -> Result<(JwkSet, i64), KeyError> {
    let base = issuer.trim_end_matches('/');
    let (body, _) = get(config, &format!("{base}/.well-known/openid-configuration")).await?;
    let discovery: Discovery = serde_json::from_slice(&body)
        .map_err(|_| KeyError::Fetch("the discovery document is not valid".into()))?;
    if discovery.issuer != issuer {
        tracing::warn!(issuer, claimed = %discovery.issuer, "OIDC discovery names another issuer");
        return Err(KeyError::IssuerMismatch(discovery.issuer));
    }
    let (body, cache_ms) = get(config, &discovery.jwks_uri).await?;
    let keys: JwkSet = serde_json::from_slice(&body)
        .map_err(|_| KeyError::Fetch("the JWKS is not valid".into()))?;
    Ok((keys, cache_ms))
}
