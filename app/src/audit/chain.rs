//! Appending to the audit log as a hash chain, and verifying it.
//!
//! Every append locks the single `audit_head` row (a row lock on PostgreSQL,
//! the write lock on SQLite) for the rest of its transaction, takes the next
//! sequence numbers and the previous hash from it, and writes the entries
//! with `hash = HMAC-SHA256(audit key, prev_hash "\n" canonical-json(entry))`
//! and the id of the keyring key used. Appends are thereby serialised across
//! instances and the chain cannot fork.
//!
//! The audit key is never in the database, so someone who can write only
//! the database cannot recompute the links of a rewritten entry. Entries
//! written before the chain was keyed (`seq` below the keyring's
//! `audit-keyed-from`) keep their plain SHA-256 links; the first keyed
//! entry links to the last of them, so they are covered too, and an entry
//! at or after that point without a key is refused (docs/security.md).

use serde::Serialize;

use hmac::Mac;

pub use super::verify::{verify, verify_at, Verdict};
use super::NewEvent;
use crate::{db::Db, keys::Keyring, types::Timestamp};

/// The fields that are hashed, in a fixed order.
#[derive(Serialize)]
pub(super) struct Canonical<'a> {
    pub(super) seq: i64,
    pub(super) id: &'a str,
    pub(super) at: i64,
    pub(super) account_id: Option<&'a str>,
    pub(super) actor_kind: &'a str,
    pub(super) actor: Option<&'a str>,
    pub(super) action: &'a str,
    pub(super) target: Option<&'a str>,
    pub(super) outcome: &'a str,
    pub(super) ip: Option<&'a str>,
    pub(super) user_agent: Option<&'a str>,
    pub(super) request_id: Option<&'a str>,
    pub(super) token_prefix: Option<&'a str>,
    pub(super) details: &'a str,
    pub(super) security: i64,
}

fn material(prev: &str, c: &Canonical<'_>) -> Vec<u8> {
    let mut material = prev.as_bytes().to_vec();
    material.push(b'\n');
    material.extend(serde_json::to_vec(c).unwrap_or_default());
    material
}

/// The link of a keyed entry.
pub(super) fn keyed_hash(key: &crate::keys::ServerKey, prev: &str, c: &Canonical<'_>) -> String {
    let mut mac = key.audit_mac();
    mac.update(&material(prev, c));
    hex(&mac.finalize().into_bytes())
}

