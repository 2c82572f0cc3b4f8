//! `POST /api/secret-scanning/report`: leaked-token reports in GitHub's
//! secret-scanning partner format (a door). Not bearer-authenticated: the
//! body must carry an ECDSA P-256 signature by a registered key
//! (`leaks::keys`); unsigned or badly signed reports get 401 and nothing is
//! processed. Its own body limit (1 MiB: reports come in batches) and its
//! own per-IP rate limit, checked before the signature.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::HeaderMap,
    response::IntoResponse,
    Json,
};

use super::{extract::ApiMeta, ApiError};
use crate::{
    leaks::{keys, report},
    state::AppState,
    types::Timestamp,
};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn report(
    State(state): State<AppState>,
    ApiMeta(meta): ApiMeta,
    req: Request,
) -> Result<impl IntoResponse, ApiError> {
    let limited = state
        .limits
        .leak_report
        .check_ip(meta.ip.as_deref().unwrap_or("unknown"));
    if limited.retry_after_secs.is_some() {
        return Err(ApiError::RateLimited(limited));
    }
    let headers = req.headers().clone();
    let body = Bytes::from_request(req, &state).await.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("The request body could not be read.".into())
        }
    })?;
    let key_id = header(&headers, "github-public-key-identifier");
    keys::verify(
        &state.db,
        key_id,
        header(&headers, "github-public-key-signature"),
        &body,
    )
    .await
    .map_err(|e| ApiError::Unauthorized {
        message: e.to_string(),
        invalid_token: false,
    })?;
    let reports = report::parse(&body).map_err(|message| ApiError::Validation {
        field: "body".into(),
        message,
    })?;
    let feedback = report::process(
        &state.db,
        &state.config,
        key_id.unwrap_or_default(),
        &reports,
        &meta,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(feedback))
}
