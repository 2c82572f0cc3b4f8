//! `GET /oauth/authorize` and the consent form's POST: the request is
//! checked and parked; errors that must not be redirected get a page of
//! our own; the owner's answer goes back to the client's redirect URI.

use axum::{
    extract::{Query, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use crate::html::escape;
use crate::{
    audit::{ActorKind, AuditAction, Outcome},
    oauth::{flow, OAuthError},
    state::AppState,
    tokens::Scope,
    types::Timestamp,
    web::RequestMeta,
};

/// `redirect_uri` with the answer's parameters, and `iss` (RFC 9207).
fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// An authorization answer's parameters: `params`, then `state` when the
/// client sent one, then `iss` (RFC 9207).
fn answer<'a>(
    params: &[(&'a str, &'a str)],
    state: Option<&'a str>,
    issuer: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut out = params.to_vec();
    if let Some(s) = state {
        out.push(("state", s));
    }
    out.push(("iss", issuer));
    out
}

/// After a Deny: our own page, with a link back to the client.
fn denied_page(client: &str, back: &str) -> Response {
    let client = escape(client);
    let back = escape(back);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access denied</title></head>\
             <body><main><h1>Access denied</h1><p>You denied {client} access. Nothing was shared with it.</p>\
             <p><a href=\"{back}\" rel=\"noreferrer\">Return to the application</a> (it will be told access was \
             denied), or close this tab.</p></main></body></html>"
        ),
    )
        .into_response()
}

/// A page for errors that must not be redirected (an unknown client, a
/// redirect URI that is not the client's).
fn error_page(message: &str) -> Response {
    let escaped = escape(message);
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization refused</title></head>\
             <body><main><h1>This authorization request was refused</h1><p>{escaped}</p>\
             <p>Nothing was shared with the application. Close this tab and try connecting again.</p></main></body></html>"
        ),
    )
        .into_response()
}

/// `GET /oauth/authorize`: checks the request and parks it for consent.
pub(super) async fn authorize(
    State(state): State<AppState>,
    Query(q): Query<flow::AuthorizeQuery>,
) -> Response {
    let now = Timestamp::now();
    match flow::park(&state.db, &state.config, q, now).await {
        Ok(id) => Redirect::to(&format!("/oauth/consent?request={id}")).into_response(),
        Err(message) => error_page(&message),
    }
}

/// The consent form: `request`, `decision` (allow/deny), `scope` repeated,
/// and the project choice (`reach`, `project_ids[]`).
#[derive(Debug, Default)]
struct ConsentForm {
    request: String,
    decision: String,
    scope: Vec<String>,
    /// `selected`: only `project_ids` (the project choice).
    reach: String,
    project_ids: Vec<String>,
}

impl ConsentForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (k, v) in form_urlencoded::parse(body) {
            match &*k {
                "request" => form.request = v.into_owned(),
                "decision" => form.decision = v.into_owned(),
                "scope" if form.scope.len() < 16 => form.scope.push(v.into_owned()),
                "reach" => form.reach = v.into_owned(),
                "project_ids[]" if form.project_ids.len() <= 100 => {
                    form.project_ids.push(v.trim().to_string())
                }
                _ => {}
            }
        }
        form
    }
}

/// `POST /oauth/decision`: Allow or Deny, then back to the client.
pub async fn consent(State(state): State<AppState>, req: Request) -> Response {
    let Some(crate::web::session::MaybeSession(Some(session))) = req
        .extensions()
        .get::<crate::web::session::MaybeSession>()
        .cloned()
    else {
        return Redirect::to("/login").into_response();
    };
    let (parts, body) = req.into_parts();
    let meta = RequestMeta::of(&parts, &state.config.trust_proxy);
    let body = match axum::body::to_bytes(body, crate::web::BODY_LIMIT_BYTES).await {
        Ok(b) => b,
        Err(_) => return error_page("The form could not be read."),
    };
    let form = ConsentForm::parse(&body);
    let now = Timestamp::now();
    // Approving a connected app is a sensitive action (sudo mode): outside
    // the window the request stays parked and the consent page asks for the
    // password or a code first.
    if form.decision == "allow" && !crate::auth::sudo::is_fresh(&state, &session, now) {
        return Redirect::to(&format!(
            "/oauth/consent?request={}&sudo=1",
            crate::web::percent_encode(&form.request)
        ))
        .into_response();
    }
    let pending = match flow::take(&state.db, &form.request, now).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return error_page(
                "This authorization request has expired or was already answered. Start again from the application.",
            )
        }
        Err(e) => return error_page(&OAuthError::db(e).description),
    };
    let issuer = crate::oauth::issuer(&state.config);
    let client =
        match crate::oauth::clients::resolve(&state.db, &state.config, &pending.client_id, now)
            .await
        {
            Ok(c) => c,
            Err(e) => return error_page(&e.description),
        };
    let allowed: Vec<Scope> = pending
        .scopes
        .iter()
        .copied()
        .filter(|s| form.scope.iter().any(|f| f == s.as_str()))
        .collect();
    let base = crate::audit::NewEvent::new(
        AuditAction::OauthGrantCreated,
        ActorKind::Session,
        Outcome::Success,
    )
    .account(session.user.id)
    .actor(session.user.email.clone())
    .from_request(&meta);
    if form.decision != "allow" || allowed.is_empty() {
        let event = base
            .with_action(AuditAction::OauthConsentDenied)
            .detail("client", &client.name);
        state.audit.push(event).await;
        let to = redirect_to(
            &pending.redirect_uri,
            &answer(
                &[
                    ("error", "access_denied"),
                    ("error_description", "The owner denied access."),
                ],
                pending.state.as_deref(),
                &issuer,
            ),
        );
        // Every client here registered itself (dynamically or by a metadata
        // document): a Deny lands on our page, and the person decides
        // whether to follow the link back, rather than being sent on to a
        // URI anyone could have registered.
        return denied_page(&client.name, &to);
    }
    let projects = (form.reach == "selected").then_some(form.project_ids.as_slice());
    let approval = flow::Approval {
        account: session.user.id,
        request: &pending,
        client: &client,
        scopes: &allowed,
        projects,
    };
    match flow::approve(&state.db, &state.config.keys, approval, &base, now).await {
        Ok(Err(refused)) => error_page(&format!("{refused} Start again from the application.")),
        Ok(Ok(code)) => Redirect::to(&redirect_to(
            &pending.redirect_uri,
            &answer(
                &[("code", code.as_str())],
                pending.state.as_deref(),
                &issuer,
            ),
        ))
        .into_response(),
        Err(e) => error_page(&OAuthError::db(e).description),
    }
}
