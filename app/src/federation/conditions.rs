//! A trust rule's claim conditions: checking them when a rule is saved
//! (claim names, patterns, the ids the public issuers must pin, no glob in
//! an owner's part) and matching an ID token's claims against them when it
//! is exchanged, including the events that run a fork's code under the
//! base repository's identity.

use globset::{GlobBuilder, GlobMatcher};
use serde_json::{Map, Value};

use super::{Condition, Provider};

/// Conditions one rule may have.
pub const MAX_CONDITIONS: usize = 20;
/// Longest pattern, in bytes.
pub const MAX_PATTERN: usize = 256;
/// GitHub events that run a fork's code with the base repository's
/// identity (and its ID token).
pub const FORK_EVENTS: [&str; 2] = ["pull_request_target", "workflow_run"];

/// Claims whose value begins with an owner (`owner/...`): a pattern may not
/// put a glob before the first `/`, or any repository's owner would do.
const OWNER_PATH_CLAIMS: [&str; 7] = [
    "sub",
    "repository",
    "workflow_ref",
    "job_workflow_ref",
    "project_path",
    "ci_config_ref_uri",
    "job_project_path",
];
/// Claims that are an owner whole: exact values only.
const OWNER_CLAIMS: [&str; 3] = ["repository_owner", "namespace_path", "user_login"];
/// Claims a condition may not be about: the exchange checks them itself.
const RESERVED: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', ']', '{', '}'])
}

