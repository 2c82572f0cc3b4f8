//! The exchange rule both grants call (RFC 8693 token exchange with an ID
//! token as the subject, RFC 7523's JWT-bearer grant): the audience names
//! the rule; the token must be the rule's issuer's, verified, within its
//! time, never seen before (`iss`, `jti`: across instances, through the
//! database), and its claims must satisfy the rule. Then a CI token is
//! minted under the rule, the owner's, audited with the CI identity as the
//! actor. A refusal of a known rule is audited for its owner.

use serde_json::{Map, Value};

use super::{
    audience, conditions, prefix,
    rules::{self, RuleRow},
    verify, AUDIENCE_PATH, MAX_LIVE_PER_RULE,
};
use crate::{
    audit::{AuditAction, NewEvent, Outcome},
    state::AppState,
    tokens::{
        format::{self, TokenSecret},
        Scope,
    },
    types::Timestamp,
};

/// What the exchange asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// Narrower scopes than the rule's (space-separated).
    pub scope: Option<&'a str>,
    /// A shorter lifetime than the rule's, seconds.
    pub expires_in: Option<&'a str>,
}

/// Why an exchange is refused. Each door maps `Invalid` to its RFC's code
/// (`invalid_request` under RFC 8693, `invalid_grant` under RFC 7523).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid(String),
    Scope(String),
    /// Too many exchanges for the rule; retry after this many seconds.
    Throttled(u64),
    Unavailable,
}

/// A CI token, issued: its secret is shown to the caller once.
#[derive(Debug)]
pub struct Issued {
    pub token: TokenSecret,
    pub expires_in: i64,
    pub scopes: Vec<Scope>,
    pub rule_id: String,
    pub actor: String,
}

fn db(e: sqlx::Error) -> Refusal {
    tracing::error!(error = %e, "federation exchange: database error");
    Refusal::Unavailable
}

/// The claims that identify a CI run, as far as the token has them.
const IDENTITY: [&str; 20] = [
    "iss",
    "sub",
    "repository",
    "repository_id",
    "project_path",
    "project_id",
    "ref",
    "sha",
    "environment",
    "event_name",
    "pipeline_source",
    "workflow_ref",
    "run_id",
    "run_attempt",
    "pipeline_id",
    "job_id",
    "actor",
    "user_login",
    "runner_environment",
    "jti",
];

