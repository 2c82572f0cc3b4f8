//! `preqstation audit verify`: walks the chain from the retention anchor to
//! the head, recomputing every link (keyed with the key each entry names,
//! plain SHA-256 before the keyed start), then checks that the anchor and
//! the head carry the audit key's MACs ([`super::head`]), and, given the
//! retention, that the anchor cut nothing too recent.

use super::chain::{keyed_hash, unkeyed_hash, Canonical};
use crate::{db::Db, keys::Keyring, types::Timestamp};

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The chain from the anchor to the head is intact.
    Intact {
        entries: i64,
        first_seq: i64,
        last_seq: i64,
    },
    /// The entry with this seq was altered (its hash does not match its content).
    Altered { seq: i64 },
    /// Entries are missing before this seq (a gap or a broken link).
    Removed { after_seq: i64, next_seq: i64 },
    /// The newest entries up to the head were removed.
    Truncated { last_present: i64, head: i64 },
    /// An entry at or after the keyed start carries no key: written (or
    /// rewritten) by someone without the audit key.
    Unkeyed { seq: i64 },
    /// An entry names a key the keyring does not have (retired too early,
    /// or a keyring from another installation).
    UnknownKey { seq: i64, key_id: String },
    /// The head (last seq and hash) is not authenticated by the audit key:
    /// rewound, or its MAC cleared or made with an unknown key.
    HeadForged { why: String },
    /// The retention anchor is not authenticated by the audit key: moved,
    /// or its MAC cleared or made with an unknown key.
    AnchorForged { why: String },
    /// The anchor is authentic but cuts entries newer than the retention
    /// allows (the newest purged entry was written at `entry_at`, ms).
    AnchorTooNew { entry_at: i64, retention_days: i64 },
}

/// Walks the chain from the retention anchor to the head as it was when
/// the walk started (a snapshot of `audit_head`), so entries a live server
/// appends meanwhile are neither walked nor mistaken for a truncation; the
/// last hash walked must equal the snapshot's. Entries from `keyed_from`
/// on must be keyed with a key of `keys`.
/// The head and the anchor must carry valid MACs ([`super::head`]).
pub async fn verify(db: &Db, keys: &Keyring, keyed_from: i64) -> Result<Verdict, sqlx::Error> {
    verify_at(db, keys, keyed_from, None, Timestamp::now()).await
}

