//! Projects: created and edited by their owner in the dashboard, read by
//! agents through the API (`projects:read`). Settings are documented string
//! key/value pairs (docs/api.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

#[cfg(feature = "ssr")]
pub mod reach;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub use reach::Reach;

pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
pub const SETTINGS_MAX_KEYS: usize = 50;
pub const SETTING_KEY_MAX_CHARS: usize = 64;
pub const SETTING_VALUE_MAX_CHARS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub settings: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Parses the settings editor's text: one `key = value` per line; blank
/// lines and lines starting with `#` are skipped. Keys are 1-64 characters
/// of `a-z 0-9 _ . -` starting with a letter or digit.
pub fn parse_settings(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("Line {}: write settings as key = value.", n + 1))?;
        let key = key.trim().to_string();
        check_setting(&key, value.trim()).map_err(|m| format!("Line {}: {m}", n + 1))?;
        if map.insert(key.clone(), value.trim().to_string()).is_some() {
            return Err(format!("Line {}: the key {key} appears twice.", n + 1));
        }
    }
    if map.len() > SETTINGS_MAX_KEYS {
        return Err(format!("At most {SETTINGS_MAX_KEYS} settings."));
    }
    Ok(map)
}

/// Checks one setting.
pub fn check_setting(key: &str, value: &str) -> Result<(), String> {
    let valid_key = !key.is_empty()
        && key.chars().count() <= SETTING_KEY_MAX_CHARS
        && key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !valid_key {
        return Err(format!(
            "the key {key:?} must be 1-{SETTING_KEY_MAX_CHARS} characters of a-z, 0-9, _ . - (starting with a letter or digit)."
        ));
    }
    if value.chars().count() > SETTING_VALUE_MAX_CHARS
        || value.chars().any(|c| c.is_control() && c != '\t')
    {
        return Err(format!(
            "the value of {key} must be at most {SETTING_VALUE_MAX_CHARS} characters on one line."
        ));
    }
    Ok(())
}

/// The settings as editor text.
pub fn settings_text(settings: &BTreeMap<String, String>) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_text_round_trips() {
        let m = parse_settings("# comment\nrepo = git@example.com:x.git\n\nbranch=main\n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["branch"], "main");
        assert_eq!(parse_settings(&settings_text(&m)).unwrap(), m);
        for bad in [
            "novalue",
            "Bad = x",
            "a b = c",
            "x = 1\nx = 2",
            &format!("k = {}", "v".repeat(1001)),
        ] {
            assert!(parse_settings(bad).is_err(), "{bad:?}");
        }
    }
}
