//! `/api/tasks/{id}/worklogs`: a task's work logs, read and added.

use axum::routing::get;

use super::*;

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
    let token = auth.require(Operation::ListWorkLogs)?;
    let (limit, after) = page.resolve()?;
    valid_id(&id, "task")?;
    let page = tasks::service::logs_page(&state.db, &token.reach, &id, after.as_deref(), limit)
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
    let (token, headers, body) = match scoped_body(&state, &auth, Operation::AddWorkLog, req).await
    {
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
                &token.reach,
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

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/tasks/{id}/worklogs",
        get(list_worklogs).post(create_worklog),
    )
}
