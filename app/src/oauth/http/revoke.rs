//! `POST /oauth/revoke` (RFC 7009): 200 whether or not the token existed.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{oauth::OAuthError, state::AppState, types::Timestamp};

#[derive(Debug, Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token existed.
pub(super) async fn revoke(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let form: RevokeForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            return OAuthError::new("invalid_request", "Form-encoded token expected.")
                .into_response()
        }
    };
    let (Some(token), Some(client_id)) = (form.token, form.client_id) else {
        return OAuthError::new("invalid_request", "token and client_id are required.")
            .into_response();
    };
    match crate::oauth::revocation::revoke_presented(
        &state.db,
        &state.config,
        &client_id,
        &token,
        Timestamp::now(),
    )
    .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => OAuthError::db(e).into_response(),
    }
}
