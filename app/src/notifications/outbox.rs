//! The outbox: a [`Notice`] becomes one row per (event, recipient, channel)
//! in the caller's transaction, under a unique key, so two instances and
//! restarts never write one twice and what caused it never commits without
//! it. The in-app row is the notification itself; the email row waits for
//! the sender (`mail::sender`). Every event also gets a row in the
//! notification feed, numbered in commit order, that webhook endpoints
//! read with a cursor. The sweep keeps both tables bounded.

use serde::{Deserialize, Serialize};

use super::{Audience, Channel, NoticeKind, KEEP_DAYS};
use crate::types::{AccountId, Timestamp};

/// A token a notification names (never its secret: its 12-character prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    pub id: String,
    pub name: String,
    pub prefix: String,
}

/// What a notification says, stored as JSON with its row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenRef>,
    /// A connected app: its grant's id and its client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<(String, String)>,
    /// The account an administrators' notice is about: id and email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<(String, String)>,
    /// A session, by its public id's first characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// When it happened.
    #[serde(default)]
    pub at: i64,
    /// Why (a revocation's reason, what was reused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who did it, in words ("an administrator", "the server's command line").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Something counted: revoked tokens, the days an expiry warning gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// A yes/no the message depends on (an account enabled again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<bool>,
}

/// Who gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Account(AccountId),
    Admins,
}

/// An event to tell someone about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub to: Recipient,
    pub details: Details,
    /// The event's identity, unique per event: the audit entry's id when
    /// the chain writes it, or a key of the cause (a token's expiry warning).
    pub key: Option<String>,
}

impl Notice {
    /// A notice for `owner` (or, for an administrators' kind, for them).
    pub fn new(kind: NoticeKind, owner: AccountId) -> Self {
        Self {
            kind,
            to: match kind.audience() {
                Audience::Owner => Recipient::Account(owner),
                Audience::Admins => Recipient::Admins,
            },
            details: Details::default(),
            key: None,
        }
    }

    pub fn token(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        self.details.token = Some(TokenRef {
            id: id.into(),
            name: name.into(),
            prefix: prefix.into(),
        });
        self
    }

    pub fn grant(mut self, id: impl Into<String>, client: impl Into<String>) -> Self {
        self.details.grant = Some((id.into(), client.into()));
        self
    }

    pub fn about_account(mut self, id: AccountId, email: impl Into<String>) -> Self {
        self.details.account = Some((id.to_string(), email.into()));
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.details.reason = Some(reason.into());
        self
    }

    pub fn by(mut self, by: impl Into<String>) -> Self {
        self.details.by = Some(by.into());
        self
    }

    pub fn count(mut self, n: i64) -> Self {
        self.details.count = Some(n);
        self
    }

    pub fn flag(mut self, flag: bool) -> Self {
        self.details.flag = Some(flag);
        self
    }

