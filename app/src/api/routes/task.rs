//! `/api/tasks`: list, create, read and update the account's tasks.

use axum::routing::get;

use super::*;

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
    let token = auth.require(Operation::ListTasks)?;
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
        &token.reach,
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
            projects::service::get(&state.db, &token.reach, p)
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
    let (token, headers, body) = match scoped_body(&state, &auth, Operation::CreateTask, req).await
    {
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
                    &token.reach,
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
    let token = auth.require(Operation::GetTask)?;
    valid_id(&id, "task")?;
    let task = tasks::service::get(&state.db, &token.reach, &id)
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
    let token = auth.require(Operation::UpdateTask)?.clone();
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
        tasks::service::update(&state.db, &token.reach, &id, change, Timestamp::now()).await?;
    Ok(Json(resolve(task, "task")?.into()))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/{id}", get(get_task).patch(update_task))
}
