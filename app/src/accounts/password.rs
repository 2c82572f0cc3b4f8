//! Password hashing (argon2id, OWASP parameters, on a blocking thread) and the
//! new-password policy: 8-128 characters, no composition rules, and none of
//! the most common passwords.

use std::{fmt, sync::OnceLock};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use zeroize::Zeroizing;

use super::check_password_length;

/// A password as typed. Not `Serialize`; `Debug` prints `<redacted>`; zeroed
/// on drop.
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// argon2id, m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet):
/// exactly the argon2 crate's `Params::DEFAULT` (a unit test pins it).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// Every hashing slot stayed taken for [`HASH_WAIT`]: answer "busy, retry".
    #[error("all password hashing slots are busy")]
    Busy,
}

/// How long a request waits for a hashing slot before it is told to retry.
pub const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// At most one argon2 computation per core at a time: each takes 19 MiB and
/// a core for tens of milliseconds, so a burst of sign-ins queues here
/// instead of growing memory and starving every other request.
fn slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

async fn slot() -> Result<tokio::sync::SemaphorePermit<'static>, HashError> {
    match tokio::time::timeout(HASH_WAIT, slots().acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(HashError::Busy),
    }
}

/// Hashes `password` off the async threads.
pub async fn hash(password: Password) -> Result<String, HashError> {
    let permit = slot().await?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let salt_bytes =
            crate::crypto::random_bytes::<16>().map_err(|e| HashError::Hash(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt_bytes).map_err(|e| HashError::Hash(e.to_string()))?;
        hasher()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    })
    .await?
}

/// Checks `password` against a stored PHC string off the async threads. A
/// malformed stored hash verifies as false.
pub async fn verify(password: Password, stored: String) -> Result<bool, HashError> {
    let permit = slot().await?;
    Ok(tokio::task::spawn_blocking(move || {
        let _permit = permit;
        PasswordHash::new(&stored)
            .map(|parsed| {
                hasher()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await?)
}

impl From<HashError> for crate::fault::Fault {
    fn from(e: HashError) -> Self {
        match e {
            // 503 with Retry-After: the request was not evaluated.
            HashError::Busy => crate::fault::Fault::Unavailable,
            other => crate::fault::Fault::internal("password hashing", other),
        }
    }
}

/// A hash of a random password, verified against when an email is unknown so
/// that a failed sign-in costs the same time whether or not the account exists.
pub async fn dummy_hash() -> Result<String, HashError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let random = crate::crypto::random_bytes::<24>().map_err(|e| HashError::Hash(e.to_string()))?;
    let h = hash(Password::new(crate::crypto::sha256_hex(&random))).await?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

/// The policy for a new password. Returns the message shown next to the field.
pub fn check_new_password(password: &str, email: &str) -> Result<(), String> {
    check_password_length(password)?;
    if is_common(password) {
        return Err(
            "This password is one of the most commonly used passwords. Choose another; a few unrelated words work well."
                .into(),
        );
    }
    if !email.is_empty() && password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("Your password must not be your email address.".into());
    }
    Ok(())
}

/// True when `password` (compared case-insensitively) is among the most
/// common passwords.
pub fn is_common(password: &str) -> bool {
    super::common::is_common(&password.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = Password::new("hunter2hunter2".into());
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }

    #[test]
    fn common_passwords_are_refused() {
        assert!(check_new_password("password", "").is_err());
        assert!(check_new_password("12345678", "").is_err());
        assert!(check_new_password("Password1", "").is_err() || is_common("password1"));
        assert!(check_new_password("correct horse battery staple 42", "").is_ok());
        assert!(check_new_password("alice@example.com", "alice@example.com").is_err());
    }

    #[test]
    fn parameters_are_owasps() {
        let p = Params::DEFAULT;
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
    }

    #[tokio::test]
    async fn hash_and_verify_round_trip() {
        let h = hash(Password::new("correct horse battery".into()))
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify(Password::new("correct horse battery".into()), h.clone())
                .await
                .unwrap()
        );
        assert!(!verify(Password::new("correct horse batter".into()), h)
            .await
            .unwrap());
        assert!(!verify(Password::new("x".into()), "not a hash".into())
            .await
            .unwrap());
    }
}
