//! The second factor: an authenticator app (TOTP, RFC 6238), passkeys
//! (WebAuthn), single-use recovery codes, the half-signed-in state between
//! password and second factor, and the administrators' policy requiring one.
//!
//! Behind `ssr`:
//! - `totp`: the algorithm (through `totp-rs`), enrolment with a QR code,
//!   and the replay guard (the last accepted step, one conditional UPDATE);
//! - `passkeys`: registration and assertion through `webauthn-rs`, the
//!   counter check, list and removal;
//! - `recovery`: ten hashed single-use codes;
//! - `challenge`: short-lived server-side states (a sign-in waiting for its
//!   second factor, bound to the browser by a cookie; a passkey ceremony);
//! - `service`: what the doors call: status, verify a code, turn off,
//!   regenerate, the admin reset and the policy.

#[cfg(feature = "ssr")]
pub mod challenge;
#[cfg(feature = "ssr")]
pub mod passkeys;
#[cfg(feature = "ssr")]
pub mod recovery;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod totp;

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

/// How many recovery codes an account gets.
pub const RECOVERY_CODES: usize = 10;
/// A sign-in waits this long for its second factor.
pub const PENDING_SECS: i64 = 300;

/// Settings > Security.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    /// An authenticator app is set up.
    pub totp: bool,
    pub passkeys: Vec<PasskeyView>,
    /// Unused recovery codes.
    pub recovery_left: i64,
    /// The administrators require a second factor.
    pub required: bool,
    /// Why this server offers no passkeys (its public URL's host is an IP
    /// address, or not a valid relying-party id), if it does not.
    pub passkeys_unavailable: Option<String>,
}

impl SecurityView {
    /// Whether any second factor is on.
    pub fn enabled(&self) -> bool {
        self.totp || !self.passkeys.is_empty()
    }
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// An authenticator app being set up: shown until a code confirms it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    /// The seed in base32, for typing into the app.
    pub secret: String,
    /// The `otpauth://` URI the QR code holds.
    pub uri: String,
    /// The QR code, an SVG document rendered on the server.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(..)")
    }
}

/// Recovery codes, shown once (at enrolment or when regenerated).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes(pub Vec<String>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

/// What the second step of a sign-in offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondStep {
    pub totp: bool,
    pub passkeys: bool,
}
