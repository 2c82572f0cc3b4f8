//! Notifications: telling an owner (and, for some events, every admin)
//! about what happened to their tokens and account, in the dashboard and
//! by email.
//!
//! The event types are one enum ([`NoticeKind`]) that later features extend;
//! each is a security event (always shown in the dashboard) or not, and has
//! a default per [`Channel`]. Behind `ssr`:
//! - `outbox`: a [`outbox::Notice`] becomes one row per (event, recipient,
//!   channel) under a unique key, in the caller's transaction (the audit
//!   chain writes the notices its entries carry; the sweep writes expiry
//!   warnings);
//! - `expiry`: the sweep's warnings 7 days and 1 day before a token expires;
//! - `inbox`: the dashboard's list, unread count, mark read;
//! - `prefs`: an owner's choices per event type and channel;
//! - `message`: what a notification says (title, text, next step, link),
//!   shared by the list and the email;
//! - `mail`: SMTP settings, the email and the sender that drains the
//!   outbox at a configured rate, at most once per row.

#[cfg(feature = "ssr")]
pub mod expiry;
#[cfg(feature = "ssr")]
pub mod inbox;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod message;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod prefs;

use serde::{Deserialize, Serialize};

use crate::types::{vocabulary, Timestamp};

vocabulary! {
    /// What a notification is about. docs/notifications.md describes each;
    /// the second factor, usage limits, leak reports and webhooks add theirs.
    NoticeKind {
        TokenExpiring => "token_expiring",
        TokenExpired => "token_expired",
        TokenNewIp => "token_new_ip",
        CredentialRevoked => "credential_revoked",
        ReuseDetected => "reuse_detected",
        NewDeviceSignIn => "new_device_sign_in",
        PasswordChanged => "password_changed",
        SessionsInvalidated => "sessions_invalidated",
        AccountDisabled => "account_disabled",
        AccountCreated => "account_created",
        UsageLow => "usage_low",
        UsageExhausted => "usage_exhausted",
        TwoFactorEnabled => "two_factor_enabled",
        TwoFactorDisabled => "two_factor_disabled",
        RecoveryCodeUsed => "recovery_code_used",
        PasskeyCloned => "passkey_cloned",
        TokenLeaked => "token_leaked",
        WebhookDisabled => "webhook_disabled",
    }
}

vocabulary! {
    /// Where a notification goes.
    Channel {
        InApp => "in_app",
        Email => "email",
    }
}

/// Who receives an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The account the event is about.
    Owner,
    /// Every administrator who is not disabled.
    Admins,
}

impl NoticeKind {
    /// The name on the preferences page.
    pub fn label(self) -> &'static str {
        match self {
            Self::TokenExpiring => "A token expires in 7 days or in 1 day",
            Self::TokenExpired => "A token expired",
            Self::TokenNewIp => "A token was used from a new IP address",
            Self::CredentialRevoked => {
                "A token or connected app was revoked by an administrator or a policy"
            }
            Self::ReuseDetected => {
                "A used refresh token, authorization code or rotated key was presented again"
            }
            Self::NewDeviceSignIn => "A sign-in from a new device",
            Self::PasswordChanged => "Your password was changed",
            Self::SessionsInvalidated => "An administrator ended your sessions",
            Self::AccountDisabled => "Your account was disabled or enabled",
            Self::AccountCreated => "A new account was created (administrators)",
            Self::UsageLow => "A token has 10 % of its usage limit left",
            Self::UsageExhausted => "A token used up its usage limit",
            Self::TwoFactorEnabled => "Two-factor authentication was turned on, or a passkey added",
            Self::TwoFactorDisabled => {
                "Two-factor authentication was turned off or reset by an administrator"
            }
            Self::RecoveryCodeUsed => "A recovery code was used to sign in",
            Self::PasskeyCloned => "A passkey's counter went back (it may have been copied)",
            Self::TokenLeaked => "A token was found in public and revoked (leaked-token report)",
            Self::WebhookDisabled => "A webhook endpoint was disabled after failing deliveries",
        }
    }

    /// Security events are always shown in the dashboard; only their email
    /// can be switched off.
    pub fn is_security(self) -> bool {
        !matches!(
            self,
            Self::TokenExpiring
                | Self::TokenExpired
                | Self::AccountCreated
                | Self::UsageLow
                | Self::UsageExhausted
        )
    }

    pub fn audience(self) -> Audience {
        match self {
            Self::AccountCreated => Audience::Admins,
            _ => Audience::Owner,
        }
    }

    /// On unless the owner switched it off: every event type, on both
    /// channels (a token service's notices are few and each asks for an
    /// action).
    pub fn default_on(self, _channel: Channel) -> bool {
        true
    }

    /// The kinds an account sees on its preferences page.
    pub fn for_role(admin: bool) -> impl Iterator<Item = NoticeKind> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |k| admin || k.audience() == Audience::Owner)
    }
}

/// One notification as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationItem {
    pub id: String,
    pub kind: NoticeKind,
    pub title: String,
    pub text: String,
    /// What to do next.
    pub next: String,
    /// The page to go to, and its link's words.
    pub link: Option<(String, String)>,
    pub at: Timestamp,
    /// Read before this page was opened.
    pub was_read: bool,
}

/// A page of the list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPage {
    pub items: Vec<NotificationItem>,
    /// Unread ones after this page was marked read.
    pub unread: i64,
    /// The cursor of the next (older) page, if there is one.
    pub next_before: Option<String>,
}

/// One event type's switches on the preferences page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceRow {
    pub kind: NoticeKind,
    pub label: String,
    pub security: bool,
    pub in_app: bool,
    pub email: bool,
}

/// Settings > Notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSettings {
    /// Whether this server sends email at all (SMTP configured).
    pub email_configured: bool,
    /// Where email goes: the account's address.
    pub email_address: String,
    pub rows: Vec<PreferenceRow>,
}

/// Kept this long, read or not.
pub const KEEP_DAYS: i64 = 90;
/// Shown per page of the list.
pub const PAGE_SIZE: i64 = 50;
