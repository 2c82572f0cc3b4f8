//! `/api/auth/whoami` and `/api/tokens/...`: who the calling token belongs
//! to, the token itself (read, revoke), and checking another token of the
//! same account. Self-rotation is `api::rotation`.

use axum::routing::{get, post};

use super::*;

fn token_info(t: &tokens::service::Authenticated, last_used_at: Option<Timestamp>) -> TokenInfo {
    TokenInfo {
        id: t.token_id.clone(),
        name: t.name.clone(),
        prefix: t.prefix.clone(),
        scopes: t.scopes.iter().map(|s| s.as_str().to_string()).collect(),
        created_at: t.created_at.rfc3339(),
        expires_at: t.expires_at.map(|e| e.rfc3339()),
        last_used_at: last_used_at.map(|e| e.rfc3339()),
        allowed_ips: None,
        projects: None,
        task: t.task.as_ref().map(|b| TaskBindingDto {
            task_id: b.task_id.clone(),
            acting_for: b.subject_prefix.clone(),
        }),
        usage_remaining: t.usage_remaining,
    }
}

/// Who the calling token belongs to, and what it is.
#[utoipa::path(get, path = "/api/auth/whoami", tag = "auth",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(auth: TokenAuth) -> Result<Json<WhoAmI>, ApiError> {
    let token = auth.require(Operation::Whoami)?;
    Ok(Json(WhoAmI {
        account: AccountRef {
            id: token.account_id.to_string(),
            email: token.account_email.clone(),
        },
        token: token_info(token, None),
    }))
}

/// The calling token: name, prefix, scopes, created, expires, last used.
#[utoipa::path(get, path = "/api/tokens/self", tag = "tokens",
    responses((status = 200, body = TokenInfo), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn token_self(
    State(state): State<AppState>,
    auth: TokenAuth,
) -> Result<Json<TokenInfo>, ApiError> {
    let token = auth.require(Operation::GetTokenInfo)?;
    let view = tokens::service::get(
        &state.db,
        token.account_id,
        &token.token_id,
        Timestamp::now(),
    )
    .await
    .map_err(|e| ApiError::db("token self", e))?;
    let mut info = token_info(token, view.as_ref().and_then(|v| v.last_used_at));
    info.allowed_ips = Some(token.allowed_ips.entries());
    info.projects = view.and_then(|v| v.projects).map(|ps| {
        ps.into_iter()
            .map(|p| ProjectRef {
                id: p.id,
                name: p.name,
            })
            .collect()
    });
    Ok(Json(info))
}

/// Revokes the calling token (e.g. when an agent finds it leaked).
#[utoipa::path(delete, path = "/api/tokens/self", tag = "tokens",
    responses((status = 204, description = "Revoked; the token stops working at once"),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_self(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiMeta(meta): ApiMeta,
) -> Result<StatusCode, ApiError> {
    let token = auth.require(Operation::RevokeOwnToken)?;
    let base = token_event(crate::audit::AuditAction::TokenRevoked, token, &meta);
    if token.task.is_some() {
        tokens::task::manage::revoke(
            &state.db,
            &state.config.keys,
            token.account_id,
            tokens::task::manage::Which::One(&token.token_id),
            "self_revoked",
            &base,
            Timestamp::now(),
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    if token.oauth {
        // An OAuth access token ends its whole grant (as RFC 7009 revocation does).
        crate::oauth::revocation::revoke(
            &state.db,
            &state.config.keys,
            token.account_id,
            &token.token_id,
            "self_revoked",
            &base,
            Timestamp::now(),
        )
        .await
        .map_err(|e| ApiError::db("revoke grant", e))?;
        return Ok(StatusCode::NO_CONTENT);
    }
    tokens::service::revoke(
        &state.db,
        &state.config.keys,
        token.account_id,
        &token.token_id,
        tokens::service::Revocation {
            by: Some(token.account_id),
            reason: "self_revoked",
            base: &base,
        },
        Timestamp::now(),
    )
    .await?;
    tracing::info!(token = %token.prefix, "token revoked itself through the API");
    Ok(StatusCode::NO_CONTENT)
}

/// Status and expiry of another token of the same account (seed 003's
/// `ts.tkn.verify`). An unknown token and another account's token get the
/// same answer, so this cannot test arbitrary tokens.
#[utoipa::path(post, path = "/api/tokens/verify", tag = "tokens", request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiMeta(meta): ApiMeta,
    req: Request,
) -> Result<Json<VerifyResponse>, ApiError> {
    let token = auth.require(Operation::VerifyToken)?;
    let rate = state.limits.verify.check(&token.token_id);
    if rate.retry_after_secs.is_some() {
        let path = "/api/tokens/verify";
        return Err(crate::api::auth::token_rate_limited(
            &state, token, &meta, "verify", path, rate,
        )
        .await);
    }
    let headers = req.headers().clone();
    let body: VerifyRequest = parse_json(&headers, &read_body(req, &state).await?)?;
    let found = tokens::service::inspect(
        &state.db,
        &state.config,
        token.account_id,
        body.token.trim(),
        Timestamp::now(),
    )
    .await
    .map_err(|e| ApiError::db("verify token", e))?;
    Ok(Json(match found {
        Some(v) => VerifyResponse {
            valid: v.status == tokens::TokenStatus::Active,
            status: format!("{:?}", v.status).to_lowercase(),
            name: Some(v.name),
            prefix: Some(v.prefix),
            expires_at: v.expires_at.map(|e| e.rfc3339()),
        },
        None => VerifyResponse {
            valid: false,
            status: "invalid".into(),
            name: None,
            prefix: None,
            expires_at: None,
        },
    }))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/whoami", get(whoami))
        .route("/tokens/self", get(token_self).delete(revoke_self))
        .route("/tokens/verify", post(verify))
}
