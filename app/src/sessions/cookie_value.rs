//! The session secret and its signed cookie encoding.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::Mac;
use zeroize::Zeroizing;

use crate::config::SessionKey;

/// 256 random bits from the OS CSPRNG. `Debug` prints `<redacted>`; not
/// `Serialize`; zeroed on drop.
pub struct SessionSecret(Zeroizing<[u8; 32]>);

impl SessionSecret {
    pub fn generate() -> Result<Self, rand::rand_core::OsError> {
        Ok(Self(Zeroizing::new(crate::crypto::random_bytes::<32>()?)))
    }

    /// What the database stores: hex SHA-256 of the secret.
    pub fn id_hash(&self) -> String {
        crate::crypto::sha256_hex(self.0.as_ref())
    }

    /// The signed cookie value.
    pub fn to_cookie_value(&self, key: &SessionKey) -> String {
        let mut mac = key.mac();
        mac.update(self.0.as_ref());
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(self.0.as_ref()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Parses and verifies a cookie value (HMAC checked in constant time).
    /// Anything malformed, truncated or forged is `None`.
    pub fn from_cookie_value(value: &str, key: &SessionKey) -> Option<Self> {
        if value.len() > 128 {
            return None;
        }
        let (secret_b64, tag_b64) = value.split_once('.')?;
        let secret = Zeroizing::new(URL_SAFE_NO_PAD.decode(secret_b64).ok()?);
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
        let secret: [u8; 32] = secret.as_slice().try_into().ok()?;
        let mut mac = key.mac();
        mac.update(&secret);
        mac.verify_slice(&tag).ok()?;
        Some(Self(Zeroizing::new(secret)))
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// `Set-Cookie` value for a session, with every attribute set explicitly.
pub fn session_cookie(value: &str, max_age_secs: i64) -> String {
    format!(
        "{}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        super::COOKIE_NAME,
        max_age_secs.max(0)
    )
}

/// `Set-Cookie` value that deletes the session cookie.
pub fn removal_cookie() -> String {
    format!(
        "{}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0",
        super::COOKIE_NAME
    )
}

/// The session cookie's value from a `Cookie` request header, if present.
pub fn cookie_from_header(header: &str) -> Option<&str> {
    named_cookie(header, super::COOKIE_NAME)
}

/// The value of cookie `name` in a `Cookie` request header, if present.
pub fn named_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::from_bytes(vec![7u8; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_forgery() {
        let s = SessionSecret::generate().unwrap();
        let v = s.to_cookie_value(&key());
        let back = SessionSecret::from_cookie_value(&v, &key()).unwrap();
        assert_eq!(back.id_hash(), s.id_hash());

        // Another key, a flipped character, truncation and junk are all refused.
        let other = SessionKey::from_bytes(vec![8u8; 32]).unwrap();
        assert!(SessionSecret::from_cookie_value(&v, &other).is_none());
        let mut chars: Vec<char> = v.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let flipped: String = chars.into_iter().collect();
        assert!(SessionSecret::from_cookie_value(&flipped, &key()).is_none());
        assert!(SessionSecret::from_cookie_value(&v[..v.len() - 2], &key()).is_none());
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%", &"x".repeat(500)] {
            assert!(SessionSecret::from_cookie_value(junk, &key()).is_none());
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = SessionSecret::generate().unwrap();
        assert_eq!(format!("{s:?}"), "SessionSecret(<redacted>)");
    }

    #[test]
    fn cookie_attributes() {
        let c = session_cookie("abc", 86400);
        assert_eq!(
            c,
            "__Host-session=abc; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=86400"
        );
        assert!(removal_cookie().contains("Max-Age=0"));
        assert_eq!(
            cookie_from_header("a=1; __Host-session=xyz; b=2"),
            Some("xyz")
        );
        assert_eq!(cookie_from_header("session=xyz"), None);
    }
}
