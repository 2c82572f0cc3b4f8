//! Extractors whose rejections are [`ApiError`], so a bad path, query or
//! body answers in the JSON envelope: 400 for undecodable input, 415 for a
//! body that is not JSON, 413 for one too large, 422 for JSON of the wrong
//! shape.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::{header::CONTENT_TYPE, request::Parts, HeaderMap},
};
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::state::AppState;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = read_body(req, state).await?;
        parse_json(&headers, &bytes).map(ApiJson)
    }
}

/// Reads the body within the API's size limit.
pub async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("The request body could not be read.".into())
        }
    })
}

/// Checks the content type and decodes a JSON body.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    // Every body is an object; serde would also build a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::Validation {
            field: "body".into(),
            message: "The body must be a JSON object.".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            ApiError::BadRequest(format!("The body is not valid JSON: {inner}"))
        } else {
            ApiError::Validation {
                field: if field == "." { "body".into() } else { field },
                message: inner.to_string(),
            }
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::BadRequest(format!("Invalid query parameters: {}", e.body_text()))
            })
    }
}

/// One path parameter (an id).
pub struct ApiPath(pub String);

impl FromRequestParts<AppState> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_| ApiError::BadRequest("Invalid path parameter.".into()))
    }
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Clone, serde::Deserialize, Default)]
pub struct PageParams {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

impl PageParams {
    /// The validated limit and the id to continue after.
    pub fn resolve(&self) -> Result<(i64, Option<String>), ApiError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::Validation {
                    field: "limit".into(),
                    message: format!("limit must be a whole number from 1 to {MAX_LIMIT}."),
                })?,
        };
        // The document's cursor pattern allows "" (the first page).
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => {
                Some(
                    crate::types::decode_cursor(c).ok_or_else(|| ApiError::Validation {
                        field: "cursor".into(),
                        message: "cursor is not one this API returned.".into(),
                    })?,
                )
            }
        };
        Ok((limit, after))
    }
}

/// The request's client metadata (IP, User-Agent, request id) for audit events.
pub struct ApiMeta(pub crate::web::RequestMeta);

impl FromRequestParts<AppState> for ApiMeta {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ApiMeta(crate::web::RequestMeta::of(
            parts,
            &state.config.trust_proxy,
        )))
    }
}
