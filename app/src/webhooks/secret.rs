//! Signing secrets and signatures, as the Standard Webhooks specification
//! says: a secret is `whsec_` + base64 of 32 random bytes (the HMAC key is
//! the decoded bytes); a signature is `v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, several separated by spaces while a rolled secret's
//! predecessor still signs.
//!
//! The server must sign, so a secret is kept sealed under the keyring
//! (`keys::seal`, the endpoint's id as associated data), never hashed.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::{Keyring, SealError};

/// Random bytes in a new secret (the specification allows 24 to 64).
const SECRET_BYTES: usize = 32;
const PREFIX: &str = "whsec_";

/// A signing key: the decoded secret.
pub struct SigningKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A new secret: the text shown once, and the value to seal.
pub fn generate() -> Result<Zeroizing<String>, rand::rand_core::OsError> {
    let bytes = Zeroizing::new(crate::crypto::random_bytes::<SECRET_BYTES>()?);
    Ok(Zeroizing::new(format!(
        "{PREFIX}{}",
        STANDARD.encode(*bytes)
    )))
}

fn context(endpoint_id: &str) -> String {
    format!("webhook:{endpoint_id}")
}

/// `secret` sealed for the endpoint `endpoint_id`.
pub fn seal(keys: &Keyring, endpoint_id: &str, secret: &str) -> Result<String, SealError> {
    keys.seal(&context(endpoint_id), secret.as_bytes())
}

/// The signing key sealed in `sealed` for `endpoint_id`.
pub fn open(keys: &Keyring, endpoint_id: &str, sealed: &str) -> Result<SigningKey, SealError> {
    let text = keys.open(&context(endpoint_id), sealed)?;
    let text = std::str::from_utf8(&text).map_err(|_| SealError::Malformed)?;
    let encoded = text.strip_prefix(PREFIX).ok_or(SealError::Malformed)?;
    let bytes = STANDARD.decode(encoded).map_err(|_| SealError::Malformed)?;
    Ok(SigningKey(Zeroizing::new(bytes)))
}

/// The `webhook-signature` header's value: one `v1,` signature per key.
pub fn sign(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .filter_map(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the Standard Webhooks specification's repository.
    #[test]
    fn signs_the_specifications_example() {
        let key = SigningKey(Zeroizing::new(
            STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        ));
        let sig = sign(
            &[key],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_round_trip_sealed_and_sign_with_every_key() {
        let ring = Keyring::generate().unwrap();
        let secret = generate().unwrap();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), SECRET_BYTES);
        let sealed = seal(&ring, "we_1", &secret).unwrap();
        assert!(!sealed.contains(&secret[6..]));
        let key = open(&ring, "we_1", &sealed).unwrap();
        assert!(open(&ring, "we_2", &sealed).is_err());
        let other = open(
            &ring,
            "we_1",
            &seal(&ring, "we_1", &generate().unwrap()).unwrap(),
        )
        .unwrap();
        let both = sign(&[key, other], "msg_1", 1, b"{}");
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.split(' ').all(|s| s.starts_with("v1,")));
        assert_eq!(
            format!("{:?}", open(&ring, "we_1", &sealed).unwrap()),
            "SigningKey(<redacted>)"
        );
    }
}
