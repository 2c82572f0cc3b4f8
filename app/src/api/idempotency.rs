//! `Idempotency-Key` for API POSTs (Stripe's convention): the first answer
//! to a (token, key) is stored for 24 hours and replayed to retries with the
//! same request; the same key with a different request is 422; a retry while
//! the first is still running is 409. Failed requests are not stored, so
//! they can be retried with the same key.
//!
//! An answer that holds a secret (a rotation's successor) is [`Keep::Sealed`]:
//! encrypted under the keyring (never stored in plaintext) and kept 10
//! minutes. Its predecessor may fetch that replay even once retired, and
//! for nothing else (`crate::bearer` finds it).

use std::future::Future;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use super::ApiError;
use crate::{
    db::is_unique_violation, state::AppState, tokens::service::Authenticated, types::Timestamp,
};

/// How long a key's first answer is replayed.
pub const TTL_MS: i64 = 24 * 3_600_000;
/// How long an answer holding a secret is kept, sealed.
pub const SEALED_TTL_MS: i64 = 10 * 60_000;
const SEALED_PREFIX: &str = "sealed:";

/// How an answer is kept for replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// As is, for [`TTL_MS`].
    Plain,
    /// Encrypted under the keyring's current key, for [`SEALED_TTL_MS`].
    Sealed,
}

impl Keep {
    fn ttl_ms(self) -> i64 {
        match self {
            Keep::Plain => TTL_MS,
            Keep::Sealed => SEALED_TTL_MS,
        }
    }
}

/// Whose request this is and what it may do.
pub struct Caller<'a> {
    pub token_id: &'a str,
    pub keep: Keep,
    /// A retired token that may only fetch a stored answer: anything else
    /// is the 401 its use would have got.
    pub replay_only: Option<ApiError>,
}

impl<'a> Caller<'a> {
    pub fn plain(token: &'a Authenticated) -> Self {
        Self {
            token_id: &token.token_id,
            keep: Keep::Plain,
            replay_only: None,
        }
    }
}

/// The AEAD context of a sealed answer: it opens only in its own row.
fn context(token_id: &str, key: &str) -> String {
    format!("idempotency|{token_id}|{key}")
}

