//! The public keys leaked-token reports are signed with: ECDSA P-256 keys
//! (PEM, SubjectPublicKeyInfo) under the identifier the reporter sends in
//! `Github-Public-Key-Identifier`, as GitHub's partner program does. A
//! self-hosted server cannot enrol with GitHub, so these are the
//! organisation's own (its scanning pipeline's, `preqstation leak-report`'s),
//! added and removed on the server's command line only.
//!
//! The signature (`Github-Public-Key-Signature`) is base64 of an ASN.1 DER
//! ECDSA signature over the raw body with SHA-256 (the RustCrypto `p256`
//! crate checks it).

use base64::{engine::general_purpose::STANDARD, Engine};
use p256::{
    ecdsa::{signature::Verifier, DerSignature, VerifyingKey},
    pkcs8::DecodePublicKey,
};

use crate::{
    audit::{chain, ActorKind, AuditAction, NewEvent, Outcome},
    config::Config,
    db::Db,
    types::Timestamp,
};

/// Why a report's signature was not accepted: unsigned or badly signed
/// (answered 401 alike), or the keys could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("The report is not signed: send Github-Public-Key-Identifier and Github-Public-Key-Signature.")]
    Unsigned,
    #[error("The report's signature does not verify with a registered key.")]
    BadSignature,
    /// The database did not answer: nothing is known about the signature.
    #[error("The service is temporarily unavailable. Try again in a moment.")]
    Unavailable,
}

/// Why a key could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The id or the key is not acceptable (the message says why).
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A registered key, as `leak-keys list` shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct KeyRow {
    pub key_id: String,
    pub public_key: String,
    pub created_at: i64,
}

/// Checks a key id: 1 to 128 of `A-Z a-z 0-9 _ . : -`.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if ok {
        Ok(())
    } else {
        Err("A key id is 1 to 128 letters, digits, '_', '.', ':' or '-'.".into())
    }
}

/// Parses a PEM public key; only ECDSA P-256 is taken.
pub fn parse_pem(pem: &str) -> Result<VerifyingKey, String> {
    VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|_| "Not an ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----).".into())
}

fn cli_event(key_id: &str, change: &str) -> NewEvent {
    NewEvent::new(
        AuditAction::LeakReportKeyChanged,
        ActorKind::Cli,
        Outcome::Success,
    )
    .actor("preqstation leak-keys")
    .target(key_id.to_string())
    .detail("key_id", key_id)
    .detail("change", change)
    .security(true)
}

/// Registers (or replaces) the key `key_id`.
pub async fn add(
    db: &Db,
    config: &Config,
    key_id: &str,
    pem: &str,
    now: Timestamp,
) -> Result<(), KeyError> {
    check_id(key_id).map_err(KeyError::Invalid)?;
    parse_pem(pem).map_err(KeyError::Invalid)?;
    let mut tx = db.begin().await?;
    let replaced = sqlx::query("DELETE FROM leak_report_keys WHERE key_id = $1")
        .bind(key_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "INSERT INTO leak_report_keys (key_id, public_key, created_at) VALUES ($1, $2, $3)",
    )
    .bind(key_id)
    .bind(pem.trim())
    .bind(now.millis())
    .execute(&mut *tx)
    .await?;
    let change = if replaced > 0 { "replaced" } else { "added" };
    chain::append(&mut tx, &config.keys, &[cli_event(key_id, change)], now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the key `key_id`; false when there was none.
pub async fn remove(
    db: &Db,
    config: &Config,
    key_id: &str,
    now: Timestamp,
) -> Result<bool, KeyError> {
    let mut tx = db.begin().await?;
    let n = sqlx::query("DELETE FROM leak_report_keys WHERE key_id = $1")
        .bind(key_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n > 0 {
        chain::append(&mut tx, &config.keys, &[cli_event(key_id, "removed")], now).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

/// Every registered key.
pub async fn list(db: &Db) -> Result<Vec<KeyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT key_id, public_key, created_at FROM leak_report_keys ORDER BY key_id LIMIT 1000",
    )
    .fetch_all(db)
    .await
}

/// Checks `signature` (base64 DER) over `body` with the key `key_id`.
pub async fn verify(
    db: &Db,
    key_id: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), Refused> {
    let (Some(key_id), Some(signature)) = (key_id.map(str::trim), signature) else {
        return Err(Refused::Unsigned);
    };
    if check_id(key_id).is_err() {
        return Err(Refused::BadSignature);
    }
    let pem: Option<String> =
        sqlx::query_scalar("SELECT public_key FROM leak_report_keys WHERE key_id = $1")
            .bind(key_id)
            .fetch_optional(db)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "leak report keys unreadable");
                Refused::Unavailable
            })?;
    let key = pem
        .as_deref()
        .and_then(|p| parse_pem(p).ok())
        .ok_or(Refused::BadSignature)?;
    let der = STANDARD
        .decode(signature.trim())
        .map_err(|_| Refused::BadSignature)?;
    let sig = DerSignature::from_bytes(&der).map_err(|_| Refused::BadSignature)?;
    key.verify(body, &sig).map_err(|_| Refused::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::{
        ecdsa::{signature::Signer, Signature, SigningKey},
        pkcs8::{EncodePublicKey, LineEnding},
    };

    #[test]
    fn a_der_signature_over_the_body_verifies_and_nothing_else_does() {
        let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let key = parse_pem(&pem).unwrap();
        let body = br#"[{"token":"x","type":"t","url":"u","source":"s"}]"#;
        let sig: Signature = signing.sign(body);
        let der = sig.to_der();
        let parsed = DerSignature::from_bytes(der.as_bytes()).unwrap();
        assert!(key.verify(body, &parsed).is_ok());
        assert!(key.verify(b"[]", &parsed).is_err());
        assert!(parse_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err());
        assert!(check_id("GitHub:abc-1.2_x").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id("a b").is_err());
    }
}
