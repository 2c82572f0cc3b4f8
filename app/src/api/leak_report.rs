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

use utoipa::{
    openapi::{schema::ArrayBuilder, Ref, RefOr, Schema},
    PartialSchema, ToSchema,
};

use super::{dto::ErrorBody, extract::ApiMeta, ApiError};
use crate::{
    leaks::{keys, report},
    state::AppState,
    types::Timestamp,
};

/// One reported token (GitHub's secret-scanning partner format).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LeakReportItem {
    /// The token found, whole.
    #[schema(max_length = 1024)]
    token: String,
    /// The reporter's name for the kind of token (echoed in the feedback).
    #[schema(rename = "type", required = false, example = "preqstation_api_key")]
    token_type: String,
    /// Where it was found.
    #[schema(
        required = false,
        example = "example-org/agents: deploy/agent.env line 12"
    )]
    url: String,
    /// What found it.
    #[schema(required = false, example = "content")]
    source: String,
}

/// A report: an array of at most 1,000 tokens (1 MiB).
pub struct LeakReport;

impl PartialSchema for LeakReport {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(Ref::from_schema_name(LeakReportItem::name()))
            .max_items(Some(crate::leaks::MAX_REPORTS))
            .into()
    }
}

impl ToSchema for LeakReport {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((LeakReportItem::name().into(), LeakReportItem::schema()));
        LeakReportItem::schemas(schemas);
    }
}

/// The partner program's feedback on one reported token, in the report's
/// order.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LeakFeedback {
    /// Hex SHA-256 of the reported token (never the token).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    token_hash: String,
    /// The report's `type`.
    token_type: String,
    /// `true_positive`: the token worked and is now revoked; `false_positive`: anything else.
    #[schema(pattern = "^(true|false)_positive$", example = "true_positive")]
    label: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[utoipa::path(post, path = "/api/secret-scanning/report", tag = "tokens",
    description = "Leaked-token reports in GitHub's secret-scanning partner format. Takes no bearer token: the body \
                   must be signed (ECDSA P-256, SHA-256, base64 of the DER signature) by a key registered with \
                   `preqstation leak-keys add`. A reported token that still works is revoked at once, with its \
                   rotation family and task tokens, and its owner is told. Up to 1 MiB; 60 reports a minute per IP.",
    request_body(content = LeakReport, content_type = "application/json"),
    params(("Github-Public-Key-Identifier" = String, Header, description = "The id of the key that signed the body"),
           ("Github-Public-Key-Signature" = String, Header, description = "Base64 of the ASN.1 DER ECDSA P-256 signature over the raw body")),
    responses((status = 200, body = [LeakFeedback], description = "One entry per reported token, in order"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "Unsigned, unknown key, or a signature that does not verify: nothing processed"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
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
    let key_id = header(&headers, "github-public-key-identifier").map(str::trim);
    keys::verify(
        &state.db,
        key_id,
        header(&headers, "github-public-key-signature"),
        &body,
    )
    .await
    .map_err(|e| match e {
        keys::Refused::Unavailable => ApiError::Unavailable,
        refused => ApiError::Unauthorized {
            message: refused.to_string(),
            invalid_token: false,
        },
    })?;
    let reports = report::parse(&body).map_err(|message| ApiError::Validation {
        field: "body".into(),
        message,
    })?;
    let feedback = report::process(
        &state.db,
        &state.lookups,
        &state.config,
        key_id.unwrap_or_default(),
        &reports,
        &meta,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(feedback))
}
