//! The chain's head and retention anchor, authenticated. `audit_head`
//! holds the last seq and hash (where the chain ends) and the anchor
//! (where retention last cut it). Both are MACed with the audit key, with
//! the id of the key used, so that someone who can write the database but
//! not the keyring cannot delete the newest entries and rewind the head, nor
//! delete the oldest and move the anchor: `verify` checks both MACs.
//!
//! The head is sealed as `sealed_seq`/`sealed_hash` with its MAC: every
//! append (under the head's lock) moves the seal to the new end, but only
//! from a seal the chain still reaches, so a rewound head is never sealed
//! again; the anchor's MAC is rewritten by every purge. At start-up the server re-MACs both with the
//! current key after checking them under their own, so retiring an old key
//! never strands them; an install from before these MACs gets them at its
//! first start (logged: seen again later, it means the database was
//! altered).

use hmac::Mac;

use crate::{db::Db, keys::Keyring};

/// The anchor of a chain that was never cut.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn mac(key: &crate::keys::ServerKey, material: &str) -> String {
    let mut mac = key.audit_mac();
    mac.update(material.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The MAC of the head: the last seq and the last hash.
pub fn head_mac(key: &crate::keys::ServerKey, last_seq: i64, last_hash: &str) -> String {
    mac(
        key,
        &format!("preqstation audit head v1\n{last_seq}\n{last_hash}"),
    )
}

/// The MAC of the anchor: its seq and hash, when it was cut, and the time
/// of the newest entry the cut removed.
pub fn anchor_mac(
    key: &crate::keys::ServerKey,
    seq: i64,
    hash: &str,
    cut_at: Option<i64>,
    entry_at: Option<i64>,
) -> String {
    mac(
        key,
        &format!(
            "preqstation audit anchor v1\n{seq}\n{hash}\n{}\n{}",
            cut_at.unwrap_or(-1),
            entry_at.unwrap_or(-1)
        ),
    )
}

/// The `audit_head` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeadRow {
    pub last_seq: i64,
    pub last_hash: String,
    pub sealed_seq: Option<i64>,
    pub sealed_hash: Option<String>,
    pub head_mac: Option<String>,
    pub head_key_id: Option<String>,
    pub anchor_seq: i64,
    pub anchor_hash: String,
    pub anchor_at: Option<i64>,
    pub anchor_entry_at: Option<i64>,
    pub anchor_mac: Option<String>,
    pub anchor_key_id: Option<String>,
}

macro_rules! head_columns {
    () => {
        "last_seq, last_hash, sealed_seq, sealed_hash, head_mac, head_key_id, anchor_seq, anchor_hash, \
         anchor_at, anchor_entry_at, anchor_mac, anchor_key_id"
    };
}

pub const SELECT_HEAD: &str = concat!("SELECT ", head_columns!(), " FROM audit_head WHERE id = 1");

/// An append's first statement: takes `$1` sequence numbers under the
/// head's lock and returns the row as it now is (`last_hash` still the
/// previous entry's), so the append reads the head once.
pub const CLAIM_HEAD: &str = concat!(
    "UPDATE audit_head SET last_seq = last_seq + $1 WHERE id = 1 RETURNING ",
    head_columns!()
);

/// What a MAC check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seal {
    /// Nothing to authenticate (an empty chain, an anchor never cut).
    NotNeeded,
    Valid,
    /// No MAC: an install from before MACs, or someone cleared it.
    Missing,
    /// The MAC names a key the keyring does not have.
    UnknownKey(String),
    Invalid,
}

fn check(
    keys: &Keyring,
    stored: Option<&str>,
    key_id: Option<&str>,
    make: impl Fn(&crate::keys::ServerKey) -> String,
) -> Seal {
    let (Some(stored), Some(key_id)) = (stored, key_id) else {
        return Seal::Missing;
    };
    let Some(key) = keys.get(key_id) else {
        return Seal::UnknownKey(key_id.to_string());
    };
    if crate::crypto::constant_time_eq(make(key).as_bytes(), stored.as_bytes()) {
        Seal::Valid
    } else {
        Seal::Invalid
    }
}

impl HeadRow {
    /// The head's MAC, checked.
    pub fn head_seal(&self, keys: &Keyring) -> Seal {
        if self.last_seq == 0 && self.head_mac.is_none() {
            return Seal::NotNeeded;
        }
        let (Some(seq), Some(hash)) = (self.sealed_seq, self.sealed_hash.as_deref()) else {
            return Seal::Missing;
        };
        check(
            keys,
            self.head_mac.as_deref(),
            self.head_key_id.as_deref(),
            |k| head_mac(k, seq, hash),
        )
    }

    /// The anchor's MAC, checked. The genesis anchor needs none.
    pub fn anchor_seal(&self, keys: &Keyring) -> Seal {
        if self.anchor_seq == 0 && self.anchor_hash == GENESIS && self.anchor_mac.is_none() {
            return Seal::NotNeeded;
        }
        check(
            keys,
            self.anchor_mac.as_deref(),
            self.anchor_key_id.as_deref(),
            |k| {
                anchor_mac(
                    k,
                    self.anchor_seq,
                    &self.anchor_hash,
                    self.anchor_at,
                    self.anchor_entry_at,
                )
            },
        )
    }
}