/// Checks `conditions` for a rule of `issuer`: names and patterns, the
/// provider's pinned ids present and exact, no glob in an owner's part, at
/// least one condition. Returns them trimmed, sorted by claim.
pub fn check(issuer: &str, conditions: &[Condition]) -> Result<Vec<Condition>, String> {
    let provider = Provider::of(issuer);
    let mut out: Vec<Condition> = Vec::new();
    for c in conditions {
        let claim = c.claim.trim();
        let pattern = c.pattern.trim();
        // An empty preset field: the pinned-ids check below names it.
        if pattern.is_empty() && (claim.is_empty() || provider.pinned().contains(&claim)) {
            continue;
        }
        let name_ok = !claim.is_empty()
            && claim.len() <= 64
            && claim
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.' | ':'));
        if !name_ok {
            return Err(format!(
                "{claim:?} is not a claim name (letters, digits, _ - . : up to 64)."
            ));
        }
        if RESERVED.contains(&claim) {
            return Err(format!(
                "{claim} is checked by the exchange itself; it cannot be a condition."
            ));
        }
        if pattern.is_empty() || pattern.len() > MAX_PATTERN {
            return Err(format!(
                "The value for {claim} must be 1 to {MAX_PATTERN} characters."
            ));
        }
        if out.iter().any(|o| o.claim == claim) {
            return Err(format!("{claim} appears twice."));
        }
        if OWNER_CLAIMS.contains(&claim) && has_glob(pattern) {
            return Err(format!("{claim} names an owner: give it exactly, no glob."));
        }
        if OWNER_PATH_CLAIMS.contains(&claim) {
            let owner = pattern.split('/').next().unwrap_or_default();
            if has_glob(owner) || !pattern.contains('/') && has_glob(pattern) {
                return Err(format!(
                    "No glob in the owner part of {claim} (before the first /): {pattern:?}."
                ));
            }
        }
        if has_glob(pattern) {
            glob(pattern).map_err(|e| format!("The pattern for {claim} is not a glob: {e}."))?;
        }
        out.push(Condition {
            claim: claim.to_string(),
            pattern: pattern.to_string(),
        });
    }
    if out.len() > MAX_CONDITIONS {
        return Err(format!("At most {MAX_CONDITIONS} conditions."));
    }
    for pinned in provider.pinned() {
        match out.iter().find(|c| c.claim == *pinned) {
            Some(c) if !has_glob(&c.pattern) && c.pattern.chars().all(|ch| ch.is_ascii_digit()) => {
            }
            Some(_) => {
                return Err(format!(
                    "{pinned} must be the exact numeric id (ids are never reused; names can be)."
                ))
            }
            None => {
                return Err(format!(
                    "A {} rule must pin {} (ids are never reused; names can be).",
                    provider.label(),
                    provider.pinned().join(" and ")
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("Add at least one condition (for example sub).".into());
    }
    out.sort_by(|a, b| a.claim.cmp(&b.claim));
    Ok(out)
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

/// A claim's value as text: strings as they are, numbers and booleans
/// written out; anything else (absent, null, arrays, objects) has none.
pub fn claim_text(claims: &Map<String, Value>, claim: &str) -> Option<String> {
    match claims.get(claim)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why `claims` do not satisfy a rule, or `None` when they do.
pub fn mismatch(
    conditions: &[Condition],
    allow_fork_events: bool,
    claims: &Map<String, Value>,
) -> Option<String> {
    for c in conditions {
        let Some(value) = claim_text(claims, &c.claim) else {
            return Some(format!("The ID token has no {} claim.", c.claim));
        };
        let matched = if has_glob(&c.pattern) {
            glob(&c.pattern).is_ok_and(|g| g.is_match(&value))
        } else {
            value == c.pattern
        };
        if !matched {
            return Some(format!(
                "The ID token's {} does not match the rule.",
                c.claim
            ));
        }
    }
    if !allow_fork_events {
        if let Some(event) = claim_text(claims, "event_name") {
            if FORK_EVENTS.contains(&event.as_str()) {
                return Some(format!(
                    "{event} runs a fork's code with the repository's identity; the rule does not allow it."
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::GITHUB_ISSUER;

    fn c(claim: &str, pattern: &str) -> Condition {
        Condition {
            claim: claim.into(),
            pattern: pattern.into(),
        }
    }

    #[test]
    fn github_rules_pin_the_ids() {
        let ok = [c("repository_owner_id", "1001"), c("repository_id", "2002")];
        assert!(check(GITHUB_ISSUER, &ok).is_ok());
        assert!(check(GITHUB_ISSUER, &[c("repository", "octo-org/octo-repo")]).is_err());
        assert!(check(
            GITHUB_ISSUER,
            &[c("repository_owner_id", "10*"), c("repository_id", "2002")]
        )
        .is_err());
        assert!(check("https://ci.example", &[]).is_err());
        assert!(check("https://ci.example", &[c("sub", "x")]).is_ok());
    }

    #[test]
    fn no_glob_in_the_owner_part() {
        for bad in [
            c("repository", "*/octo-repo"),
            c("repository", "oct?-org/x"),
            c("sub", "repo:*"),
            c("workflow_ref", "**/ci.yml@refs/heads/main"),
            c("repository_owner", "octo-*"),
        ] {
            assert!(
                check("https://ci.example", std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(check("https://ci.example", &[c("repository", "octo-org/*")]).is_ok());
        assert!(check("https://ci.example", &[c("iss", "x")]).is_err());
    }

    #[test]
    fn globs_stay_within_a_segment() {
        let claims: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "ref": "refs/heads/release/1.2",
            "repository_id": 2002,
            "event_name": "push",
        }))
        .unwrap();
        assert!(mismatch(&[c("ref", "refs/heads/release/*")], false, &claims).is_none());
        assert!(mismatch(&[c("ref", "refs/heads/*")], false, &claims).is_some());
        assert!(mismatch(&[c("ref", "refs/heads/**")], false, &claims).is_none());
        assert!(mismatch(&[c("repository_id", "2002")], false, &claims).is_none());
        assert!(mismatch(&[c("environment", "prod")], false, &claims).is_some());
    }

    #[test]
    fn fork_events_need_the_rules_consent() {
        let claims: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"event_name": "pull_request_target"}))
                .unwrap();
        assert!(mismatch(&[], false, &claims).is_some());
        assert!(mismatch(&[], true, &claims).is_none());
    }
}