pub async fn run<F, Fut>(
    state: &AppState,
    caller: Caller<'_>,
    headers: &HeaderMap,
    request_line: &str,
    body: &[u8],
    handler: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, serde_json::Value), ApiError>>,
{
    let respond = |r: Result<(StatusCode, serde_json::Value), ApiError>| match r {
        Ok((status, value)) => (status, Json(value)).into_response(),
        Err(e) => e.into_response(),
    };
    let Some(key) = headers.get("idempotency-key") else {
        if let Some(refusal) = caller.replay_only {
            return refusal.into_response();
        }
        return respond(handler().await);
    };
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_string()
        }
        _ => {
            return ApiError::BadRequest(
                "Idempotency-Key must be 1-255 visible ASCII characters.".into(),
            )
            .into_response()
        }
    };
    let mut material = request_line.as_bytes().to_vec();
    material.push(b'\n');
    material.extend_from_slice(body);
    let hash = crate::crypto::sha256_hex(&material);
    let now = Timestamp::now();

    let token_id = caller.token_id;
    match claim(state, token_id, &key, &hash, caller.keep, now).await {
        Err(e) => return ApiError::db("idempotency", e).into_response(),
        Ok(Claim::Mine) => {
            if let Some(refusal) = caller.replay_only {
                let _ = release(state, token_id, &key).await;
                return refusal.into_response();
            }
        }
        Ok(Claim::Replay { status, body }) => {
            let body = if let Some(sealed) = body.strip_prefix(SEALED_PREFIX) {
                match state.config.keys.open(&context(token_id, &key), sealed) {
                    Ok(plain) => String::from_utf8_lossy(&plain).into_owned(),
                    Err(e) => {
                        // Its key was retired, or the row was tampered with.
                        tracing::error!(error = %e, "a sealed idempotent answer does not open");
                        return ApiError::Conflict(
                            "The answer to this Idempotency-Key can no longer be replayed.".into(),
                        )
                        .into_response();
                    }
                }
            } else {
                body
            };
            let mut res = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [(http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return res;
        }
        Ok(Claim::Mismatch) => {
            return ApiError::Validation {
                field: "Idempotency-Key".into(),
                message: "This Idempotency-Key was already used with a different request.".into(),
            }
            .into_response()
        }
        Ok(Claim::InFlight) => {
            return ApiError::Conflict(
                "A request with this Idempotency-Key is still being processed.".into(),
            )
            .into_response()
        }
    }

    let outcome = handler().await;
    let store = match &outcome {
        Ok((status, value)) => {
            let body = match caller.keep {
                Keep::Plain => Ok(value.to_string()),
                Keep::Sealed => state
                    .config
                    .keys
                    .seal(&context(token_id, &key), value.to_string().as_bytes())
                    .map(|s| format!("{SEALED_PREFIX}{s}")),
            };
            match body {
                Ok(body) => sqlx::query(
                    "UPDATE idempotency_keys SET status = $1, body = $2 WHERE token_id = $3 AND idem_key = $4",
                )
                .bind(status.as_u16() as i64)
                .bind(body)
                .bind(token_id)
                .bind(&key)
                .execute(&state.db)
                .await
                .map(|_| ()),
                Err(e) => {
                    // The answer still goes out; a retry gets 409 instead of a replay.
                    tracing::error!(error = %e, "could not seal an idempotent answer");
                    Ok(())
                }
            }
        }
        Err(_) => release(state, token_id, &key).await,
    };
    if let Err(e) = store {
        tracing::error!(error = %e, "could not record an idempotent response");
    }
    respond(outcome)
}

/// Forgets a claim (the request failed, or was not allowed to run).
async fn release(state: &AppState, token_id: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2")
        .bind(token_id)
        .bind(key)
        .execute(&state.db)
        .await
        .map(|_| ())
}

enum Claim {
    Mine,
    Replay { status: u16, body: String },
    Mismatch,
    InFlight,
}

/// A key's stored claim, as [`claim`] reads it when the key was taken.
#[derive(sqlx::FromRow)]
struct StoredRow {
    request_hash: String,
    /// 0 while the first request runs.
    status: i64,
    body: Option<String>,
}

async fn claim(
    state: &AppState,
    token_id: &str,
    key: &str,
    hash: &str,
    keep: Keep,
    now: Timestamp,
) -> Result<Claim, sqlx::Error> {
    // Expired keys (this one, and a few others while we are here) go first.
    sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND expires_at < $2")
        .bind(token_id)
        .bind(now.millis())
        .execute(&state.db)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (token_id, idem_key, request_hash, status, body, created_at, expires_at) \
         VALUES ($1, $2, $3, 0, NULL, $4, $5)",
    )
    .bind(token_id)
    .bind(key)
    .bind(hash)
    .bind(now.millis())
    .bind(now.millis() + keep.ttl_ms())
    .execute(&state.db)
    .await;
    match inserted {
        Ok(_) => return Ok(Claim::Mine),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let row: Option<StoredRow> = sqlx::query_as("SELECT request_hash, status, body FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2")
        .bind(token_id)
        .bind(key)
        .fetch_optional(&state.db)
        .await?;
    let Some(row) = row else {
        return Ok(Claim::InFlight);
    };
    if !crate::crypto::constant_time_eq(row.request_hash.as_bytes(), hash.as_bytes()) {
        return Ok(Claim::Mismatch);
    }
    if row.status == 0 {
        return Ok(Claim::InFlight);
    }
    Ok(Claim::Replay {
        status: row.status as u16,
        body: row.body.unwrap_or_default(),
    })
}
