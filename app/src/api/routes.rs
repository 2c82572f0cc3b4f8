//! The API's handlers. Each: authenticate (the `TokenAuth` extractor), prove
//! the scope, validate, call the same service function the dashboard uses,
//! map the result. Another owner's resource is 403 (seed 001).

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    dto::*,
    extract::{parse_json, read_body, ApiMeta, ApiPath, ApiQuery, PageParams},
    idempotency, ApiError, TokenAuth,
};
use crate::{
    projects,
    state::AppState,
    tasks::{self, service::TaskChange, TaskStatus},
    tokens::{self, Scope},
    types::{Lookup, Timestamp},
};

fn forbidden() -> ApiError {
    ApiError::Forbidden("Insufficient permissions".into())
}

fn resolve<T>(lookup: Lookup<T>, what: &str) -> Result<T, ApiError> {
    match lookup {
        Lookup::Found(v) => Ok(v),
        Lookup::OtherOwner => Err(forbidden()),
        Lookup::Missing => Err(ApiError::NotFound(format!("No such {what}."))),
    }
}

/// Ids are UUIDs; anything else cannot exist.
fn valid_id(id: &str, what: &str) -> Result<(), ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| ApiError::NotFound(format!("No such {what}.")))
}

/// Proves the scope, then reads the body (headers kept for parsing and the
/// idempotency key): the start of every POST that creates something.
async fn scoped_body(
    state: &AppState,
    auth: &TokenAuth,
    scope: Scope,
    req: Request,
) -> Result<(tokens::service::Authenticated, HeaderMap, axum::body::Bytes), ApiError> {
    let token = auth.require(scope)?.clone();
    let headers = req.headers().clone();
    let body = read_body(req, state).await?;
    Ok((token, headers, body))
}

/// An audit event acted by the calling token.
pub(super) fn token_event(
    action: crate::audit::AuditAction,
    t: &tokens::service::Authenticated,
    meta: &crate::web::RequestMeta,
) -> crate::audit::NewEvent {
    use crate::audit::{ActorKind, Outcome};
    crate::audit::NewEvent::new(action, ActorKind::Token, Outcome::Success)
        .account(t.account_id)
        .actor(t.prefix.clone())
        .token(t.prefix.clone())
        .from_request(meta)
}

fn token_info(t: &tokens::service::Authenticated, last_used_at: Option<Timestamp>) -> TokenInfo {
    TokenInfo {
        id: t.token_id.clone(),
        name: t.name.clone(),
        prefix: t.prefix.clone(),
        scopes: t.scopes.iter().map(|s| s.as_str().to_string()).collect(),
        created_at: t.created_at.rfc3339(),
        expires_at: t.expires_at.map(|e| e.rfc3339()),
        last_used_at: last_used_at.map(|e| e.rfc3339()),
    }
}

/// Who the calling token belongs to, and what it is.
#[utoipa::path(get, path = "/api/auth/whoami", tag = "auth",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(TokenAuth(token): TokenAuth) -> Json<WhoAmI> {
    Json(WhoAmI {
        account: AccountRef {
            id: token.account_id.to_string(),
            email: token.account_email.clone(),
        },
        token: token_info(&token, None),
    })
}

