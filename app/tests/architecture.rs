//! The layers, kept by a test: domain code never names a door.
//!
//! Doors are what the outside world calls: the axum router and its
//! middleware (`web`), the REST API (`api`), MCP (`mcp`), the pages and
//! their components, the server functions (`rpc`, `oauth/consent.rs`) and
//! their error type (`error::AppError`, whose messages name form fields),
//! the OAuth endpoints (`oauth/http/`, `oauth/discovery.rs`) and the
//! audit export download (`audit/export.rs`). The domain (accounts, auth, second_factor,
//! tokens, federation, oauth, audit, sessions, projects, tasks, keys, db, and the plain
//! types the doors hand it: `request`, `types`, `crypto`, `fault`) is judged
//! file by file: a `use` line or an inline path (`crate::web::...`,
//! `super::http::...`) that names a door fails the test, with the file and
//! line. Declaring a door child module (`pub mod export;`) is allowed: the
//! tree has to hold it.

use std::path::{Path, PathBuf};

const DOMAIN: &[&str] = &[
    "accounts",
    "auth",
    "second_factor",
    "tokens",
    "oauth",
    "audit",
    "sessions",
    "projects",
    "tasks",
    "notifications",
    "webhooks",
    "outbound",
    "leaks",
    "federation",
    "keys",
    "db",
    "request.rs",
    "types.rs",
    "crypto.rs",
    "fault.rs",
];

/// Door files inside domain folders.
fn is_door_file(rel: &str) -> bool {
    rel.starts_with("oauth/http/")
        || matches!(
            rel,
            "oauth/discovery.rs" | "oauth/consent.rs" | "audit/export.rs"
        )
}

/// Paths (after a `use` tree is expanded) that are doors.
const DOOR_PATHS: &[&str] = &[
    "crate::web",
    "crate::api",
    "crate::mcp",
    "crate::pages",
    "crate::components",
    "crate::app",
    "crate::overview",
    "crate::rpc",
    "crate::error",
    "crate::oauth::http",
    "crate::oauth::discovery",
    "crate::oauth::consent",
    "crate::audit::export",
    "super::http",
    "super::rpc",
    "super::consent",
    "axum",
    "leptos",
    "leptos_axum",
    "leptos_router",
    "rmcp",
];

/// Door names written inline in code (not in a `use` line).
const DOOR_INLINE: &[&str] = &[
    "crate::web::",
    "crate::api::",
    "crate::mcp::",
    "crate::pages::",
    "crate::components::",
    "crate::app::",
    "crate::overview::",
    "crate::rpc::",
    "crate::error::",
    "AppError::",
    "oauth::http::",
    "oauth::discovery::",
    "oauth::consent::",
    "audit::export::",
    "super::http::",
    "super::rpc::",
    "super::consent::",
    "::rpc::",
    "axum::",
    "leptos_axum::",
    "rmcp::",
];

fn is_door_path(path: &str) -> bool {
    path.contains("ServerFnContext")
        || path.contains("::rpc::")
        || path.ends_with("::rpc")
        || DOOR_PATHS
            .iter()
            .any(|d| path == *d || path.starts_with(&format!("{d}::")))
}

/// Every path a `use` tree names: `crate::{a::{b, c}, d}` gives
/// `crate::a::b`, `crate::a::c`, `crate::d`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        return vec![path.trim_end_matches("::self").to_string()];
    };
    let prefix = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| {
            expand(p).into_iter().map(move |rest| match rest.as_str() {
                "self" => prefix.to_string(),
                _ if prefix.is_empty() => rest,
                _ => format!("{prefix}::{rest}"),
            })
        })
        .collect()
}

/// The door names `source` uses, as (line number, text): `use` trees
/// expanded, inline paths matched; comments and child-module declarations
/// left out.
fn violations(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default().trim();
        if let Some((at, mut text)) = pending.take() {
            text.push_str(code);
            if code.ends_with(';') {
                check_use(at, &text, &mut found);
            } else {
                pending = Some((at, text));
            }
            continue;
        }
        let body = code
            .strip_prefix("pub(crate) use ")
            .or_else(|| code.strip_prefix("pub use "))
            .or_else(|| code.strip_prefix("use "));
        if let Some(body) = body {
            if code.ends_with(';') {
                check_use(i + 1, body, &mut found);
            } else {
                pending = Some((i + 1, body.to_string()));
            }
            continue;
        }
        let declaration = ["mod ", "pub mod ", "pub(crate) mod "]
            .iter()
            .any(|m| code.starts_with(m));
        if !declaration && DOOR_INLINE.iter().any(|d| code.contains(d)) {
            found.push((i + 1, line.trim().to_string()));
        }
    }
    found
}

fn check_use(line: usize, tree: &str, found: &mut Vec<(usize, String)>) {
    for path in expand(tree.trim_end_matches(';')) {
        if is_door_path(&path) {
            found.push((line, format!("use {path}")));
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_domain_names_no_door() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut judged = 0;
    let mut found = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let top = rel.split('/').next().unwrap_or_default();
        if !DOMAIN.contains(&top) || is_door_file(&rel) {
            continue;
        }
        judged += 1;
        let source = std::fs::read_to_string(&path).expect("readable source file");
        for (line, text) in violations(&source) {
            found.push(format!("app/src/{rel}:{line}: {text}"));
        }
    }
    assert!(
        judged > 40,
        "only {judged} domain files found: is the list stale?"
    );
    assert!(
        found.is_empty(),
        "domain files name a door (move the code to a door, or hand the domain a plain type):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rule_catches_use_lines_and_inline_paths() {
    // A use line, flat or nested over several lines.
    assert_eq!(violations("use crate::web::RequestMeta;").len(), 1);
    assert_eq!(
        violations("use crate::{\n    state::AppState,\n    web::{client_ip, RequestMeta},\n};")
            .len(),
        2
    );
    assert_eq!(
        violations("use super::{clients, http::resolve, OAuthError};").len(),
        1
    );
    assert_eq!(violations("use axum::http::StatusCode;").len(), 1);
    assert_eq!(
        violations("use crate::{error::AppError, fault::Fault};").len(),
        1
    );
    assert_eq!(violations("use leptos::prelude::*;").len(), 1);
    // An inline path.
    assert_eq!(
        violations("    let ip = crate::web::client_ip::client_ip(peer, &h, &t);").len(),
        1
    );
    assert_eq!(
        violations("    let c = super::http::resolve_client(db, config, id, now).await?;").len(),
        1
    );
    assert_eq!(
        violations("        return Err(AppError::field(\"name\", \"Too long.\"));").len(),
        1
    );
    assert_eq!(
        violations("fn f(cx: &ServerFnContext) {}").len(),
        0,
        "a bare type name is caught by the use line that brought it"
    );
    // Not a door: domain paths, comments, declaring the door child.
    assert!(violations("use crate::{request::RequestMeta, types::Timestamp};").is_empty());
    assert!(violations("use crate::webhooks::Endpoint;").is_empty());
    assert!(violations("//! Built by `crate::web::meta`.").is_empty());
    assert!(violations("use crate::fault::{Fault, Input};").is_empty());
    assert!(violations("pub mod export;").is_empty());
}

#[test]
fn use_trees_expand_to_paths() {
    assert_eq!(
        expand("crate::{a::{b, c as d}, e, f::self}"),
        vec!["crate::a::b", "crate::a::c", "crate::e", "crate::f"]
    );
}
