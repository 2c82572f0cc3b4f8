//! Authenticating a presented task token: its shape and checksum, then one
//! statement that reads it with its account, its task and its subject (the
//! API key or OAuth grant it was exchanged from), so whatever ended any of
//! them ends it on this very request. Not batched like API keys: task tokens
//! are a small share of the traffic and this read joins three more rows.

use crate::{
    config::Config,
    db::Db,
    projects::Reach,
    tokens::{
        allowlist::IpAllowlist,
        format::{self, FormatError},
        last_use::{self, RecentWrites},
        service::{AuthFailure, Authenticated, Identified},
        Scope,
    },
    types::{AccountId, Timestamp},
};

/// What a task token is bound to: its task, and the subject it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskBinding {
    pub task_id: String,
    /// The subject's id: the API key's, or the OAuth grant's.
    pub subject_id: String,
    pub subject_prefix: String,
    /// The API key's name, or the OAuth client's.
    pub subject_name: String,
    pub subject_oauth: bool,
    /// The subject (an API key) holds a usage limit: the task token's calls
    /// count against it too.
    pub subject_limited: bool,
}

impl TaskBinding {
    /// The actor chain of a call by task token `prefix`, nested as RFC 8693
    /// section 4.1 nests `act`: the task token, within it the subject it
    /// acts for, and within that the subject's OAuth client where there is
    /// one.
    pub fn act(&self, prefix: &str) -> serde_json::Value {
        let mut subject = serde_json::json!({
            "sub": self.subject_prefix,
            "name": self.subject_name,
        });
        if self.subject_oauth {
            subject["act"] = serde_json::json!({ "client": self.subject_name });
        }
        serde_json::json!({ "sub": prefix, "task_id": self.task_id, "act": subject })
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    account_id: String,
    prefix: String,
    task_id: String,
    subject_token_id: Option<String>,
    subject_grant_id: Option<String>,
    subject_prefix: String,
    subject_name: String,
    scopes: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    usage_limited: i64,
    email: String,
    disabled_at: Option<i64>,
    task_status: String,
    key_revoked_at: Option<i64>,
    key_expires_at: Option<i64>,
    key_rotated_to: Option<String>,
    key_allowed_ips: Option<String>,
    key_limited: i64,
    grant_found: i64,
    grant_revoked_at: Option<i64>,
}

const SELECT: &str = "SELECT c.id, c.account_id, c.prefix, c.task_id, c.subject_token_id, \
        c.subject_grant_id, c.subject_prefix, c.subject_name, c.scopes, c.created_at, c.expires_at, \
        c.revoked_at, c.last_used_at, c.last_used_ip, \
        CASE WHEN c.usage_remaining IS NULL THEN 0 ELSE 1 END AS usage_limited, \
        a.email, a.disabled_at, k.status AS task_status, \
        p.revoked_at AS key_revoked_at, p.expires_at AS key_expires_at, \
        p.rotated_to AS key_rotated_to, p.allowed_ips AS key_allowed_ips, \
        CASE WHEN p.usage_remaining IS NULL THEN 0 ELSE 1 END AS key_limited, \
        CASE WHEN g.id IS NULL THEN 0 ELSE 1 END AS grant_found, g.revoked_at AS grant_revoked_at \
     FROM task_tokens c JOIN accounts a ON a.id = c.account_id \
     JOIN tasks k ON k.id = c.task_id AND k.account_id = c.account_id \
     LEFT JOIN api_tokens p ON p.id = c.subject_token_id \
     LEFT JOIN oauth_grants g ON g.id = c.subject_grant_id \
     WHERE c.token_hash = $1";

impl Row {
    /// Whether the token no longer works: its own revocation, its account
    /// disabled, its task done, or its subject ended.
    fn ended(&self, now: Timestamp) -> bool {
        let subject_ended = match (&self.subject_token_id, &self.subject_grant_id) {
            (Some(_), _) => {
                self.key_revoked_at.is_some()
                    || self.key_rotated_to.is_some()
                    || self.key_expires_at.is_some_and(|e| e <= now.millis())
            }
            _ => self.grant_found == 0 || self.grant_revoked_at.is_some(),
        };
        self.revoked_at.is_some()
            || self.disabled_at.is_some()
            || self.task_status == "done"
            || subject_ended
    }
}

/// The row of the task token `presented` names, read with everything that
/// can end it; why not when it is malformed or unknown.
async fn read(
    db: &Db,
    config: &Config,
    presented: &str,
) -> Result<Result<Row, AuthFailure>, sqlx::Error> {
    let secret = match format::parse(&super::prefix(&config.token_prefix), presented) {
        Ok(s) => s,
        Err(FormatError::Malformed) => return Ok(Err(AuthFailure::Malformed)),
        Err(FormatError::BadChecksum) => return Ok(Err(AuthFailure::BadChecksum)),
    };
    let row: Option<Row> = sqlx::query_as(SELECT)
        .bind(secret.hash())
        .fetch_optional(db)
        .await?;
    Ok(row.ok_or(AuthFailure::Unknown))
}

/// Why the token of `row` does not work at `now`, or `None` when it does.
fn refusal(row: &Row, now: Timestamp) -> Option<AuthFailure> {
    let ended = row.ended(now);
    if !ended && row.expires_at > now.millis() {
        return None;
    }
    Some(AuthFailure::ended_or_expired(
        ended,
        (&row.prefix, &row.account_id, &row.id),
        Timestamp(row.expires_at),
    ))
}

/// The task token `presented` names when it works at `now` (the read and
/// rules of [`authenticate`], recording no use); `None` for anything else.
pub async fn identify(
    db: &Db,
    config: &Config,
    presented: &str,
    now: Timestamp,
) -> Result<Option<Identified>, sqlx::Error> {
    let Ok(row) = read(db, config, presented).await? else {
        return Ok(None);
    };
    if refusal(&row, now).is_some() {
        return Ok(None);
    }
    Ok(AccountId::parse(&row.account_id).map(|owner| Identified {
        name: format!("task token of {}", row.subject_name),
        id: row.id,
        owner,
        prefix: row.prefix,
    }))
}

/// Checks a presented task token (see the module documentation) and keeps
/// its last use on the shared interval.
pub async fn authenticate(
    db: &Db,
    config: &Config,
    recent: &RecentWrites,
    presented: &str,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<Result<Authenticated, AuthFailure>, sqlx::Error> {
    let row = match read(db, config, presented).await? {
        Ok(row) => row,
        Err(failure) => return Ok(Err(failure)),
    };
    if let Some(failure) = refusal(&row, now) {
        return Ok(Err(failure));
    }
    let (prefix, account) = (row.prefix.clone(), row.account_id.clone());
    let Some(account_id) = AccountId::parse(&account) else {
        return Ok(Err(AuthFailure::Unknown));
    };
    last_use::record(
        db,
        recent,
        (last_use::Table::TaskTokens, &row.id),
        (row.last_used_at, row.last_used_ip.as_deref()),
        ip,
        now.millis(),
    )
    .await?;
    let subject_oauth = row.subject_grant_id.is_some();
    let subject_id = row
        .subject_token_id
        .clone()
        .or(row.subject_grant_id.clone())
        .unwrap_or_default();
    Ok(Ok(Authenticated {
        reach: Reach::task(account_id, &row.id, &row.task_id),
        token_id: row.id,
        account_id,
        account_email: row.email,
        name: format!("task token of {}", row.subject_name),
        prefix,
        scopes: Scope::split(&row.scopes),
        created_at: Timestamp(row.created_at),
        expires_at: Some(Timestamp(row.expires_at)),
        new_ip: false,
        oauth: false,
        // The subject's allowlist, as it is now.
        allowed_ips: IpAllowlist::from_stored(row.key_allowed_ips.as_deref()),
        limited: row.usage_limited != 0,
        usage_remaining: None,
        task: Some(TaskBinding {
            task_id: row.task_id,
            subject_id,
            subject_prefix: row.subject_prefix,
            subject_name: row.subject_name,
            subject_oauth,
            subject_limited: row.key_limited != 0,
        }),
        ci: None,
    }))
}
