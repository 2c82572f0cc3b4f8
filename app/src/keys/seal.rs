//! Secrets the server must read back, encrypted at rest: XChaCha20-Poly1305
//! (the `chacha20poly1305` crate, RustCrypto) under the keyring's sealing
//! key, with a random 192-bit nonce per value.
//!
//! A sealed value is `<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The
//! caller's `context` (which row it belongs to) is the associated data: a
//! value copied to another row does not open.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use zeroize::Zeroizing;

use super::{Keyring, ServerKey};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the random number generator failed")]
    Random,
    #[error("encryption failed")]
    Encrypt,
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value names key {0}, which is not in the keyring")]
    UnknownKey(String),
    #[error("the sealed value does not open (wrong key, wrong place, or altered)")]
    Rejected,
}

pub(super) fn cipher(key: &[u8]) -> Result<XChaCha20Poly1305, String> {
    XChaCha20Poly1305::new_from_slice(key).map_err(|e| e.to_string())
}

pub(super) fn seal(key: &ServerKey, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
    let nonce = crate::crypto::random_bytes::<24>().map_err(|_| SealError::Random)?;
    let sealed = key
        .seal
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| SealError::Encrypt)?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!("{}.{}", key.id(), URL_SAFE_NO_PAD.encode(out)))
}

pub(super) fn open(
    ring: &Keyring,
    context: &str,
    sealed: &str,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (id, body) = sealed.split_once('.').ok_or(SealError::Malformed)?;
    let key = ring
        .get(id)
        .ok_or_else(|| SealError::UnknownKey(id.to_string()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| SealError::Malformed)?;
    if bytes.len() < 24 + 16 {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    key.seal
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SealError::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_under_any_listed_key() {
        let ring = Keyring::generate().unwrap();
        let sealed = ring.seal("row 1", b"preq_secret").unwrap();
        assert!(sealed.starts_with("k1."));
        assert!(!sealed.contains("preq_secret"));
        assert_eq!(
            ring.open("row 1", &sealed).unwrap().as_slice(),
            b"preq_secret"
        );
        // Two seals of the same value differ (fresh nonce).
        assert_ne!(sealed, ring.seal("row 1", b"preq_secret").unwrap());
        // After a rotation the old value still opens; new ones use k2.
        let rotated = ring.with_new_key("k2").unwrap();
        assert_eq!(
            rotated.open("row 1", &sealed).unwrap().as_slice(),
            b"preq_secret"
        );
        assert!(rotated.seal("x", b"y").unwrap().starts_with("k2."));
    }

    #[test]
    fn wrong_place_wrong_key_and_tampering_are_refused() {
        let ring = Keyring::generate().unwrap();
        let sealed = ring.seal("row 1", b"secret").unwrap();
        assert_eq!(ring.open("row 2", &sealed), Err(SealError::Rejected));
        let other = Keyring::generate().unwrap();
        assert_eq!(other.open("row 1", &sealed), Err(SealError::Rejected));
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(ring.open("row 1", &tampered), Err(SealError::Rejected));
        assert_eq!(
            ring.open("row 1", "k9.AAAA"),
            Err(SealError::UnknownKey("k9".into()))
        );
        assert_eq!(ring.open("row 1", "nodot"), Err(SealError::Malformed));
        assert_eq!(ring.open("row 1", "k1.AAAA"), Err(SealError::Malformed));
    }
}
