//! The 10,000 most common passwords (zxcvbn's ranked list, see the header of
//! `common-passwords.txt`), checked offline. Entries are lower-case, so the
//! caller lower-cases the candidate.

use std::{collections::HashSet, sync::LazyLock};

static LIST: &str = include_str!("common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

pub fn is_common(lowercase_password: &str) -> bool {
    COMMON.contains(lowercase_password)
}

#[cfg(test)]
mod tests {
    #[test]
    fn holds_ten_thousand_entries() {
        assert_eq!(super::COMMON.len(), 10_000);
        assert!(super::is_common("password"));
        assert!(super::is_common("dragon"));
        assert!(!super::is_common("a very unusual passphrase indeed"));
    }
}
