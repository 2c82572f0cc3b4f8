//! `/api/projects`: the account's projects and their settings (read only).

use axum::routing::get;

use super::*;

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
    let token = auth.require(Operation::ListProjects)?;
    let (limit, after) = page.resolve()?;
    let page = projects::service::list_page(&state.db, &token.reach, after.as_deref(), limit)
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
    let token = auth.require(Operation::GetProject)?;
    valid_id(&id, "project")?;
    let project = projects::service::get(&state.db, &token.reach, &id)
        .await
        .map_err(|e| ApiError::db("get project", e))?;
    Ok(Json(resolve(project, "project")?.into()))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list_projects))
        .route("/projects/{id}", get(get_project))
}
