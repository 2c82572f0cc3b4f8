//! Types shared by the server and the browser: typed ids, UTC timestamps,
//! roles and the signed-in user as the UI sees it.

use serde::{Deserialize, Serialize};

/// Declares a string-valued enum with its list and parser.
macro_rules! vocabulary_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the page lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value stored as `s`, if it is one.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary_enum as vocabulary;

/// Milliseconds since the Unix epoch, UTC. Stored as BIGINT on both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    #[cfg(feature = "ssr")]
    pub fn now() -> Self {
        Self((time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    pub fn to_offset(self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// `2026-11-22 15:04 UTC`: how the dashboard shows times.
    pub fn display_utc(self) -> String {
        let t = self.to_offset();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    }

    /// RFC 3339 with seconds, `Z` suffix.
    pub fn rfc3339(self) -> String {
        self.to_offset()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new random, time-ordered (UUIDv7) id.
            #[cfg(feature = "ssr")]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn parse(s: &str) -> Option<Self> {
                uuid::Uuid::parse_str(s).ok().map(Self)
            }
        }

        #[cfg(feature = "ssr")]
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Identifies an account.
    AccountId
);
uuid_id!(
    /// Names a session in the UI; it is not the secret that authenticates it.
    SessionPublicId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// The signed-in account as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: AccountId,
    pub email: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A secret typed into a form (a password). It has to travel from the
/// browser to the server, so it is `Serialize`, but `Debug` prints
/// `<redacted>` and the memory is zeroed on drop.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FormSecret(String);

impl FormSecret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Moves the secret out (the emptied shell is zeroed on drop).
    pub fn take(mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

impl std::fmt::Debug for FormSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for FormSecret {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

/// "in 3 days", "5 hours ago", "just now": for expiry and last-used columns.
pub fn relative(target: Timestamp, now: Timestamp) -> String {
    let diff = target.millis() - now.millis();
    let abs = diff.unsigned_abs() / 1000;
    let (n, unit) = if abs < 60 {
        return "just now".into();
    } else if abs < 3_600 {
        (abs / 60, "minute")
    } else if abs < 86_400 {
        (abs / 3_600, "hour")
    } else {
        (abs / 86_400, "day")
    };
    let plural = if n == 1 { "" } else { "s" };
    if diff > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = Timestamp(1_000_000_000_000);
        assert_eq!(relative(now.plus_secs(3 * 86_400 + 5), now), "in 3 days");
        assert_eq!(relative(now.plus_secs(-7200), now), "2 hours ago");
        assert_eq!(relative(now.plus_secs(61), now), "in 1 minute");
        assert_eq!(relative(now.plus_secs(10), now), "just now");
    }

    #[test]
    fn form_secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", FormSecret::new("hunter2")), "<redacted>");
    }

    #[test]
    fn timestamps_format_in_utc() {
        let t = Timestamp(1_800_000_000_000);
        assert_eq!(t.rfc3339(), "2027-01-15T08:00:00Z");
        assert_eq!(t.display_utc(), "2027-01-15 08:00 UTC");
    }
}

/// The outcome of looking up an owned resource by id: found for this owner,
/// owned by someone else (the API answers 403, as seed 001 says), or absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(T),
    OtherOwner,
    Missing,
}

/// One page of a cursor-paginated list, in a stable order (by id: UUIDv7,
/// so creation order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Opaque cursor for an id: base64url, so clients do not build their own.
#[cfg(feature = "ssr")]
pub fn encode_cursor(id: &str) -> String {
    use base64::Engine;
    match uuid::Uuid::parse_str(id) {
        Ok(u) => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(u.as_bytes()),
        Err(_) => String::new(),
    }
}

/// The shape of every cursor: 16 bytes in unpadded base64url, whose last
/// character carries 2 bits (so it is one of `A`, `Q`, `g`, `w`). Any string
/// of this shape decodes; the OpenAPI document declares it.
pub const CURSOR_PATTERN: &str = "^([A-Za-z0-9_-]{21}[AQgw])?$";

/// Decodes a cursor made by [`encode_cursor`]; `None` if it is not one.
#[cfg(feature = "ssr")]
pub fn decode_cursor(cursor: &str) -> Option<String> {
    use base64::Engine;
    if cursor.len() != 22 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    uuid::Uuid::from_slice(&bytes).ok().map(|u| u.to_string())
}
