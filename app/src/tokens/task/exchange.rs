//! The exchange rule (RFC 8693): an authenticated subject holding
//! `tokens:delegate` asks for a token confined to one task of its reach,
//! with some of its scopes, for minutes. The door (`oauth::http::token`)
//! authenticates the subject through `bearer::check` and maps a
//! [`Refusal`] to the RFC's error codes.

use serde_json::Value;

use super::{DEFAULT_TTL_SECS, DETAILS_TYPE, MAX_LIVE_PER_SUBJECT};
use crate::{
    audit::{AuditAction, NewEvent},
    config::Config,
    db::Db,
    tasks::{self, TaskStatus},
    tokens::{
        format::{self, TokenSecret},
        limit::UsageLimit,
        operation::{Denied, Operation},
        policy,
        service::Authenticated,
        Scope,
    },
    types::{Lookup, Timestamp},
};

/// What the exchange asks for, as the request carried it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Request<'a> {
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
    /// RFC 9396 `authorization_details`, a JSON array.
    pub authorization_details: Option<&'a str>,
    /// Seconds (an extension of this server).
    pub expires_in: Option<&'a str>,
    /// Calls the task token may make (an extension of this server).
    pub usage_limit: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// Why an exchange is refused, by what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself, or the subject token: revoked, expired, without
    /// `tokens:delegate`, a task token, over its count of live task tokens.
    Request(String),
    /// A `client_id` that is not the subject's client.
    Client(String),
    Scope(String),
    Target(String),
    /// The task: unknown, another owner's, outside the subject's projects,
    /// or done.
    Task(String),
    /// The database failed (logged).
    Unavailable,
}

/// A task token, issued: its secret is shown to the caller once.
#[derive(Debug)]
pub struct Exchanged {
    pub token: TokenSecret,
    pub id: String,
    pub expires_in: i64,
    pub scopes: Vec<Scope>,
    pub task_id: String,
    pub project_id: String,
}

fn db(e: sqlx::Error) -> Refusal {
    tracing::error!(error = %e, "token exchange: database error");
    Refusal::Unavailable
}

/// The one task `authorization_details` names.
fn task_id(details: Option<&str>) -> Result<String, Refusal> {
    let bad = |m: &str| Refusal::Task(m.to_string());
    let details = details.ok_or_else(|| {
        bad(r#"authorization_details is required: [{"type":"preqstation_task","task_id":"..."}]."#)
    })?;
    let value: Value =
        serde_json::from_str(details).map_err(|_| bad("authorization_details is not JSON."))?;
    let [entry] = value.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(bad(
            "authorization_details must be an array of exactly one entry.",
        ));
    };
    if entry["type"] != DETAILS_TYPE {
        return Err(bad(
            "The only authorization_details type is preqstation_task.",
        ));
    }
    let id = entry["task_id"].as_str().unwrap_or_default();
    uuid::Uuid::parse_str(id).map_err(|_| bad("task_id must be a task's id (a UUID)."))?;
    Ok(id.to_string())
}