/// The link of an entry written before the chain was keyed.
pub(super) fn unkeyed_hash(prev: &str, c: &Canonical<'_>) -> String {
    crate::crypto::sha256_hex(&material(prev, c))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Takes the audit head's lock as the first statement of a transaction that
/// reads before it writes. On SQLite (WAL) a transaction that starts with a
/// read cannot later upgrade to a write once another connection has written
/// (SQLITE_BUSY_SNAPSHOT, with no retry); starting with a write makes it
/// wait its turn instead. On PostgreSQL it takes the same row lock the
/// append will take anyway, so the lock order stays the same everywhere.
pub async fn lock_for_write(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_head SET last_seq = last_seq WHERE id = 1")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Columns of one `audit_events` row as inserted.
const COLUMNS: usize = 18;
/// The columns of an entry that say what happened, as `audit_events`
/// stores them (`security` as 0 or 1): read back by the audit page and by
/// verification.
#[derive(sqlx::FromRow)]
pub(super) struct StoredFields {
    pub(super) actor_kind: String,
    pub(super) actor: Option<String>,
    pub(super) action: String,
    pub(super) target: Option<String>,
    pub(super) outcome: String,
    pub(super) ip: Option<String>,
    pub(super) user_agent: Option<String>,
    pub(super) request_id: Option<String>,
    pub(super) token_prefix: Option<String>,
    pub(super) details: Option<String>,
    pub(super) security: i64,
}

/// Rows per INSERT statement: 900 parameters, well inside SQLite's and
/// PostgreSQL's limits.
const ROWS_PER_INSERT: usize = 50;

/// The multi-row INSERT for `rows` entries. PostgreSQL numbers its
/// parameters (`$1`...); SQLite gets anonymous `?`, bound by position: sqlx
/// looks every numbered SQLite parameter up by name, a linear walk each, so
/// 900 `$N` cost 900 × 900 / 2 steps per statement (7 % of the server's CPU
/// under whoami load, docs/benchmarks.md).
fn insert_sql(rows: usize, postgres: bool) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(256 + rows * COLUMNS * 6);
    sql.push_str(
        "INSERT INTO audit_events (seq, id, at, account_id, actor_kind, actor, action, target, outcome, ip, \
         user_agent, request_id, token_prefix, details, security, prev_hash, hash, key_id) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 1..=COLUMNS {
            if c > 1 {
                sql.push_str(", ");
            }
            if postgres {
                let _ = write!(sql, "${}", r * COLUMNS + c);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Appends `events` inside the caller's transaction (or connection).
pub async fn append(
    conn: &mut sqlx::AnyConnection,
    keys: &Keyring,
    events: &[NewEvent],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let key = keys.current();
    let n = events.len() as i64;
    let head: super::head::HeadRow = sqlx::query_as(super::head::CLAIM_HEAD)
        .bind(n)
        .fetch_one(&mut *conn)
        .await?;
    let last_seq = head.last_seq;
    let mut prev = head.last_hash.clone();
    // The whole batch's links are computed under the head's lock, then
    // written ROWS_PER_INSERT rows per statement: a 500-event batch is ten
    // statements and one commit, not 500 round trips.
    let mut rows = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let seq = last_seq - n + 1 + i as i64;
        let id = uuid::Uuid::now_v7().to_string();
        let details = e.details.to_string();
        let at = e.at.unwrap_or(now).millis();
        let hash = keyed_hash(
            key,
            &prev,
            &Canonical {
                seq,
                id: &id,
                at,
                account_id: e.account_id.as_deref(),
                actor_kind: e.actor_kind.as_str(),
                actor: e.actor.as_deref(),
                action: e.action.as_str(),
                target: e.target.as_deref(),
                outcome: e.outcome.as_str(),
                ip: e.ip.as_deref(),
                user_agent: e.user_agent.as_deref(),
                request_id: e.request_id.as_deref(),
                token_prefix: e.token_prefix.as_deref(),
                details: &details,
                security: e.security as i64,
            },
        );
        let prev_hash = std::mem::replace(&mut prev, hash.clone());
        rows.push((e, seq, id, at, details, prev_hash, hash));
    }
    let postgres = conn.backend_name() == "PostgreSQL";
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(chunk.len(), postgres);
        let mut q = sqlx::query(&sql);
        for (e, seq, id, at, details, prev_hash, hash) in chunk {
            q = q
                .bind(*seq)
                .bind(id.as_str())
                .bind(*at)
                .bind(e.account_id.as_deref())
                .bind(e.actor_kind.as_str())
                .bind(e.actor.as_deref())
                .bind(e.action.as_str())
                .bind(e.target.as_deref())
                .bind(e.outcome.as_str())
                .bind(e.ip.as_deref())
                .bind(e.user_agent.as_deref())
                .bind(e.request_id.as_deref())
                .bind(e.token_prefix.as_deref())
                .bind(details.as_str())
                .bind(e.security as i64)
                .bind(prev_hash.as_str())
                .bind(hash.as_str())
                .bind(key.id());
        }
        q.execute(&mut *conn).await?;
    }
    // The calls among them, counted in the same transaction, and the
    // notifications they set off.
    super::calls::record(conn, events, rows.iter().map(|r| r.3)).await?;
    for (e, _, id, _, _, _, _) in &rows {
        if let Some(notice) = &e.notice {
            crate::notifications::outbox::enqueue(conn, notice, id, now).await?;
        }
    }
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *conn)
        .await?;
    // The sealed head follows, from a seal the chain still reaches
    // (super::head): a rewound head is never sealed again.
    super::head::advance(
        conn,
        keys,
        &head,
        (last_seq - n, &head.last_hash),
        last_seq,
        &prev,
    )
    .await
}

/// Appends in a transaction of its own.
pub async fn append_now(
    db: &Db,
    keys: &Keyring,
    events: &[NewEvent],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    append(&mut tx, keys, events, now).await?;
    tx.commit().await
}

#[cfg(test)]
mod insert_sql_tests {
    #[test]
    fn numbered_for_postgres_positional_for_sqlite() {
        let pg = super::insert_sql(2, true);
        assert!(pg.ends_with("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18), ($19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)"), "{pg}");
        let lite = super::insert_sql(1, false);
        assert!(
            lite.ends_with("VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            "{lite}"
        );
    }
}

/// Where the keyed part of the chain starts according to the database: the
/// first keyed entry, or the next entry when none is keyed yet. Trusted
/// once, at the first start after the upgrade, to pin the keyring's
/// `audit-keyed-from`; never by `verify` when the keyring has it pinned.
pub async fn keyed_start_in_database(db: &Db) -> Result<i64, sqlx::Error> {
    let (first, head): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT MIN(seq) FROM audit_events WHERE key_id IS NOT NULL) AS first_keyed, \
         (SELECT last_seq FROM audit_head WHERE id = 1) AS head",
    )
    .fetch_one(db)
    .await?;
    Ok(first.unwrap_or(head + 1))
}

