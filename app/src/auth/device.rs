//! The "known device" cookie (OWASP's answer to lockout by strangers): a
//! signed `__Host-device` cookie issued on a successful sign-in. A sign-in
//! from a known device of the account counts its failures against that
//! device only, with its own limit, so ten wrong passwords from anywhere no
//! longer lock the owner out of their own browser.
//!
//! The value is `<key id>.<account id>.<nonce>.<tag>`: the keyring key whose
//! device-cookie key (derived for this purpose only: a session cookie's tag
//! never verifies as a device cookie's) made the tag. `d1` is how cookies
//! from before keyrings name key `k0`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::Mac;

use crate::{keys::Keyring, types::AccountId};

pub const COOKIE_NAME: &str = "__Host-device";
/// The key id written by versions before keyrings (key `k0`).
const LEGACY_KEY_ID: &str = "d1";
/// A year, renewed at every successful sign-in from the device.
const MAX_AGE_SECS: i64 = 365 * 24 * 3600;

/// A verified device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub account: AccountId,
    /// The nonce: what the throttle counts this device's failures under.
    pub id: String,
}

fn tag(keys: &Keyring, kid: &str, account: &str, nonce: &str) -> Option<hmac::Hmac<sha2::Sha256>> {
    let key = keys.get(if kid == LEGACY_KEY_ID { "k0" } else { kid })?;
    let mut mac = key.device_mac();
    mac.update(format!("{kid}|{account}|{nonce}").as_bytes());
    Some(mac)
}

/// A new device cookie value for `account`, under the current key.
pub fn issue(keys: &Keyring, account: AccountId) -> Option<String> {
    let nonce = URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<16>().ok()?);
    let account = account.to_string();
    let kid = keys.current().id();
    let mac = tag(keys, kid, &account, &nonce)?;
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Some(format!("{kid}.{account}.{nonce}.{tag}"))
}

/// Verifies a cookie value (HMAC compared in constant time) under the key
/// it names; anything malformed, forged or under an unknown key is `None`.
pub fn verify(keys: &Keyring, value: &str) -> Option<KnownDevice> {
    if value.len() > 200 {
        return None;
    }
    let mut parts = value.split('.');
    let (kid, account, nonce, sent) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let sent = URL_SAFE_NO_PAD.decode(sent).ok()?;
    tag(keys, kid, account, nonce)?.verify_slice(&sent).ok()?;
    Some(KnownDevice {
        account: AccountId::parse(account)?,
        id: nonce.to_string(),
    })
}

/// `Set-Cookie` for a device cookie.
pub fn cookie(value: &str) -> String {
    format!(
        "{COOKIE_NAME}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={MAX_AGE_SECS}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_forgery_and_key_separation() {
        let k = Keyring::single("k1", vec![7u8; 32]).unwrap();
        let account = AccountId::new();
        let v = issue(&k, account).unwrap();
        let d = verify(&k, &v).unwrap();
        assert_eq!(d.account, account);
        let other = Keyring::single("k1", vec![8u8; 32]).unwrap();
        assert!(verify(&other, &v).is_none());
        let swapped = v.replacen(&account.to_string(), &AccountId::new().to_string(), 1);
        assert!(verify(&k, &swapped).is_none(), "bound to its account");
        assert!(v.starts_with("k1."));
        assert!(verify(&k, &v.replacen("k1.", "k2.", 1)).is_none());
        // After a rotation the cookie still verifies.
        assert!(verify(&k.with_new_key("k2").unwrap(), &v).is_some());
        // A cookie from before keyrings (`d1`, the key that is now k0).
        let legacy_ring = Keyring::single("k0", vec![7u8; 32]).unwrap();
        let mut mac = legacy_ring.current().device_mac();
        mac.update(format!("d1|{account}|nonce").as_bytes());
        let legacy = format!(
            "d1.{account}.nonce.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert!(verify(&legacy_ring, &legacy).is_some());
        for junk in ["", "d1", "d1.a.b.c", "d1...", &"x".repeat(300)] {
            assert!(verify(&k, junk).is_none());
        }
        assert!(cookie(&v).starts_with("__Host-device="));
    }
}
