//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! the DTOs (utoipa), served at `/api/openapi.json`.

use utoipa::{
    openapi::{
        content::ContentBuilder,
        header::{Header, HeaderBuilder},
        path::Operation,
        schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Ref, RefOr, ResponseBuilder,
    },
    Modify, OpenApi,
};

use super::{dto::*, rotation, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Preqstation API",
        version = "1",
        description = "The bearer-token API for coding agents. Send `Authorization: Bearer <token>`; create tokens in \
                       Settings > API Keys. Errors use one envelope: `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        routes::token::whoami,
        routes::token::token_self,
        routes::token::revoke_self,
        routes::token::verify,
        rotation::rotate_self,
        super::leak_report::report,
        routes::project::list_projects,
        routes::project::get_project,
        routes::task::list_tasks,
        routes::task::create_task,
        routes::task::get_task,
        routes::task::update_task,
        routes::worklog::list_worklogs,
        routes::worklog::create_worklog,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, WhoAmI, AccountRef, TokenInfo, ProjectRef, VerifyRequest, VerifyResponse, ProjectDto,
        ProjectList, RotateRequest, RotateGrace, RotatedToken, TaskDto, TaskList, CreateTask, UpdateTask, WorkLogDto, WorkLogList, CreateWorkLog,
        crate::tasks::TaskStatus
    )),
    modifiers(&BearerAuth, &Contract),
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

/// What the derive cannot say: the rules every operation shares (its
/// response headers, the 503 any request can meet) and `minProperties` on
/// the PATCH body (utoipa-gen 5.5 emits `min_properties` as `maxProperties`).
struct Contract;

fn header(schema: impl Into<RefOr<Schema>>, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

fn string() -> Object {
    Object::with_type(Type::String)
}

impl Contract {
    fn operation(op: &mut Operation) {
        let bearer = op.security.as_ref().is_some_and(|s| !s.is_empty());
        let unavailable = ResponseBuilder::new()
            .description("Overloaded or a dependency timed out; retry after `Retry-After` seconds")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        op.responses
            .responses
            .entry("503".into())
            .or_insert(unavailable.into());
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            let h = &mut response.headers;
            h.insert("X-Request-Id".into(), header(string(), "This request's id (yours if you sent a valid one); quote it in support requests"));
            h.insert(
                "RateLimit-Policy".into(),
                header(
                    string(),
                    "The limit that applies, e.g. `600;w=60` (IETF RateLimit fields draft)",
                ),
            );
            h.insert(
                "RateLimit".into(),
                header(
                    string(),
                    "What is left of it, e.g. `limit=600, remaining=599, reset=60`",
                ),
            );
            match status.as_str() {
                "401" | "403" => {
                    h.insert("WWW-Authenticate".into(), header(string(), "RFC 6750 challenge: `invalid_token`, or `insufficient_scope` with the scope needed"));
                }
                "429" | "503" => {
                    h.insert(
                        "Retry-After".into(),
                        header(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .minimum(Some(0))
                                .build(),
                            "Seconds to wait before retrying",
                        ),
                    );
                }
                s if bearer && s.starts_with('2') => {
                    let when = ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                        .build();
                    h.insert(
                        "Preqstation-Token-Expiration".into(),
                        header(
                            when,
                            "When the calling token expires; absent if it never does",
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
                &mut item.put,
            ]
            .into_iter()
            .flatten()
            {
                Self::operation(op);
            }
        }
        if let Some(RefOr::T(Schema::Object(update))) = openapi
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("UpdateTask"))
        {
            update.min_properties = Some(1);
        }
    }
}

/// The document as JSON.
pub fn json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}