/// Where the keyed chain starts, for `serve` and `audit verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedStart {
    /// Pinned in the keyring (file or `PREQSTATION_AUDIT_KEYED_FROM`).
    Pinned(i64),
    /// Pinned just now in the keyring file: the first start after keyrings.
    PinnedNow(i64),
    /// The keys come from the environment without
    /// `PREQSTATION_AUDIT_KEYED_FROM`: taken from the database, which a
    /// database-only attacker could shift; set the variable to this value.
    Unpinned(i64),
}

impl KeyedStart {
    pub fn seq(self) -> i64 {
        match self {
            Self::Pinned(s) | Self::PinnedNow(s) | Self::Unpinned(s) => s,
        }
    }
}

/// Reads where the keyed chain starts from the keyring; when it is not
/// pinned yet and `pin` is set, pins it (in the keyring file) at the
/// database's current keyed start. Called by `serve` at start-up, before
/// anything is appended.
pub async fn keyed_start(db: &Db, keys: &mut Keyring, pin: bool) -> Result<KeyedStart, String> {
    if let Some(seq) = keys.audit_keyed_from() {
        return Ok(KeyedStart::Pinned(seq));
    }
    let seq = keyed_start_in_database(db)
        .await
        .map_err(|e| format!("cannot read the audit log: {e}"))?;
    if pin && keys.path().is_some() {
        keys.pin_audit_keyed_from(seq).map_err(|e| e.to_string())?;
        return Ok(KeyedStart::PinnedNow(seq));
    }
    Ok(KeyedStart::Unpinned(seq))
}

/// Deletes entries older than `cutoff` and moves the anchor to the first
/// kept entry, so the rest still verifies; the new anchor is MACed with the
/// current audit key. Returns how many were purged.
pub async fn purge_before(
    db: &Db,
    keys: &Keyring,
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    // Lock the head first (serialises with appends).
    sqlx::query("UPDATE audit_head SET last_seq = last_seq WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let last: Option<(i64, String, i64)> = sqlx::query_as(
        "SELECT seq, hash, at FROM audit_events WHERE at < $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(cutoff.millis())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((seq, hash, entry_at)) = last else {
        return Ok(0);
    };
    let done = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    let key = keys.current();
    sqlx::query(
        "UPDATE audit_head SET anchor_seq = $1, anchor_hash = $2, anchor_at = $3, anchor_entry_at = $4, \
         anchor_mac = $5, anchor_key_id = $6 WHERE id = 1",
    )
    .bind(seq)
    .bind(&hash)
    .bind(now.millis())
    .bind(entry_at)
    .bind(super::head::anchor_mac(
        key,
        seq,
        &hash,
        Some(now.millis()),
        Some(entry_at),
    ))
    .bind(key.id())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
