//! Rotation families. A token and the tokens rotated from it (and into it)
//! are one family: revoking any of them revokes every member still working,
//! so a stolen token with `tokens:rotate-self` cannot mint a successor that
//! outlives the owner's revocation. A retired predecessor that calls
//! `POST /api/tokens/self/rotate` has the family revoked (reuse detection,
//! narrowed to the rotate endpoint as GitLab did).

use crate::{
    audit::NewEvent,
    notifications::{outbox::Notice, NoticeKind},
    types::{AccountId, Timestamp},
};

/// Rotation chains longer than this are not followed (a guard, not a limit
/// anyone reaches: each rotation ends the previous grace).
const MAX_HOPS: usize = 1_000;

/// The family members of `id` that are not revoked yet, other than `id`:
/// every successor (transitively) and every predecessor. The walk goes
/// through revoked members (A revoked, B working).
pub async fn working_relatives(
    conn: &mut sqlx::AnyConnection,
    owner: AccountId,
    id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    const SUCCESSOR: &str = "SELECT s.id, s.revoked_at FROM api_tokens t \
         JOIN api_tokens s ON s.id = t.rotated_to WHERE t.id = $1 AND t.account_id = $2";
    const PREDECESSOR: &str =
        "SELECT p.id, p.revoked_at FROM api_tokens p WHERE p.rotated_to = $1 AND p.account_id = $2";
    let mut working = Vec::new();
    for sql in [SUCCESSOR, PREDECESSOR] {
        let mut current = id.to_string();
        for _ in 0..MAX_HOPS {
            let Some((member, revoked_at)): Option<(String, Option<i64>)> = sqlx::query_as(sql)
                .bind(&current)
                .bind(owner.to_string())
                .fetch_optional(&mut *conn)
                .await?
            else {
                break;
            };
            current = member;
            if revoked_at.is_none() {
                working.push(current.clone());
            }
        }
    }
    Ok(working)
}

/// Who revokes and why: the revoked rows and their audit entries say it.
#[derive(Clone, Copy)]
pub struct Revocation<'a> {
    /// The account that revoked (none: the server, e.g. reuse detection).
    pub by: Option<AccountId>,
    pub reason: &'a str,
    /// The audit entry each revocation's entry is built from.
    pub base: &'a NewEvent,
}

/// Revokes `ids` (members of one family) with one audit entry each, on the
/// caller's transaction. Returns how many were revoked.
pub async fn revoke_members(
    conn: &mut sqlx::AnyConnection,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    ids: &[String],
    why: Revocation<'_>,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let Revocation { by, reason, base } = why;
    let mut events = Vec::new();
    for id in ids {
        let row: Option<super::revoke::RevokedRow> = sqlx::query_as(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = $3 \
             WHERE id = $4 AND account_id = $5 AND revoked_at IS NULL RETURNING prefix, name",
        )
        .bind(now.millis())
        .bind(by.map(|b| b.to_string()))
        .bind(reason)
        .bind(id)
        .bind(owner.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = row {
            let event = super::revoke::revoked_event(base, owner, &row, reason);
            // Revoked by an administrator: the owner is told.
            events.push(match reason {
                "revoked_by_admin" => event.notify(
                    Notice::new(NoticeKind::CredentialRevoked, owner)
                        .token(id, &row.name, &row.prefix)
                        .reason(reason)
                        .by(match by {
                            Some(_) => "an administrator",
                            None => "an administrator, on the server's command line",
                        }),
                ),
                _ => event,
            });
        }
    }
    crate::audit::chain::append(conn, keys, &events, now).await?;
    Ok(events.len() as u64)
}

/// A retired predecessor tried to rotate: revoke its whole family and
/// record why. Returns how many tokens were revoked.
pub async fn revoke_on_reuse(
    db: &crate::db::Db,
    keys: &crate::keys::Keyring,
    owner: AccountId,
    retired_id: &str,
    base: &NewEvent,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    crate::accounts::lock_row(&mut tx, owner).await?;
    let members = working_relatives(&mut tx, owner, retired_id).await?;
    let n = revoke_members(
        &mut tx,
        keys,
        owner,
        &members,
        Revocation {
            by: None,
            reason: "reuse_detected",
            base,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// How many other working tokens revoking `id` would end (the revoke
/// dialog says so).
pub async fn revoke_preview(
    db: &crate::db::Db,
    owner: AccountId,
    id: &str,
) -> Result<u64, sqlx::Error> {
    let mut conn = db.acquire().await?;
    Ok(working_relatives(&mut conn, owner, id).await?.len() as u64)
}
