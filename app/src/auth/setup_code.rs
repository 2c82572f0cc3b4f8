//! The one-time setup code: until the first account exists, `/setup` asks
//! for it, so whoever reaches a fresh instance first cannot make themselves
//! its administrator (Jupyter's and Vaultwarden's answer).
//!
//! `serve` issues a code at start while no account exists: 100 random bits,
//! printed once to stdout and written to `<data dir>/setup-code` (mode 0600),
//! never to the structured log. The database keeps only its SHA-256 and an
//! expiry of 24 hours (a restart issues a new one), so every instance on one
//! database accepts every live code. The first account deletes them all.
//! `preqstation create-admin` needs no code: it runs on the server itself.

use crate::{db::Db, types::Timestamp};

/// How long a code stays valid.
pub const TTL_MS: i64 = 24 * 3600 * 1000;
/// The file beside the database that holds the current code.
pub const FILE_NAME: &str = "setup-code";

/// Crockford's base32 alphabet: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Issues a new code if no account exists yet (`None` otherwise), and drops
/// expired ones.
pub async fn issue(db: &Db, now: Timestamp) -> Result<Option<String>, IssueError> {
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(db)
        .await?;
    if accounts > 0 {
        return Ok(None);
    }
    // 20 characters of 5 bits: 100 bits.
    let bytes =
        crate::crypto::random_bytes::<20>().map_err(|e| IssueError::Random(e.to_string()))?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    let code = chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-");
    sqlx::query("DELETE FROM setup_codes WHERE expires_at <= $1")
        .bind(now.millis())
        .execute(db)
        .await?;
    sqlx::query("INSERT INTO setup_codes (code_hash, expires_at) VALUES ($1, $2)")
        .bind(hash(&code))
        .bind(now.millis() + TTL_MS)
        .execute(db)
        .await?;
    Ok(Some(code))
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("cannot store the setup code: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the OS random number generator failed: {0}")]
    Random(String),
}

/// Case, spaces and dashes do not matter when the code is typed.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn hash(code: &str) -> String {
    crate::crypto::sha256_hex(normalize(code).as_bytes())
}

/// Whether `code` is a live setup code.
pub async fn is_valid(db: &Db, code: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
    if normalize(code).len() != 20 {
        return Ok(false);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM setup_codes WHERE code_hash = $1 AND expires_at > $2",
    )
    .bind(hash(code))
    .bind(now.millis())
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// The first account exists (by setup or `preqstation create-admin`): no
/// code works any more, so the codes' rows and the `setup-code` file in
/// `data_dir` go. Failing to delete them is logged, not fatal: a code stops
/// working once an account exists anyway.
pub async fn retire_all(db: &Db, data_dir: &std::path::Path) {
    if let Err(e) = sqlx::query("DELETE FROM setup_codes").execute(db).await {
        tracing::warn!(error = %e, "could not delete the setup codes (they stop working anyway)");
    }
    match std::fs::remove_file(data_dir.join(FILE_NAME)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, "could not delete the setup-code file"),
    }
}

/// Writes the code to `<dir>/setup-code`, readable by this user only.
pub fn write_file(dir: &std::path::Path, code: &str) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let path = dir.join(FILE_NAME);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    writeln!(file, "{code}")?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_variants_match() {
        assert_eq!(
            hash("abcde-fghjk-mnpqr-stvwx"),
            hash("ABCDEFGHJKMNPQRSTVWX")
        );
        assert_eq!(
            hash(" abcde fghjk mnpqr stvwx "),
            hash("ABCDE-FGHJK-MNPQR-STVWX")
        );
        assert_ne!(
            hash("ABCDE-FGHJK-MNPQR-STVWY"),
            hash("ABCDE-FGHJK-MNPQR-STVWX")
        );
    }
}
