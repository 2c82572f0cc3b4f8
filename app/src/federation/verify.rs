//! An ID token, verified: RS256 or ES256 only (never `none`, never an HMAC
//! a public key could forge), signed by a key of the rule's issuer, with
//! `iss` and `aud` exactly the rule's, and `exp`, `nbf` and `iat` within
//! [`SKEW_SECS`] of the clock. Before verification only `aud` and `iss`
//! are read, to find the rule (and so the one issuer whose keys are
//! fetched: a caller cannot make the server fetch a URL of its choosing).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::jwks::Jwks;
use crate::{config::Config, types::Timestamp};

/// Clock skew allowed on `exp`, `nbf` and `iat`, seconds.
pub const SKEW_SECS: u64 = 60;
/// The longest ID token accepted, bytes.
pub const MAX_TOKEN: usize = 16 * 1024;

/// What an unverified token claims: enough to find its rule.
#[derive(Debug, Default)]
pub struct Unverified {
    pub issuer: Option<String>,
    pub audiences: Vec<String>,
}

/// Reads `iss` and `aud` of a compact JWT without checking anything.
pub fn peek(token: &str) -> Result<Unverified, String> {
    let not_jwt = || "The subject token is not a JWT.".to_string();
    if token.len() > MAX_TOKEN {
        return Err("The subject token is too long.".into());
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_jwt());
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| not_jwt())?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| not_jwt())?;
    let audiences = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Unverified {
        issuer: claims
            .get("iss")
            .and_then(Value::as_str)
            .map(str::to_string),
        audiences,
    })
}

/// Verifies `token` as an ID token of `issuer` for `audience`; its claims.
pub async fn verify(
    jwks: &Jwks,
    config: &Config,
    token: &str,
    issuer: &str,
    audience: &str,
    now: Timestamp,
) -> Result<Map<String, Value>, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| {
        "The ID token's header is not valid, or names an algorithm other than RS256 or ES256."
            .to_string()
    })?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(format!(
            "The ID token is signed with {:?}; only RS256 and ES256 are accepted.",
            header.alg
        ));
    }
    let jwk = jwks
        .key(config, issuer, header.kid.as_deref())
        .await
        .map_err(|e| format!("The ID token cannot be checked: {e}."))?;
    let key =
        DecodingKey::from_jwk(&jwk).map_err(|_| "The issuer's key is not usable.".to_string())?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = SKEW_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(
        |e| match e.kind() {
            ErrorKind::ExpiredSignature => "The ID token has expired.".to_string(),
            ErrorKind::ImmatureSignature => "The ID token is not valid yet (nbf).".to_string(),
            ErrorKind::InvalidAudience => "The ID token is for another audience.".to_string(),
            ErrorKind::InvalidIssuer => "The ID token is from another issuer.".to_string(),
            ErrorKind::MissingRequiredClaim(c) => format!("The ID token has no {c} claim."),
            ErrorKind::InvalidSignature => "The ID token's signature does not verify.".to_string(),
            ErrorKind::InvalidAlgorithm => {
                "The ID token's algorithm does not match the issuer's key.".to_string()
            }
            _ => "The ID token is not valid.".to_string(),
        },
    )?;
    let claims = data.claims;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MAX);
    if iat > now.millis() / 1000 + SKEW_SECS as i64 {
        return Err("The ID token was issued in the future (iat).".into());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_the_audience_and_issuer_only() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"iss":"https://i","aud":["a","b"]}"#);
        let seen = peek(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(seen.issuer.as_deref(), Some("https://i"));
        assert_eq!(seen.audiences, ["a", "b"]);
        assert!(peek("a.b").is_err());
        assert!(peek("a.b.c.d").is_err());
        assert!(peek("e30.!!!.x").is_err());
    }
}
