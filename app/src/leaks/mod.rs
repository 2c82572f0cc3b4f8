//! Leaked-token reports, in the format of GitHub's secret-scanning partner
//! program: a signed JSON array of tokens found in public, each revoked at
//! once when it still works (with its rotation family and the task-scoped
//! tokens made from it), audited `token_leaked` and told to its owner.
//! - `keys`: the ECDSA P-256 public keys a report must be signed with
//!   (added on the server with `preqstation leak-keys`), and the check;
//! - `report`: reading a report, revoking, and the program's feedback.

pub mod keys;
pub mod report;

/// The largest report body taken (reports come in batches).
pub const MAX_BODY: usize = 1024 * 1024;
/// Tokens in one report.
pub const MAX_REPORTS: usize = 1000;
/// Longest token looked at, in bytes.
pub const MAX_TOKEN: usize = 1024;
