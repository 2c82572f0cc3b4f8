//! The REST API's error type: one JSON envelope for every failure,
//! `{"error":{"code":"UNAUTHORIZED","message":"..."}}`, with the RFC 6750
//! `WWW-Authenticate` challenge on 401 and on scope failures.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::limits::RateState;
use crate::{fault::Fault, tokens::Scope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No usable credentials. `invalid_token` is true when a bearer token was
    /// sent (then the challenge says `error="invalid_token"`).
    Unauthorized {
        message: String,
        invalid_token: bool,
    },
    /// A valid token without the scope a route needs. `ask` is the scope
    /// list the challenge tells the client to request: the scope needed,
    /// and for an OAuth token the scopes its grant already has too (hosts
    /// re-authorize with exactly this list, so naming only the missing one
    /// would drop the rest).
    InsufficientScope {
        needed: Scope,
        ask: Vec<Scope>,
    },
    /// Another owner's resource, or an action tokens may never take.
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    BadRequest(String),
    Validation {
        field: String,
        message: String,
    },
    UnsupportedMediaType,
    PayloadTooLarge,
    RateLimited(RateState),
    /// The token (or a task token's subject) has no calls left of its usage
    /// limit; a refill comes in `retry_after` seconds (`None`: never).
    UsageExhausted {
        retry_after: Option<u64>,
    },
    Unavailable,
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope { .. } | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) | ApiError::UsageExhausted { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized { .. } => "UNAUTHORIZED",
            ApiError::InsufficientScope { .. } | ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::BadRequest(_) => "BAD_REQUEST",
            ApiError::Validation { .. } => "VALIDATION_FAILED",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::RateLimited(_) => "RATE_LIMITED",
            ApiError::UsageExhausted { .. } => "USAGE_EXHAUSTED",
            ApiError::Unavailable => "SERVICE_UNAVAILABLE",
            ApiError::Internal => "INTERNAL_ERROR",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized { message, .. } => message.clone(),
            ApiError::InsufficientScope { needed, .. } => {
                format!(
                    "Insufficient permissions: this token lacks the {} scope.",
                    needed.as_str()
                )
            }
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::BadRequest(m) => m.clone(),
            ApiError::Validation { message, .. } => message.clone(),
            ApiError::MethodNotAllowed => "This endpoint does not support that method.".into(),
            ApiError::UnsupportedMediaType => "Send the request body as application/json.".into(),
            ApiError::PayloadTooLarge => "The request body is too large.".into(),
            ApiError::RateLimited(state) => format!(
                "Too many requests. Retry in {} seconds.",
                state.retry_after_secs.unwrap_or(state.reset_secs)
            ),
            ApiError::UsageExhausted {
                retry_after: Some(s),
            } => format!("This token used up its usage limit. It refills in {s} seconds."),
            ApiError::UsageExhausted { retry_after: None } => {
                "This token used up its usage limit; its owner can raise it.".into()
            }
            ApiError::Unavailable => {
                "The service is temporarily unavailable. Retry shortly.".into()
            }
            ApiError::Internal => "Something went wrong on our side.".into(),
        }
    }

    /// Logs a database error with context; unreachable database → 503.
    pub fn db(context: &str, err: sqlx::Error) -> Self {
        Fault::db(context, err).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code(), "message": self.message() } });
        if let ApiError::Validation { field, .. } = &self {
            body["error"]["field"] = json!(field);
        }
        let mut res = (self.status(), Json(body)).into_response();
        let challenge = match &self {
            ApiError::Unauthorized {
                invalid_token: false,
                ..
            } => Some(r#"Bearer realm="preqstation""#.to_string()),
            ApiError::Unauthorized {
                invalid_token: true,
                ..
            } => Some(r#"Bearer realm="preqstation", error="invalid_token""#.to_string()),
            ApiError::InsufficientScope { ask, .. } => Some(format!(
                r#"Bearer realm="preqstation", error="insufficient_scope", scope="{}""#,
                Scope::join(ask)
            )),
            _ => None,
        };
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let ApiError::UsageExhausted {
            retry_after: Some(s),
        } = &self
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*s));
        }
        if let ApiError::RateLimited(state) = &self {
            let h = res.headers_mut();
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from(state.retry_after_secs.unwrap_or(state.reset_secs)),
            );
            if let (Ok(p), Ok(l)) = (
                HeaderValue::from_str(&state.policy_header()),
                HeaderValue::from_str(&state.limit_header()),
            ) {
                h.insert("ratelimit-policy", p);
                h.insert("ratelimit", l);
            }
        }
        res
    }
}

/// A domain fault as the envelope says it: an invalid input names the
/// body or query field that holds it (the forms' names, see
/// [`crate::error::form_field`]).
impl From<Fault> for ApiError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Invalid { input, message } => ApiError::Validation {
                field: crate::error::form_field(input).to_string(),
                message,
            },
            Fault::Throttled { retry_after, .. } => ApiError::RateLimited(RateState {
                policy: "default",
                quota: 1,
                remaining: 0,
                reset_secs: retry_after.max(1),
                retry_after_secs: Some(retry_after.max(1)),
            }),
            Fault::Unauthenticated(m) => ApiError::Unauthorized {
                message: m,
                invalid_token: false,
            },
            Fault::Forbidden(m) => ApiError::Forbidden(m),
            Fault::NotFound(m) => ApiError::NotFound(m),
            Fault::Conflict(m) => ApiError::Conflict(m),
            Fault::Unavailable => ApiError::Unavailable,
            Fault::Internal => ApiError::Internal,
        }
    }
}
