//! `Idempotency-Key` for API POSTs (Stripe's convention): the first answer
//! to a (token, key) is stored for 24 hours and replayed to retries with the
//! same request; the same key with a different request is 422; a retry while
//! the first is still running is 409. Failed requests are not stored, so
//! they can be retried with the same key.

use std::future::Future;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use sqlx::Row;

use super::ApiError;
use crate::{
    db::is_unique_violation, state::AppState, tokens::service::Authenticated, types::Timestamp,
};

/// How long a key's first answer is replayed.
pub const TTL_MS: i64 = 24 * 3_600_000;

pub async fn run<F, Fut>(
    state: &AppState,
    token: &Authenticated,
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

    match claim(state, token, &key, &hash, now).await {
        Err(e) => return ApiError::db("idempotency", e).into_response(),
        Ok(Claim::Replay { status, body }) => {
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
        Ok(Claim::Mine) => {}
    }

    let outcome = handler().await;
    let store = match &outcome {
        Ok((status, value)) => sqlx::query(
            "UPDATE idempotency_keys SET status = $1, body = $2 WHERE token_id = $3 AND idem_key = $4",
        )
        .bind(status.as_u16() as i64)
        .bind(value.to_string())
        .bind(&token.token_id)
        .bind(&key)
        .execute(&state.db)
        .await,
        Err(_) => sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2")
            .bind(&token.token_id)
            .bind(&key)
            .execute(&state.db)
            .await,
    };
    if let Err(e) = store {
        tracing::error!(error = %e, "could not record an idempotent response");
    }
    respond(outcome)
}

enum Claim {
    Mine,
    Replay { status: u16, body: String },
    Mismatch,
    InFlight,
}

async fn claim(
    state: &AppState,
    token: &Authenticated,
    key: &str,
    hash: &str,
    now: Timestamp,
) -> Result<Claim, sqlx::Error> {
    // Expired keys (this one, and a few others while we are here) go first.
    sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND created_at < $2")
        .bind(&token.token_id)
        .bind(now.millis() - TTL_MS)
        .execute(&state.db)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (token_id, idem_key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, 0, NULL, $4)",
    )
    .bind(&token.token_id)
    .bind(key)
    .bind(hash)
    .bind(now.millis())
    .execute(&state.db)
    .await;
    match inserted {
        Ok(_) => return Ok(Claim::Mine),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let row = sqlx::query("SELECT request_hash, status, body FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2")
        .bind(&token.token_id)
        .bind(key)
        .fetch_optional(&state.db)
        .await?;
    let Some(row) = row else {
        return Ok(Claim::InFlight);
    };
    let stored_hash: String = row.try_get("request_hash")?;
    if !crate::crypto::constant_time_eq(stored_hash.as_bytes(), hash.as_bytes()) {
        return Ok(Claim::Mismatch);
    }
    let status: i64 = row.try_get("status")?;
    if status == 0 {
        return Ok(Claim::InFlight);
    }
    Ok(Claim::Replay {
        status: status as u16,
        body: row
            .try_get::<Option<String>, _>("body")?
            .unwrap_or_default(),
    })
}