/// The scopes asked for: some of the subject's, of those a task token can
/// have; none asked: all of those the subject holds.
fn scopes(asked: Option<&str>, subject: &[Scope]) -> Result<Vec<Scope>, Refusal> {
    let grantable: Vec<Scope> = Scope::TASK
        .into_iter()
        .filter(|s| subject.contains(s))
        .collect();
    let words: Vec<&str> = asked.unwrap_or_default().split_whitespace().collect();
    if words.is_empty() {
        if grantable.is_empty() {
            return Err(Refusal::Scope(
                "The subject token holds none of the scopes a task token can have.".into(),
            ));
        }
        return Ok(grantable);
    }
    let mut out = Vec::new();
    for w in words {
        match Scope::parse(w) {
            Some(s) if grantable.contains(&s) => out.push(s),
            Some(_) => {
                return Err(Refusal::Scope(format!(
                    "{w} is not the subject token's to give, or not a task token's."
                )))
            }
            None => return Err(Refusal::Scope(format!("Unknown scope {w:?}."))),
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Mints a task token for `subject` (authenticated on this request).
/// `base` is the door's audit entry (request id, IP, User-Agent).
pub async fn exchange(
    db_pool: &Db,
    config: &Config,
    subject: &Authenticated,
    request: Request<'_>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Exchanged, Refusal> {
    if subject.task.is_some() {
        return Err(Refusal::Request(
            "A task-scoped token cannot be exchanged again.".into(),
        ));
    }
    if let Err(Denied::Scope(_) | Denied::OutsideTask) = subject.allow(Operation::ExchangeToken) {
        return Err(Refusal::Request(
            "The subject token does not hold tokens:delegate.".into(),
        ));
    }
    if let (true, Some(client)) = (subject.oauth, request.client_id) {
        let owner: Option<(String,)> =
            sqlx::query_as("SELECT client_id FROM oauth_grants WHERE id = $1")
                .bind(&subject.token_id)
                .fetch_optional(db_pool)
                .await
                .map_err(db)?;
        if owner.is_none_or(|(c,)| c != client) {
            return Err(Refusal::Client(
                "client_id is not the subject token's client.".into(),
            ));
        }
    }
    if let Some(r) = request.resource {
        if !crate::oauth::resources(config).iter().any(|x| x == r) {
            return Err(Refusal::Target("Unknown resource.".into()));
        }
    }
    let task_id = task_id(request.authorization_details)?;
    let task = match tasks::service::get(db_pool, &subject.reach, &task_id)
        .await
        .map_err(db)?
    {
        Lookup::Found(t) if t.status == TaskStatus::Done => {
            return Err(Refusal::Task("The task is done.".into()))
        }
        Lookup::Found(t) => t,
        Lookup::OtherOwner | Lookup::Missing => {
            return Err(Refusal::Task(
                "No such task within the subject token's reach.".into(),
            ))
        }
    };
    let scopes = scopes(request.scope, &subject.scopes)?;
    let usage =
        UsageLimit::from_input(request.usage_limit, None, None).map_err(Refusal::Request)?;
    let max_secs = policy::load(db_pool)
        .await
        .map_err(db)?
        .task_token_max_minutes
        * 60;
    let mut ttl = match request.expires_in.map(str::trim) {
        None | Some("") => DEFAULT_TTL_SECS,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(Refusal::Request(
                    "expires_in must be a positive number of seconds.".into(),
                ))
            }
        },
    }
    .min(max_secs);
    if let Some(end) = subject.expires_at {
        ttl = ttl.min((end.millis() - now.millis()) / 1000);
    }
    if ttl <= 0 {
        return Err(Refusal::Request("The subject token expires now.".into()));
    }
    let secret = format::generate(&super::prefix(&config.token_prefix)).map_err(|e| {
        tracing::error!(error = %e, "token exchange: no randomness");
        Refusal::Unavailable
    })?;
    let id = uuid::Uuid::now_v7().to_string();
    let expires_at = now.plus_secs(ttl);
    let binding = if subject.oauth {
        "subject_grant_id"
    } else {
        "subject_token_id"
    };
    let mut tx = db_pool.begin().await.map_err(db)?;
    // Serialises exchanges per owner (so the count below is exact) and makes
    // this a writer from its first statement on SQLite.
    crate::accounts::lock_row(&mut tx, subject.account_id)
        .await
        .map_err(db)?;
    let live: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) AS n FROM task_tokens WHERE {binding} = $1 AND revoked_at IS NULL AND expires_at > $2"
    ))
    .bind(&subject.token_id)
    .bind(now.millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if live >= MAX_LIVE_PER_SUBJECT {
        return Err(Refusal::Request(format!(
            "The subject token already has {live} live task tokens, the most allowed; revoke some or let them expire."
        )));
    }
    let (limit, remaining) = (usage.map(|u| u.limit), usage.map(|u| u.limit));
    sqlx::query(&format!(
        "INSERT INTO task_tokens (id, account_id, token_hash, prefix, task_id, project_id, {binding}, \
         subject_prefix, subject_name, scopes, created_at, expires_at, usage_limit, usage_remaining) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&id)
    .bind(subject.account_id.to_string())
    .bind(secret.hash())
    .bind(secret.display_prefix())
    .bind(&task.id)
    .bind(&task.project_id)
    .bind(&subject.token_id)
    .bind(&subject.prefix)
    .bind(&subject.name)
    .bind(Scope::join(&scopes))
    .bind(now.millis())
    .bind(expires_at.millis())
    .bind(limit)
    .bind(remaining)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("INSERT INTO token_projects (token_id, project_id) VALUES ($1, $2)")
        .bind(&id)
        .bind(&task.project_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let event = base
        .with_action(AuditAction::TaskTokenIssued)
        .account(subject.account_id)
        .actor(subject.prefix.clone())
        .token(subject.prefix.clone())
        .target(secret.display_prefix())
        .detail("task_id", &task.id)
        .detail("scopes", Scope::join(&scopes))
        .detail("expires_at", expires_at.rfc3339())
        .detail("usage_limit", limit);
    crate::audit::chain::append(&mut tx, &config.keys, &[event], now)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Exchanged {
        token: secret,
        id,
        expires_in: ttl,
        scopes,
        task_id: task.id,
        project_id: task.project_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_name_exactly_one_task() {
        let id = "0192f0c1-0000-7000-8000-000000000001";
        let ok = format!(r#"[{{"type":"preqstation_task","task_id":"{id}"}}]"#);
        assert_eq!(task_id(Some(&ok)), Ok(id.to_string()));
        for bad in [
            "",
            "{}",
            "[]",
            r#"[{"type":"other","task_id":"x"}]"#,
            r#"[{"type":"preqstation_task","task_id":"not-a-uuid"}]"#,
            &format!("{ok},{ok}"),
        ] {
            assert!(matches!(task_id(Some(bad)), Err(Refusal::Task(_))), "{bad}");
        }
        assert!(task_id(None).is_err());
    }

    #[test]
    fn scopes_are_the_subjects_and_a_task_tokens() {
        let subject = [Scope::TasksRead, Scope::TasksWrite, Scope::TokensDelegate];
        assert_eq!(
            scopes(None, &subject),
            Ok(vec![Scope::TasksRead, Scope::TasksWrite])
        );
        assert_eq!(
            scopes(Some("tasks:read"), &subject),
            Ok(vec![Scope::TasksRead])
        );
        assert!(scopes(Some("tokens:delegate"), &subject).is_err());
        assert!(scopes(Some("worklogs:write"), &subject).is_err());
        assert!(scopes(None, &[Scope::TokensDelegate]).is_err());
    }
}
