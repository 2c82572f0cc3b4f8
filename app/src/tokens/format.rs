//! The token format: `<prefix><32 random base62><6 base62 CRC32>`, e.g.
//! `preq_` + `a7F3c9E2b1D4f6A8c0E2b4D6f8A0c2E4` + `0kZ3Qp`.
//!
//! 32 base62 characters carry 190 bits from the OS CSPRNG. The checksum
//! (CRC32 over prefix and random part, GitHub's scheme) lets the server and
//! secret scanners reject a mistyped or made-up token without a database
//! lookup. The prefix is a deployment setting (default `preq_`).

use std::fmt;

use zeroize::Zeroizing;

pub const DEFAULT_PREFIX: &str = "preq_";
pub const RANDOM_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
/// How many leading characters are stored in plaintext to identify a token.
pub const DISPLAY_PREFIX_LEN: usize = 12;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A full API token. Not `Serialize`; `Debug` prints `<redacted>`; zeroed on drop.
pub struct TokenSecret(Zeroizing<String>);

impl TokenSecret {
    /// Use only to hand the token to its owner once, at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the whole token: what the database stores.
    pub fn hash(&self) -> String {
        crate::crypto::sha256_hex(self.0.as_bytes())
    }

    /// The first 12 characters, stored in plaintext to recognise the token.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// Why a presented string is not a well-formed token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    /// Wrong prefix, length or alphabet.
    Malformed,
    /// Well-formed but the checksum does not match: mistyped or made up.
    BadChecksum,
}

/// Checks that a deployment prefix is usable: 2-16 characters of lower-case
/// letters and digits ending in `_`.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let body = prefix.strip_suffix('_').ok_or("must end with '_'")?;
    if !(1..=15).contains(&body.len())
        || !body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(
            "must be 1-15 lower-case letters or digits followed by '_' (e.g. preq_)".into(),
        );
    }
    Ok(())
}

/// A new token from the OS CSPRNG.
pub fn generate(prefix: &str) -> Result<TokenSecret, rand::rand_core::OsError> {
    let mut random = String::with_capacity(RANDOM_LEN);
    // Rejection sampling: bytes >= 248 (= 4 * 62) are discarded, so every
    // character is uniform over the 62 symbols.
    while random.len() < RANDOM_LEN {
        for b in crate::crypto::random_bytes::<48>()? {
            if random.len() == RANDOM_LEN {
                break;
            }
            if b < 248 {
                random.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    let mut token = String::with_capacity(prefix.len() + RANDOM_LEN + CHECKSUM_LEN);
    token.push_str(prefix);
    token.push_str(&random);
    token.push_str(&checksum(&token));
    Ok(TokenSecret(Zeroizing::new(token)))
}

/// Validates shape and checksum, offline. On success the string is wrapped
/// as a secret for hashing and lookup.
pub fn parse(prefix: &str, presented: &str) -> Result<TokenSecret, FormatError> {
    let rest = presented
        .strip_prefix(prefix)
        .ok_or(FormatError::Malformed)?;
    if rest.len() != RANDOM_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(FormatError::Malformed);
    }
    let (body, sum) = presented.split_at(prefix.len() + RANDOM_LEN);
    if !crate::crypto::constant_time_eq(checksum(body).as_bytes(), sum.as_bytes()) {
        return Err(FormatError::BadChecksum);
    }
    Ok(TokenSecret(Zeroizing::new(presented.to_string())))
}

/// The regex (for secret scanners) that matches every token with `prefix`.
pub fn scanner_regex(prefix: &str) -> String {
    format!(r"\b{prefix}[0-9A-Za-z]{{{}}}\b", RANDOM_LEN + CHECKSUM_LEN)
}

/// CRC32 of `body`, as 6 base62 digits (zero-padded).
fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes()) as u64;
    let mut digits = [b'0'; CHECKSUM_LEN];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let t = generate(DEFAULT_PREFIX).unwrap();
        let s = t.expose();
        assert_eq!(s.len(), 5 + 32 + 6);
        assert!(s.starts_with("preq_"));
        assert!(s[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(t.display_prefix().len(), 12);
        assert_eq!(t.hash().len(), 64);
        assert!(parse(DEFAULT_PREFIX, s).is_ok());
        assert_ne!(s, generate(DEFAULT_PREFIX).unwrap().expose());
    }

    #[test]
    fn any_one_character_change_is_caught_offline() {
        let t = generate(DEFAULT_PREFIX).unwrap();
        let s = t.expose().to_string();
        for i in 5..s.len() {
            for replacement in ['0', 'Z', 'z'] {
                let mut bytes = s.clone().into_bytes();
                if bytes[i] == replacement as u8 {
                    continue;
                }
                bytes[i] = replacement as u8;
                let changed = String::from_utf8(bytes).unwrap();
                assert_eq!(
                    parse(DEFAULT_PREFIX, &changed).err(),
                    Some(FormatError::BadChecksum),
                    "change at {i}"
                );
            }
        }
    }

    #[test]
    fn malformed_inputs() {
        for bad in [
            "",
            "preq_",
            "preq_short",
            "prelim_abc",
            "PREQ_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "preq_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-",
            "preq_ääääääääääääääääääää",
        ] {
            assert_eq!(
                parse(DEFAULT_PREFIX, bad).err(),
                Some(FormatError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_published_regex_matches_generated_tokens() {
        let re = scanner_regex(DEFAULT_PREFIX);
        assert_eq!(re, r"\bpreq_[0-9A-Za-z]{38}\b");
        let re = regex::Regex::new(&re).unwrap();
        for _ in 0..200 {
            let t = generate(DEFAULT_PREFIX).unwrap();
            let text = format!("export PREQSTATION_TOKEN={} # local-dev", t.expose());
            let found = re.find(&text).expect("regex finds the token");
            assert_eq!(found.as_str(), t.expose());
        }
        assert!(!re.is_match("preq_tooshort"));
    }

    #[test]
    fn custom_prefixes() {
        assert!(validate_prefix("preq_").is_ok());
        assert!(validate_prefix("acme2_").is_ok());
        for bad in ["preq", "_", "Preq_", "a-b_", "waytoolongprefixx_"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
        let t = generate("acme_").unwrap();
        assert!(parse("acme_", t.expose()).is_ok());
        assert_eq!(
            parse(DEFAULT_PREFIX, t.expose()).err(),
            Some(FormatError::Malformed)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let t = generate(DEFAULT_PREFIX).unwrap();
        assert_eq!(format!("{t:?}"), "TokenSecret(<redacted>)");
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn checksum_is_six_base62_digits() {
        assert_eq!(checksum("preq_").len(), 6);
        assert_eq!(checksum(""), "000000");
    }
}