/// [`verify`], and with `retention_days` also that the anchor cut nothing
/// newer than the retention allows at `now` (`audit verify` passes the
/// configured retention).
pub async fn verify_at(
    db: &Db,
    keys: &Keyring,
    keyed_from: i64,
    retention_days: Option<i64>,
    now: Timestamp,
) -> Result<Verdict, sqlx::Error> {
    use super::head::{HeadRow, Seal, SELECT_HEAD};
    let head: HeadRow = sqlx::query_as(SELECT_HEAD).fetch_one(db).await?;
    let head_seq = head.last_seq;
    let head_hash = head.last_hash.clone();
    let anchor_seq = head.anchor_seq;
    let mut prev = head.anchor_hash.clone();
    // The hash the walk found at the sealed head's seq.
    let mut at_seal: Option<String> = None;
    let mut expected = anchor_seq + 1;
    let mut count = 0;
    let mut after = anchor_seq;
    loop {
        let rows: Vec<StoredEvent> = sqlx::query_as(
            "SELECT seq, id, at, account_id, actor_kind, actor, action, target, outcome, ip, user_agent, request_id, \
             token_prefix, details, security, prev_hash, hash, key_id FROM audit_events WHERE seq > $1 AND seq <= $2 \
             ORDER BY seq LIMIT 1000",
        )
        .bind(after)
        .bind(head_seq)
        .fetch_all(db)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let seq = r.seq;
            if seq != expected || r.prev_hash != prev {
                return Ok(Verdict::Removed {
                    after_seq: expected - 1,
                    next_seq: seq,
                });
            }
            let f = &r.fields;
            let c = Canonical {
                seq,
                id: &r.id,
                at: r.at,
                account_id: r.account_id.as_deref(),
                actor_kind: &f.actor_kind,
                actor: f.actor.as_deref(),
                action: &f.action,
                target: f.target.as_deref(),
                outcome: &f.outcome,
                ip: f.ip.as_deref(),
                user_agent: f.user_agent.as_deref(),
                request_id: f.request_id.as_deref(),
                token_prefix: f.token_prefix.as_deref(),
                details: f.details.as_deref().unwrap_or(""),
                security: f.security,
            };
            let stored = r.hash;
            let key_id = r.key_id;
            let computed = match key_id {
                Some(id) => match keys.get(&id) {
                    Some(key) => keyed_hash(key, &prev, &c),
                    None => return Ok(Verdict::UnknownKey { seq, key_id: id }),
                },
                None if seq >= keyed_from => return Ok(Verdict::Unkeyed { seq }),
                None => unkeyed_hash(&prev, &c),
            };
            if !crate::crypto::constant_time_eq(computed.as_bytes(), stored.as_bytes()) {
                return Ok(Verdict::Altered { seq });
            }
            if Some(seq) == head.sealed_seq {
                at_seal = Some(stored.clone());
            }
            prev = stored;
            expected += 1;
            count += 1;
            after = seq;
        }
    }
    if expected - 1 != head_seq || (count > 0 && prev != head_hash) {
        return Ok(Verdict::Truncated {
            last_present: expected - 1,
            head: head_seq,
        });
    }
    // The entries link up from the anchor to the head: whether the anchor
    // and the head are the server's own is what the MACs say.
    match head.head_seal(keys) {
        Seal::Valid | Seal::NotNeeded => {}
        other => {
            return Ok(Verdict::HeadForged {
                why: describe(&other),
            })
        }
    }
    // The chain must still reach the sealed head, with the same entry there
    // (unless retention purged it): a rewound head fails here even after
    // new entries reused the deleted seqs.
    if let (Some(sealed_seq), Some(sealed_hash)) = (head.sealed_seq, head.sealed_hash.as_deref()) {
        let purged = sealed_seq <= anchor_seq;
        if sealed_seq > head_seq {
            return Ok(Verdict::HeadForged {
                why: format!(
                    "it was sealed at entry {sealed_seq}, but the chain ends at {head_seq}"
                ),
            });
        }
        if !purged && at_seal.as_deref() != Some(sealed_hash) {
            return Ok(Verdict::HeadForged {
                why: format!("entry {sealed_seq} is not the one that was sealed"),
            });
        }
    }
    match head.anchor_seal(keys) {
        Seal::Valid | Seal::NotNeeded => {}
        other => {
            return Ok(Verdict::AnchorForged {
                why: describe(&other),
            })
        }
    }
    if let (Some(entry_at), Some(retention_days)) = (head.anchor_entry_at, retention_days) {
        if entry_at >= now.millis() - retention_days * 86_400_000 {
            return Ok(Verdict::AnchorTooNew {
                entry_at,
                retention_days,
            });
        }
    }

    Ok(Verdict::Intact {
        entries: count,
        first_seq: anchor_seq + 1,
        last_seq: head_seq,
    })
}

fn describe(seal: &super::head::Seal) -> String {
    use super::head::Seal;
    match seal {
        Seal::Missing => "it has no MAC".into(),
        Seal::UnknownKey(id) => format!("its MAC names key {id}, which is not in the keyring"),
        Seal::Invalid => "its MAC does not match".into(),
        Seal::Valid | Seal::NotNeeded => "it checks".into(),
    }
}

/// An entry as `audit_events` stores it, read back for verification.
#[derive(sqlx::FromRow)]
struct StoredEvent {
    seq: i64,
    id: String,
    at: i64,
    account_id: Option<String>,
    #[sqlx(flatten)]
    fields: super::chain::StoredFields,
    prev_hash: String,
    hash: String,
    key_id: Option<String>,
}
