//! The "known device" cookie (OWASP's answer to lockout by strangers): a
//! signed `__Host-device` cookie issued on a successful sign-in. A sign-in
//! from a known device of the account counts its failures against that
//! device only, with its own limit, so ten wrong passwords from anywhere no
//! longer lock the owner out of their own browser.
//!
//! The value is `d1.<account id>.<nonce>.<tag>`: `d1` names the key, which is
//! derived from the session key for this purpose only (a session cookie's
//! tag never verifies as a device cookie's, and the other way round).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{config::SessionKey, types::AccountId};

pub const COOKIE_NAME: &str = "__Host-device";
const KEY_ID: &str = "d1";
/// A year, renewed at every successful sign-in from the device.
const MAX_AGE_SECS: i64 = 365 * 24 * 3600;

/// A verified device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub account: AccountId,
    /// The nonce: what the throttle counts this device's failures under.
    pub id: String,
}

fn key(session_key: &SessionKey) -> Option<Hmac<Sha256>> {
    let mut derive = session_key.mac();
    derive.update(b"preqstation known-device cookie, key d1");
    let derived = derive.finalize().into_bytes();
    <Hmac<Sha256> as Mac>::new_from_slice(&derived).ok()
}

fn tag(session_key: &SessionKey, account: &str, nonce: &str) -> Option<Vec<u8>> {
    let mut mac = key(session_key)?;
    mac.update(format!("{KEY_ID}|{account}|{nonce}").as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

/// A new device cookie value for `account`.
pub fn issue(session_key: &SessionKey, account: AccountId) -> Option<String> {
    let nonce = URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<16>().ok()?);
    let account = account.to_string();
    let tag = URL_SAFE_NO_PAD.encode(tag(session_key, &account, &nonce)?);
    Some(format!("{KEY_ID}.{account}.{nonce}.{tag}"))
}

/// Verifies a cookie value (HMAC compared in constant time); anything
/// malformed, forged or under another key id is `None`.
pub fn verify(session_key: &SessionKey, value: &str) -> Option<KnownDevice> {
    if value.len() > 200 {
        return None;
    }
    let mut parts = value.split('.');
    let (kid, account, nonce, sent) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if kid != KEY_ID || parts.next().is_some() {
        return None;
    }
    let sent = URL_SAFE_NO_PAD.decode(sent).ok()?;
    let mut mac = key(session_key)?;
    mac.update(format!("{KEY_ID}|{account}|{nonce}").as_bytes());
    mac.verify_slice(&sent).ok()?;
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
        let k = SessionKey::from_bytes(vec![7u8; 32]).unwrap();
        let account = AccountId::new();
        let v = issue(&k, account).unwrap();
        let d = verify(&k, &v).unwrap();
        assert_eq!(d.account, account);
        let other = SessionKey::from_bytes(vec![8u8; 32]).unwrap();
        assert!(verify(&other, &v).is_none());
        let swapped = v.replacen(&account.to_string(), &AccountId::new().to_string(), 1);
        assert!(verify(&k, &swapped).is_none(), "bound to its account");
        assert!(verify(&k, &v.replacen("d1.", "d2.", 1)).is_none());
        for junk in ["", "d1", "d1.a.b.c", "d1...", &"x".repeat(300)] {
            assert!(verify(&k, junk).is_none());
        }
        assert!(cookie(&v).starts_with("__Host-device="));
    }
}