/// At start-up: re-MACs the head and the anchor with the current key when
/// their MACs check under their own key (so an old key can be retired), and
/// MACs them for the first time when they have none (logged). A MAC that
/// does not check is left alone for `audit verify` to report.
pub async fn reseal(db: &Db, keys: &Keyring) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    super::chain::lock_for_write(&mut tx).await?;
    let row: HeadRow = sqlx::query_as(SELECT_HEAD).fetch_one(&mut *tx).await?;
    let current = keys.current();
    let seal = match row.head_seal(keys) {
        // Re-MACed where it is, under the current key.
        Seal::Valid => row.sealed_seq.zip(row.sealed_hash.clone()),
        Seal::NotNeeded => None,
        Seal::Missing => {
            tracing::warn!(
                last_seq = row.last_seq,
                "the audit head had no MAC: authenticated now (expected once, at the first start \
                 after the upgrade that added it; seen again, the database was altered)"
            );
            Some((row.last_seq, row.last_hash.clone()))
        }
        other => {
            tracing::error!(seal = ?other, "the audit head's MAC does not check: run `preqstation audit verify`");
            None
        }
    };
    if let Some((seq, hash)) = seal {
        sqlx::query(
            "UPDATE audit_head SET sealed_seq = $1, sealed_hash = $2, head_mac = $3, head_key_id = $4 \
             WHERE id = 1",
        )
        .bind(seq)
        .bind(&hash)
        .bind(head_mac(current, seq, &hash))
        .bind(current.id())
        .execute(&mut *tx)
        .await?;
    }
    let anchor = row.anchor_seal(keys);
    match anchor {
        Seal::NotNeeded => {}
        Seal::Valid | Seal::Missing => {
            if anchor == Seal::Missing {
                tracing::warn!(
                    anchor_seq = row.anchor_seq,
                    "the audit anchor had no MAC: authenticated now (expected once, at the first start \
                     after the upgrade that added it; seen again, the database was altered)"
                );
            }
            sqlx::query("UPDATE audit_head SET anchor_mac = $1, anchor_key_id = $2 WHERE id = 1")
                .bind(anchor_mac(
                    current,
                    row.anchor_seq,
                    &row.anchor_hash,
                    row.anchor_at,
                    row.anchor_entry_at,
                ))
                .bind(current.id())
                .execute(&mut *tx)
                .await?;
        }
        other => {
            tracing::error!(seal = ?other, "the audit anchor's MAC does not check: run `preqstation audit verify`")
        }
    }
    tx.commit().await
}

/// Called by every append under the head's lock, after its entries are
/// written: moves the sealed head to the new end (`seq`, `hash`), but only
/// from a seal that checks and that the chain still reaches (the entry at
/// the sealed seq still has the sealed hash, or retention purged it). A
/// rewound head is thus never re-sealed: the old seal stays as evidence for
/// `audit verify`. A chain never sealed is sealed when it starts from
/// nothing; an install from before the MACs at its next start ([`reseal`]).
/// `row` is the head as the append claimed it ([`CLAIM_HEAD`]); `before`
/// is the (seq, hash) the append started from.
pub async fn advance(
    conn: &mut sqlx::AnyConnection,
    keys: &Keyring,
    row: &HeadRow,
    before: (i64, &str),
    seq: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    let from_here = match (row.sealed_seq, row.sealed_hash.as_deref()) {
        (Some(s), Some(h)) if s == before.0 => h == before.1,
        (Some(s), Some(h)) if s < before.0 => {
            let at: Option<(String,)> =
                sqlx::query_as("SELECT hash FROM audit_events WHERE seq = $1")
                    .bind(s)
                    .fetch_optional(&mut *conn)
                    .await?;
            match at {
                Some((stored,)) => stored == h,
                // Purged by retention: the anchor (MACed) is past it.
                None => s <= row.anchor_seq,
            }
        }
        (None, None) => before.0 == 0,
        _ => false,
    };
    let sealed = match row.head_seal(keys) {
        Seal::Valid => true,
        Seal::NotNeeded | Seal::Missing => row.sealed_seq.is_none() && before.0 == 0,
        Seal::UnknownKey(_) | Seal::Invalid => false,
    };
    if !(from_here && sealed) {
        static LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::error!(
                "the audit log's sealed head does not match the chain: it stays where it was \
                 (run `preqstation audit verify`)"
            );
        }
        return Ok(());
    }
    let key = keys.current();
    sqlx::query(
        "UPDATE audit_head SET sealed_seq = $1, sealed_hash = $2, head_mac = $3, head_key_id = $4 \
         WHERE id = 1",
    )
    .bind(seq)
    .bind(hash)
    .bind(head_mac(key, seq, hash))
    .bind(key.id())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