    pub fn ip(mut self, ip: Option<&str>) -> Self {
        self.details.ip = ip.map(str::to_string);
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// Writes `notice` for each recipient and each channel they have on, in
/// the caller's transaction; `key` names the event when the notice has no
/// key of its own. A row already written for that (event, recipient,
/// channel) stays as it is. Returns the rows written.
pub async fn enqueue(
    conn: &mut sqlx::AnyConnection,
    notice: &Notice,
    key: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let recipients: Vec<String> = match &notice.to {
        Recipient::Account(id) => vec![id.to_string()],
        // Every administrator but the account the notice is about.
        Recipient::Admins => {
            sqlx::query_scalar(
                "SELECT id FROM accounts WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1                  ORDER BY id LIMIT 100",
            )
            .bind(notice.details.account.as_ref().map(|(id, _)| id.as_str()).unwrap_or(""))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut details = notice.details.clone();
    if details.at == 0 {
        details.at = now.millis();
    }
    let details = serde_json::to_string(&details).unwrap_or_else(|_| "{}".into());
    let key = notice.key.as_deref().unwrap_or(key);
    let mut written = 0;
    for account in recipients {
        feed(&mut *conn, &account, notice.kind, key, &details, now).await?;
        let choices = super::prefs::choices(&mut *conn, &account, notice.kind).await?;
        for channel in Channel::ALL.iter().copied() {
            if !choices.is_on(notice.kind, channel) {
                continue;
            }
            let state = match channel {
                Channel::InApp => "shown",
                Channel::Email => "pending",
            };
            let done = sqlx::query(
                "INSERT INTO notifications (id, account_id, channel, kind, event_key, details, created_at, state, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7) \
                 ON CONFLICT (event_key, account_id, channel) DO NOTHING",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&account)
            .bind(channel.as_str())
            .bind(notice.kind.as_str())
            .bind(key)
            .bind(&details)
            .bind(now.millis())
            .bind(state)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if done > 0 {
                metrics::counter!("notifications_queued_total", "channel" => channel.as_str())
                    .increment(1);
            }
            written += done;
        }
    }
    Ok(written)
}

/// Adds the event to the notification feed webhooks read (one row per
/// event and recipient, whatever the recipient's channel choices). The
/// number comes from a counter row this transaction holds locked until it
/// commits, so numbers commit in order and a reader's cursor never passes
/// a row still to come.
async fn feed(
    conn: &mut sqlx::AnyConnection,
    account: &str,
    kind: NoticeKind,
    key: &str,
    details: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE notification_feed_head SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq",
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO notification_feed (seq, account_id, kind, event_key, details, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_key, account_id) DO NOTHING",
    )
    .bind(seq)
    .bind(account)
    .bind(kind.as_str())
    .bind(key)
    .bind(details)
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `notice` in a transaction of its own.
pub async fn enqueue_now(
    db: &crate::db::Db,
    notice: &Notice,
    key: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let n = enqueue(&mut tx, notice, key, now).await?;
    tx.commit().await?;
    Ok(n)
}

/// What one sweep of the table did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Rows past [`KEEP_DAYS`].
    pub deleted: u64,
    /// Emails left `sending` by a server that stopped mid-send: failed,
    /// never sent again (at most once).
    pub interrupted: u64,
    /// Emails that waited while this server has no SMTP configuration.
    pub skipped: u64,
}

/// Feed rows are kept this long.
const FEED_KEEP_DAYS: i64 = 30;

/// An email `sending` for longer than this was interrupted by a crash.
const INTERRUPTED_AFTER_MS: i64 = 10 * 60 * 1000;

/// Keeps the table bounded: rows older than [`KEEP_DAYS`] go; an email
/// whose send was interrupted is marked failed; with no SMTP configured
/// (`email_on` false) waiting emails are marked skipped, so configuring it
/// later does not send old news.
pub async fn sweep(
    db: &crate::db::Db,
    email_on: bool,
    now: Timestamp,
) -> Result<Swept, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM notifications WHERE created_at < $1")
        .bind(now.plus_secs(-KEEP_DAYS * 86_400).millis())
        .execute(db)
        .await?
        .rows_affected();
    // Webhook endpoints read the feed within minutes; an endpoint that
    // stopped for longer is disabled after 3 days.
    sqlx::query("DELETE FROM notification_feed WHERE created_at < $1")
        .bind(now.plus_secs(-FEED_KEEP_DAYS * 86_400).millis())
        .execute(db)
        .await?;
    let interrupted = sqlx::query(
        "UPDATE notifications SET state = 'failed', last_error = 'interrupted: the server stopped during the send (not retried: at most once)' \
         WHERE channel = 'email' AND state = 'sending' AND next_attempt_at < $1",
    )
    .bind(now.millis() - INTERRUPTED_AFTER_MS)
    .execute(db)
    .await?
    .rows_affected();
    let skipped = if email_on {
        0
    } else {
        sqlx::query(
            "UPDATE notifications SET state = 'skipped', last_error = 'email is not configured on this server' \
             WHERE channel = 'email' AND state = 'pending'",
        )
        .execute(db)
        .await?
        .rows_affected()
    };
    Ok(Swept {
        deleted,
        interrupted,
        skipped,
    })
}

/// Rows per channel and state, for /metrics.
pub async fn counts(db: &crate::db::Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT channel, state, COUNT(*) FROM notifications GROUP BY channel, state")
        .fetch_all(db)
        .await
}
