//! Plumbing for server functions: the context they run in (state, request
//! metadata, session, response options) and the middleware that gives their
//! errors real status codes (Leptos answers every server-function error
//! with 500; a validation failure is a 422, not a server fault).

use crate::audit::{ActorKind, AuditAction, Outcome};
use axum::{body::Body, extract::Request, middleware::Next, response::Response};
use http::{header, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use super::{MaybeSession, RequestMeta};
use crate::{error::AppError, sessions::AuthSession, state::AppState};

/// Everything a server function needs from the request it serves.
pub struct ServerFnContext {
    pub state: AppState,
    pub meta: RequestMeta,
    pub session: Option<AuthSession>,
    pub response: ResponseOptions,
    cookies: Option<String>,
}

impl ServerFnContext {
    pub fn get() -> Result<Self, AppError> {
        let state = use_context::<AppState>()
            .ok_or_else(|| AppError::internal("server function", "AppState not in context"))?;
        let parts = use_context::<http::request::Parts>()
            .ok_or_else(|| AppError::internal("server function", "request parts not in context"))?;
        let response = use_context::<ResponseOptions>().ok_or_else(|| {
            AppError::internal("server function", "ResponseOptions not in context")
        })?;
        let session = parts
            .extensions
            .get::<MaybeSession>()
            .and_then(|m| m.0.clone());
        let meta =
            RequestMeta::from_parts(&parts.headers, &parts.extensions, &state.config.trust_proxy);
        let cookies = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        Ok(Self {
            state,
            meta,
            session,
            response,
            cookies: Some(cookies).filter(|c| !c.is_empty()),
        })
    }

    /// The value of the request's cookie `name`, if sent.
    pub fn cookie(&self, name: &str) -> Option<String> {
        crate::sessions::named_cookie(self.cookies.as_deref()?, name).map(str::to_string)
    }

    /// The signed-in session, or `Unauthorized`; `Forbidden` while the
    /// administrators require a second factor this account has not set up.
    pub fn require_session(&self) -> Result<&AuthSession, AppError> {
        let s = self.require_session_allowing_enrolment()?;
        if s.must_enrol {
            return Err(AppError::Forbidden(
                "Your administrators require two-factor authentication: set it up in Settings > \
                 Security first."
                    .into(),
            ));
        }
        Ok(s)
    }

    /// The signed-in session, also one that must still set up a second
    /// factor (the Security page's own functions, sudo, sign-out).
    pub fn require_session_allowing_enrolment(&self) -> Result<&AuthSession, AppError> {
        self.session
            .as_ref()
            .ok_or_else(|| AppError::Unauthorized("Your session has ended. Sign in again.".into()))
    }

    /// The signed-in session in sudo mode (it confirmed the password or a
    /// second factor within the window), or `SudoRequired`: every sensitive
    /// server function calls this.
    pub fn require_sudo(&self) -> Result<&AuthSession, AppError> {
        let s = self.require_session()?;
        self.sudo_of(s)
    }

    /// [`Self::require_sudo`] for the Security page (enrolment included).
    pub fn require_sudo_allowing_enrolment(&self) -> Result<&AuthSession, AppError> {
        let s = self.require_session_allowing_enrolment()?;
        self.sudo_of(s)
    }

    fn sudo_of<'a>(&self, s: &'a AuthSession) -> Result<&'a AuthSession, AppError> {
        if crate::auth::sudo::is_fresh(&self.state, s, crate::types::Timestamp::now()) {
            Ok(s)
        } else {
            Err(AppError::SudoRequired(crate::auth::sudo::NEEDED.into()))
        }
    }

    /// An audit event acted by the signed-in session (or anonymous), with
    /// this request's IP, User-Agent and request id.
    pub fn event(
        &self,
        action: crate::audit::AuditAction,
        outcome: crate::audit::Outcome,
    ) -> crate::audit::NewEvent {
        use crate::audit::ActorKind;
        let e = match &self.session {
            Some(s) => crate::audit::NewEvent::new(action, ActorKind::Session, outcome)
                .account(s.user.id)
                .actor(format!("{} (session {})", s.user.email, &s.id_hash[..12])),
            None => crate::audit::NewEvent::new(action, ActorKind::Anonymous, outcome),
        };
        e.from_request(&self.meta)
    }

    /// Sends a `Set-Cookie` (and `Cache-Control: no-store` with it).
    pub fn set_cookie(&self, cookie: &str) {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            self.response.append_header(header::SET_COOKIE, v);
            self.response
                .insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

/// Rewrites the 500 Leptos sends for any server-function error to the status
/// the error stands for (422 for a field error, 429 when throttled, ...).
pub async fn status_layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    // Only server functions answer with an AppError.
    if !req.uri().path().starts_with("/rpc/") {
        return next.run(req).await;
    }
    let session = req
        .extensions()
        .get::<MaybeSession>()
        .and_then(|m| m.0.clone());
    let meta = RequestMeta::from_parts(req.headers(), req.extensions(), &state.config.trust_proxy);
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 256 * 1024).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match err {
            AppError::TooManyRequests { retry_after, .. } => {
                parts
                    .headers
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            AppError::Unavailable => {
                parts
                    .headers
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            // Access refused is a security event (ASVS 5.0 16.3.2).
            AppError::Forbidden(ref message) => {
                let who = session
                    .as_ref()
                    .map(|s| s.user.email.as_str())
                    .unwrap_or("-");
                tracing::warn!(%path, account = who, "access refused");
                let mut event = crate::audit::NewEvent::new(
                    AuditAction::AccessDenied,
                    ActorKind::Anonymous,
                    Outcome::Failure,
                )
                .from_request(&meta)
                .detail("path", &path)
                .detail("reason", message)
                .security(true);
                if let Some(s) = &session {
                    event.actor_kind = ActorKind::Session;
                    event = event.account(s.user.id).actor(format!(
                        "{} (session {})",
                        s.user.email,
                        &s.id_hash[..12]
                    ));
                }
                state.audit.push(event).await;
            }
            _ => {}
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
