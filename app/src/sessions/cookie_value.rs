//! The session secret and its signed cookie encoding.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::Mac;
use zeroize::Zeroizing;

use crate::keys::Keyring;

/// Cookies from before keyrings had no key id: they were signed with what
/// is now key `k0`.
const LEGACY_KEY_ID: &str = "k0";

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

    /// The signed cookie value, `<key id>.<secret>.<tag>`, under the
    /// keyring's current key.
    pub fn to_cookie_value(&self, keys: &Keyring) -> String {
        let key = keys.current();
        let mut mac = key.session_mac();
        mac.update(self.0.as_ref());
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}.{}",
            key.id(),
            URL_SAFE_NO_PAD.encode(self.0.as_ref()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Parses and verifies a cookie value (HMAC checked in constant time)
    /// under the key it names, which may be any key of the ring; a value
    /// without a key id is from before keyrings (key `k0`). Anything
    /// malformed, truncated, forged or under an unknown key is `None`.
    pub fn from_cookie_value(value: &str, keys: &Keyring) -> Option<Self> {
        if value.len() > 160 {
            return None;
        }
        let mut parts = value.rsplitn(3, '.');
        let (tag_b64, secret_b64) = (parts.next()?, parts.next()?);
        let key = keys.get(parts.next().unwrap_or(LEGACY_KEY_ID))?;
        let secret = Zeroizing::new(URL_SAFE_NO_PAD.decode(secret_b64).ok()?);
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
        let secret: [u8; 32] = secret.as_slice().try_into().ok()?;
        let mut mac = key.session_mac();
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

    fn key() -> Keyring {
        Keyring::single("k1", vec![7u8; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_forgery() {
        let s = SessionSecret::generate().unwrap();
        let v = s.to_cookie_value(&key());
        let back = SessionSecret::from_cookie_value(&v, &key()).unwrap();
        assert_eq!(back.id_hash(), s.id_hash());

        // Another key, a flipped character, truncation and junk are all refused.
        let other = Keyring::single("k1", vec![8u8; 32]).unwrap();
        assert!(SessionSecret::from_cookie_value(&v, &other).is_none());
        assert!(v.starts_with("k1."));
        assert!(SessionSecret::from_cookie_value(&v.replacen("k1.", "k2.", 1), &key()).is_none());
        let mut chars: Vec<char> = v.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let flipped: String = chars.into_iter().collect();
        assert!(SessionSecret::from_cookie_value(&flipped, &key()).is_none());
        assert!(SessionSecret::from_cookie_value(&v[..v.len() - 2], &key()).is_none());
        for junk in [
            "",
            ".",
            "abc",
            "a.b.c",
            "a.b.c.d",
            "%%%.%%%",
            &"x".repeat(500),
        ] {
            assert!(SessionSecret::from_cookie_value(junk, &key()).is_none());
        }
    }

    #[test]
    fn rotation_keeps_older_cookies_and_pre_keyring_cookies_verify_as_k0() {
        let s = SessionSecret::generate().unwrap();
        let old = s.to_cookie_value(&key());
        let rotated = key().with_new_key("k2").unwrap();
        let new = s.to_cookie_value(&rotated);
        assert!(new.starts_with("k2."));
        assert!(SessionSecret::from_cookie_value(&old, &rotated).is_some());
        assert!(
            SessionSecret::from_cookie_value(&new, &key()).is_none(),
            "k2 unknown there"
        );
        // A cookie from before keyrings: `<secret>.<tag>` under the old key.
        let legacy_ring = Keyring::single("k0", vec![7u8; 32]).unwrap();
        let legacy = old.strip_prefix("k1.").unwrap();
        assert!(SessionSecret::from_cookie_value(legacy, &legacy_ring).is_some());
        assert!(SessionSecret::from_cookie_value(legacy, &key()).is_none());
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