/// The CI identity of `claims`: the claims kept, and one line for the
/// audit log's actor (`repo@ref run N (issuer host)`).
pub fn identity(claims: &Map<String, Value>) -> (Value, String) {
    let mut kept = Map::new();
    for c in IDENTITY {
        if let Some(v) = conditions::claim_text(claims, c) {
            kept.insert(c.to_string(), Value::String(crate::audit::cut(&v)));
        }
    }
    let text = |c: &str| conditions::claim_text(claims, c);
    let what = text("repository")
        .or_else(|| text("project_path"))
        .or_else(|| text("sub"))
        .unwrap_or_else(|| "?".into());
    let mut line = what;
    if let Some(r) = text("ref") {
        line.push('@');
        line.push_str(&r);
    }
    if let Some(run) = text("run_id").or_else(|| text("pipeline_id")) {
        line.push_str(&format!(" run {run}"));
    }
    let host = text("iss")
        .and_then(|i| url::Url::parse(&i).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    (
        Value::Object(kept),
        crate::audit::cut(&format!("{line} ({host})")),
    )
}

/// The rule `subject`'s audience names on this server, if any.
fn rule_id(public_url: &str, audiences: &[String]) -> Option<String> {
    let base = audience(public_url, "");
    audiences.iter().find_map(|a| {
        let id = a.strip_prefix(&base)?;
        (uuid::Uuid::parse_str(id).is_ok()).then(|| id.to_string())
    })
}

/// The scopes asked for: some of the rule's; none asked: all of them.
fn scopes(asked: Option<&str>, rule: &[Scope]) -> Result<Vec<Scope>, Refusal> {
    let words: Vec<&str> = asked.unwrap_or_default().split_whitespace().collect();
    if words.is_empty() {
        return Ok(rule.to_vec());
    }
    let mut out = Vec::new();
    for w in words {
        match Scope::parse(w) {
            Some(s) if rule.contains(&s) => out.push(s),
            _ => {
                return Err(Refusal::Scope(format!(
                    "{w} is not among the rule's scopes."
                )))
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Trades the ID token `subject` for a CI token. `base` is the door's
/// audit entry (request id, IP, User-Agent, actor kind `ci`).
pub async fn exchange(
    state: &AppState,
    subject: &str,
    request: Request<'_>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Issued, Refusal> {
    let seen = verify::peek(subject).map_err(Refusal::Invalid)?;
    let public = &state.config.public_url;
    let Some(rule_id) = rule_id(public, &seen.audiences) else {
        return Err(Refusal::Invalid(format!(
            "The ID token's audience names no trust rule of this server ({}{AUDIENCE_PATH}<rule id>).",
            public.trim_end_matches('/')
        )));
    };
    let rule = match rules::load(&state.db, &rule_id).await.map_err(db)? {
        Some(r) if r.disabled_at.is_none() => r,
        _ => {
            return Err(Refusal::Invalid(
                "No enabled trust rule has this audience.".into(),
            ))
        }
    };
    if let Some(wait) = state.limits.federation.check(&rule.id).retry_after_secs {
        metrics::counter!("rate_limited_total", "limit" => "federation").increment(1);
        return Err(Refusal::Throttled(wait));
    }
    match checked(state, &rule, subject, seen.issuer.as_deref(), now).await {
        Ok(claims) => issue(state, &rule, &claims, request, base, now).await,
        Err(Refusal::Invalid(why)) => {
            refused(state, &rule, base, &why, None).await;
            Err(Refusal::Invalid(why))
        }
        Err(other) => Err(other),
    }
}

/// The ID token verified against `rule`: issuer, signature, times, claims.
async fn checked(
    state: &AppState,
    rule: &RuleRow,
    subject: &str,
    issuer: Option<&str>,
    now: Timestamp,
) -> Result<Map<String, Value>, Refusal> {
    if issuer != Some(rule.issuer.as_str()) {
        return Err(Refusal::Invalid(
            "The ID token's issuer is not the rule's.".into(),
        ));
    }
    let aud = audience(&state.config.public_url, &rule.id);
    let claims = verify::verify(
        &state.federation,
        &state.config,
        subject,
        &rule.issuer,
        &aud,
        now,
    )
    .await
    .map_err(Refusal::Invalid)?;
    if let Some(why) =
        conditions::mismatch(&rule.conditions(), rule.allow_fork_events != 0, &claims)
    {
        return Err(Refusal::Invalid(why));
    }
    if conditions::claim_text(&claims, "jti").is_none_or(|j| j.is_empty() || j.len() > 256) {
        return Err(Refusal::Invalid(
            "The ID token has no usable jti claim.".into(),
        ));
    }
    Ok(claims)
}

/// Audits a refused exchange for the rule's owner (a security event).
async fn refused(
    state: &AppState,
    rule: &RuleRow,
    base: &NewEvent,
    why: &str,
    claims: Option<&Map<String, Value>>,
) {
    tracing::info!(rule = %rule.id, reason = why, "federation exchange refused");
    let mut event = base
        .with_action(AuditAction::FederatedExchangeRefused)
        .account(&rule.account_id)
        .actor(format!("ci ({})", rule.issuer))
        .target(&rule.id)
        .detail("reason", why)
        .security(true);
    event.outcome = Outcome::Failure;
    if let Some(claims) = claims {
        let (identity, actor) = identity(claims);
        event = event.actor(actor).detail("ci", identity);
    }
    state.audit.push(event).await;
}

/// Mints the token for verified `claims` under `rule`, in one transaction
/// with the replay record and the audit entry.
async fn issue(
    state: &AppState,
    rule: &RuleRow,
    claims: &Map<String, Value>,
    request: Request<'_>,
    base: &NewEvent,
    now: Timestamp,
) -> Result<Issued, Refusal> {
    let scopes = scopes(request.scope, &Scope::split(&rule.scopes))?;
    let ttl = match request.expires_in.map(str::trim) {
        None | Some("") => rule.ttl_secs,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => n.min(rule.ttl_secs),
            _ => {
                return Err(Refusal::Invalid(
                    "expires_in must be a positive number of seconds.".into(),
                ))
            }
        },
    };
    let (identity, actor) = identity(claims);
    let jti = conditions::claim_text(claims, "jti").unwrap_or_default();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let secret = format::generate(&prefix(&state.config.token_prefix)).map_err(|e| {
        tracing::error!(error = %e, "federation exchange: no randomness");
        Refusal::Unavailable
    })?;
    let id = uuid::Uuid::now_v7().to_string();
    let expires_at = now.plus_secs(ttl);
    let mut tx = state.db.begin().await.map_err(db)?;
    // A writer from its first statement (SQLite), and exact across
    // instances: the second insert of one (iss, jti) finds the first.
    let fresh = sqlx::query(
        "INSERT INTO federation_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&rule.issuer)
    .bind(&jti)
    .bind((exp + verify::SKEW_SECS as i64) * 1000)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    if fresh == 0 {
        drop(tx);
        let why = "The ID token was already exchanged (its jti was seen before).";
        refused(state, rule, base, why, Some(claims)).await;
        return Err(Refusal::Invalid(why.into()));
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM federated_tokens WHERE rule_id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(&rule.id)
    .bind(now.millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if live >= MAX_LIVE_PER_RULE {
        return Err(Refusal::Invalid(format!(
            "The rule already has {live} live tokens, the most allowed; let some expire."
        )));
    }
    sqlx::query(
        "INSERT INTO federated_tokens (id, account_id, rule_id, token_hash, prefix, scopes, identity, actor, \
         created_at, expires_at, usage_limit, usage_remaining) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&id)
    .bind(&rule.account_id)
    .bind(&rule.id)
    .bind(secret.hash())
    .bind(secret.display_prefix())
    .bind(Scope::join(&scopes))
    .bind(identity.to_string())
    .bind(&actor)
    .bind(now.millis())
    .bind(expires_at.millis())
    .bind(rule.usage_limit)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("UPDATE federation_rules SET last_exchange_at = $1 WHERE id = $2")
        .bind(now.millis())
        .bind(&rule.id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let event = base
        .with_action(AuditAction::FederatedTokenIssued)
        .account(&rule.account_id)
        .actor(&actor)
        .token(secret.display_prefix())
        .target(&rule.id)
        .detail("rule", &rule.name)
        .detail("ci", &identity)
        .detail("scopes", Scope::join(&scopes))
        .detail("expires_at", expires_at.rfc3339())
        .detail("usage_limit", rule.usage_limit);
    crate::audit::chain::append(&mut tx, &state.config.keys, &[event], now)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    metrics::counter!("federated_tokens_issued_total").increment(1);
    tracing::info!(rule = %rule.id, ci = %actor, "CI token issued");
    Ok(Issued {
        token: secret,
        expires_in: ttl,
        scopes,
        rule_id: rule.id.clone(),
        actor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_audience_names_a_rule_of_this_server() {
        let id = "0192f0c1-0000-7000-8000-000000000001";
        let aud = |s: &str| vec![s.to_string()];
        assert_eq!(
            rule_id(
                "https://p.example/",
                &aud(&format!("https://p.example/federation/{id}"))
            ),
            Some(id.to_string())
        );
        assert_eq!(
            rule_id("https://p.example", &aud("https://p.example/federation/x")),
            None
        );
        assert_eq!(
            rule_id(
                "https://p.example",
                &aud(&format!("https://other/federation/{id}"))
            ),
            None
        );
    }

    #[test]
    fn the_identity_line_names_repository_ref_and_run() {
        let claims: Map<String, Value> = serde_json::from_value(json!({
            "iss": "https://token.actions.githubusercontent.com",
            "repository": "octo-org/octo-repo", "ref": "refs/heads/main", "run_id": "42",
            "secret_claim": "x",
        }))
        .unwrap();
        let (kept, line) = identity(&claims);
        assert_eq!(
            line,
            "octo-org/octo-repo@refs/heads/main run 42 (token.actions.githubusercontent.com)"
        );
        assert!(kept.get("secret_claim").is_none());
    }
}