/// The calling token: name, prefix, scopes, created, expires, last used.
#[utoipa::path(get, path = "/api/tokens/self", tag = "tokens",
    responses((status = 200, body = TokenInfo), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn token_self(
    State(state): State<AppState>,
    TokenAuth(token): TokenAuth,
) -> Result<Json<TokenInfo>, ApiError> {
    let view = tokens::service::get(
        &state.db,
        token.account_id,
        &token.token_id,
        Timestamp::now(),
    )
    .await
    .map_err(|e| ApiError::db("token self", e))?;
    Ok(Json(token_info(&token, view.and_then(|v| v.last_used_at))))
}

/// Revokes the calling token (e.g. when an agent finds it leaked).
#[utoipa::path(delete, path = "/api/tokens/self", tag = "tokens",
    responses((status = 204, description = "Revoked; the token stops working at once"),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_self(
    State(state): State<AppState>,
    TokenAuth(token): TokenAuth,
    ApiMeta(meta): ApiMeta,
) -> Result<StatusCode, ApiError> {
    let base = token_event(crate::audit::AuditAction::TokenRevoked, &token, &meta);
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
    TokenAuth(token): TokenAuth,
    ApiMeta(meta): ApiMeta,
    req: Request,
) -> Result<Json<VerifyResponse>, ApiError> {
    let rate = state.limits.verify.check(&token.token_id);
    if rate.retry_after_secs.is_some() {
        let path = "/api/tokens/verify";
        return Err(
            super::auth::token_rate_limited(&state, &token, &meta, "verify", path, rate).await,
        );
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

/// The account's projects, in creation order.
#[utoipa::path(get, path = "/api/projects", tag = "projects",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 50"),
        ("cursor" = Option<String>, Query, pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$", description = "`next_cursor` of the previous page; empty or absent: the first page")),
    responses((status = 200, body = ProjectList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["projects:read"])))]
pub async fn list_projects(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<ProjectList>, ApiError> {
    let token = auth.require(Scope::ProjectsRead)?;
    let (limit, after) = page.resolve()?;
    let page = projects::service::list_page(&state.db, token.account_id, after.as_deref(), limit)
        .await
        .map_err(|e| ApiError::db("list projects", e))?;
    Ok(Json(page.into()))
}

/// One project with its settings.
#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ProjectDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["projects:read"])))]
pub async fn get_project(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiPath(id): ApiPath,
) -> Result<Json<ProjectDto>, ApiError> {
    let token = auth.require(Scope::ProjectsRead)?;
    valid_id(&id, "project")?;
    let project = projects::service::get(&state.db, token.account_id, &id)
        .await
        .map_err(|e| ApiError::db("get project", e))?;
    Ok(Json(resolve(project, "project")?.into()))
}

#[derive(Debug, Deserialize)]
pub struct TaskFilter {
    pub project_id: Option<String>,
    pub status: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The account's tasks in creation order, optionally of one project and status.
#[utoipa::path(get, path = "/api/tasks", tag = "tasks",
    params(("project_id" = Option<uuid::Uuid>, Query), ("status" = Option<TaskStatus>, Query),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 50"), ("cursor" = Option<String>, Query, pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$", description = "`next_cursor` of the previous page; empty or absent: the first page")),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "No such project (project_id)"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["tasks:read"])))]
pub async fn list_tasks(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiQuery(filter): ApiQuery<TaskFilter>,
) -> Result<Json<TaskList>, ApiError> {
    let token = auth.require(Scope::TasksRead)?;
    let (limit, after) = PageParams {
        limit: filter.limit.clone(),
        cursor: filter.cursor.clone(),
    }
    .resolve()?;
    let status = match filter.status.as_deref() {
        None => None,
        Some(s) => Some(TaskStatus::parse(s).ok_or_else(|| ApiError::Validation {
            field: "status".into(),
            message: "status must be one of todo, in_progress, review, done, blocked.".into(),
        })?),
    };
    let project = filter.project_id.as_deref();
    if project.is_some_and(|p| uuid::Uuid::parse_str(p).is_err()) {
        return Err(ApiError::Validation {
            field: "project_id".into(),
            message: "project_id must be a project's id (a UUID).".into(),
        });
    }
    // On a connection kept aside: no pool ping on its release (one
    // round trip fewer per page; an error or a cancelled request closes it).
    let mut conn = state
        .reads
        .get(&state.db)
        .await
        .map_err(|e| ApiError::db("list tasks", e))?;
    let page = tasks::service::list_page(
        conn.conn(),
        token.account_id,
        project,
        status,
        after.as_deref(),
        limit,
    )
    .await
    .map_err(|e| ApiError::db("list tasks", e))?;
    conn.done();
    // A task of the account's in that project proves the project is the
    // account's (tasks reference (project, account)); only an empty page
    // needs the project looked up, to answer 404 or 403 for it: one query
    // per page instead of two.
    if let (Some(p), true) = (project, page.items.is_empty()) {
        resolve(
            projects::service::get(&state.db, token.account_id, p)
                .await
                .map_err(|e| ApiError::db("list tasks", e))?,
            "project",
        )?;
    }
    Ok(Json(page.into()))
}

/// Creates a task in one of the account's projects. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", request_body = CreateTask,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7E]+$",
            description = "1-255 visible ASCII characters. Retries with the same key and body within 24 h return the first answer; the same key with another body is 422")),
    responses((status = 201, body = TaskDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["tasks:write"])))]
