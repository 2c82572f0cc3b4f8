//! Accounts: who can sign in, with which role.
//!
//! The shared part (email and password rules) runs in the browser too, for
//! instant feedback; the server re-checks everything. Behind `ssr`: password
//! hashing and the account queries.

#[cfg(feature = "ssr")]
pub mod admin;
#[cfg(feature = "ssr")]
mod common;
#[cfg(feature = "ssr")]
pub mod kill_switch;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
mod service;
#[cfg(feature = "ssr")]
pub use service::*;

use serde::{Deserialize, Serialize};

use crate::types::{Role, Timestamp};

/// An account as the administrators' list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    pub active_sessions: i64,
    pub active_tokens: i64,
    /// A second factor is on.
    pub two_factor: bool,
}

/// Passwords shorter than this are refused (ASVS 5.0 6.2.1).
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted; nothing is ever truncated (ASVS 6.2.4, 6.2.9).
pub const PASSWORD_MAX_CHARS: usize = 128;
/// RFC 5321 limit on an address.
pub const EMAIL_MAX_CHARS: usize = 254;

/// Trims and lower-cases an email and checks its shape: something@domain,
/// no whitespace, at most 254 characters. Returns the message to show next
/// to the field on failure.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.");
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err("That email address is too long (254 characters at most).");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("Enter an email address like name@example.com.");
    };
    if local.is_empty()
        || domain.is_empty()
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("Enter an email address like name@example.com.");
    }
    Ok(email)
}

/// Length rules for a new password (the common-password check is server-side).
pub fn check_password_length(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(format!(
            "Use at least {PASSWORD_MIN_CHARS} characters (15 or more is better; a passphrase works well)."
        ));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(format!("Use at most {PASSWORD_MAX_CHARS} characters."));
    }
    Ok(())
}

/// How many working credentials an account has (the kill switch's
/// confirmation and answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialCounts {
    pub tokens: u64,
    pub apps: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        for bad in [
            "",
            "   ",
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "a@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(check_password_length("short").is_err());
        assert!(check_password_length("ääääääää").is_ok());
        assert!(check_password_length(&"x".repeat(128)).is_ok());
        assert!(check_password_length(&"x".repeat(129)).is_err());
    }
}
