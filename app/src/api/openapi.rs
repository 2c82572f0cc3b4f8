//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! the DTOs (utoipa), served at `/api/openapi.json`.

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{dto::*, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Preqstation API",
        version = "1",
        description = "The bearer-token API for coding agents. Send `Authorization: Bearer <token>`; create tokens in \
                       Settings > API Keys. Errors use one envelope: `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        routes::whoami,
        routes::token_self,
        routes::revoke_self,
        routes::verify,
        routes::rotate_self,
        routes::list_projects,
        routes::get_project,
        routes::list_tasks,
        routes::create_task,
        routes::get_task,
        routes::update_task,
        routes::list_worklogs,
        routes::create_worklog,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, WhoAmI, AccountRef, TokenInfo, VerifyRequest, VerifyResponse, ProjectDto,
        ProjectList, RotateRequest, RotatedToken, TaskDto, TaskList, CreateTask, UpdateTask, WorkLogDto, WorkLogList, CreateWorkLog,
        crate::tasks::TaskStatus
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Who is calling"),
        (name = "tokens", description = "The calling token and its siblings"),
        (name = "projects", description = "Projects (read-only for agents)"),
        (name = "tasks", description = "Tasks"),
        (name = "worklogs", description = "Work logs on tasks"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("preq_ token")
                    .description(Some("An API token from Settings > API Keys"))
                    .build(),
            ),
        );
    }
}

/// The document as JSON.
pub fn json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}