pub async fn create_task(State(state): State<AppState>, auth: TokenAuth, req: Request) -> Response {
    let (token, headers, body) = match scoped_body(&state, &auth, Scope::TasksWrite, req).await {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    idempotency::run(
        &state,
        idempotency::Caller::plain(&token),
        &headers,
        "POST /api/tasks",
        &body,
        || async {
            let input: CreateTask = parse_json(&headers, &body)?;
            let new = tasks::service::NewTask::validate(
                &input.project_id,
                &input.title,
                input.description.as_deref(),
                input.status,
            )?;
            if uuid::Uuid::parse_str(&new.project_id).is_err() {
                return Err(ApiError::Validation {
                    field: "project_id".into(),
                    message: "No such project.".into(),
                });
            }
            let task = resolve(
                tasks::service::create(
                    &state.db,
                    token.account_id,
                    new,
                    Some(&token.prefix),
                    Timestamp::now(),
                )
                .await?,
                "project",
            )?;
            Ok((StatusCode::CREATED, json!(TaskDto::from(task))))
        },
    )
    .await
}

/// One task.
#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TaskDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["tasks:read"])))]
pub async fn get_task(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiPath(id): ApiPath,
) -> Result<Json<TaskDto>, ApiError> {
    let token = auth.require(Scope::TasksRead)?;
    valid_id(&id, "task")?;
    let task = tasks::service::get(&state.db, token.account_id, &id)
        .await
        .map_err(|e| ApiError::db("get task", e))?;
    Ok(Json(resolve(task, "task")?.into()))
}

/// Updates a task's status and/or result.
#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", params(("id" = uuid::Uuid, Path)), request_body = UpdateTask,
    responses((status = 200, body = TaskDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = ["tasks:write"])))]
pub async fn update_task(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiPath(id): ApiPath,
    req: Request,
) -> Result<Json<TaskDto>, ApiError> {
    let token = auth.require(Scope::TasksWrite)?.clone();
    let headers = req.headers().clone();
    let input: UpdateTask = parse_json(&headers, &read_body(req, &state).await?)?;
    valid_id(&id, "task")?;
    if input.status.is_none() && input.result.is_none() {
        return Err(ApiError::Validation {
            field: "body".into(),
            message: "Send status and/or result.".into(),
        });
    }
    let change = TaskChange {
        status: input.status,
        result: input.result,
    };
    let task =
        tasks::service::update(&state.db, token.account_id, &id, change, Timestamp::now()).await?;
    Ok(Json(resolve(task, "task")?.into()))
}

/// A task's work logs, oldest first.
#[utoipa::path(get, path = "/api/tasks/{id}/worklogs", tag = "worklogs",
    params(("id" = uuid::Uuid, Path), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 50"), ("cursor" = Option<String>, Query, pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$", description = "`next_cursor` of the previous page; empty or absent: the first page")),
    responses((status = 200, body = WorkLogList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = ["tasks:read"])))]
pub async fn list_worklogs(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiPath(id): ApiPath,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<WorkLogList>, ApiError> {
    let token = auth.require(Scope::TasksRead)?;
    let (limit, after) = page.resolve()?;
    valid_id(&id, "task")?;
    let page = tasks::service::logs_page(&state.db, token.account_id, &id, after.as_deref(), limit)
        .await
        .map_err(|e| ApiError::db("list work logs", e))?;
    Ok(Json(resolve(page, "task")?.into()))
}

/// Adds a work log to a task. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tasks/{id}/worklogs", tag = "worklogs", params(("id" = uuid::Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7E]+$",
            description = "1-255 visible ASCII characters. Retries with the same key and body within 24 h return the first answer; the same key with another body is 422")),
    request_body = CreateWorkLog,
    responses((status = 201, body = WorkLogDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = ["worklogs:write"])))]
pub async fn create_worklog(
    State(state): State<AppState>,
    auth: TokenAuth,
    ApiPath(id): ApiPath,
    req: Request,
) -> Response {
    let (token, headers, body) = match scoped_body(&state, &auth, Scope::WorklogsWrite, req).await {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    let line = format!("POST /api/tasks/{id}/worklogs");
    idempotency::run(
        &state,
        idempotency::Caller::plain(&token),
        &headers,
        &line,
        &body,
        || async {
            let input: CreateWorkLog = parse_json(&headers, &body)?;
            valid_id(&id, "task")?;
            let log = tasks::service::add_log(
                &state.db,
                token.account_id,
                &id,
                &input.message,
                input.minutes,
                Some(&token.prefix),
                Timestamp::now(),
            )
            .await?;
            Ok((
                StatusCode::CREATED,
                json!(WorkLogDto::from(resolve(log, "task")?)),
            ))
        },
    )
    .await
}
