//! The API's JSON shapes (its public contract, separate from the dashboard's
//! types): times are RFC 3339 UTC strings, lists are one generic
//! [`List`] `{data, next_cursor}`. Each has a `ToSchema` for the OpenAPI
//! document (derived, except [`List`]'s, which names each list).

use std::{borrow::Cow, collections::BTreeMap};

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{
    openapi::{
        schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type},
        Ref, RefOr,
    },
    PartialSchema, ToSchema,
};

use crate::{
    projects::Project,
    tasks::{Task, TaskStatus, WorkLog},
    types::{Page, Timestamp},
};

fn time(t: Timestamp) -> String {
    t.rfc3339()
}

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `BAD_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `METHOD_NOT_ALLOWED`, `CONFLICT`,
    /// `PAYLOAD_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`, `VALIDATION_FAILED`, `RATE_LIMITED`,
    /// `SERVICE_UNAVAILABLE`, `INTERNAL_ERROR`.
    #[schema(example = "UNAUTHORIZED")]
    pub code: String,
    #[schema(example = "Missing or invalid authorization header")]
    pub message: String,
    /// The offending field, on `VALIDATION_FAILED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountRef {
    pub id: String,
    pub email: String,
}

/// A token as the API describes it (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    /// The first 12 characters of the token.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    /// `null`: never expires.
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    /// `GET /api/tokens/self` only: the networks the token may be used
    /// from (CIDRs); empty: any IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Vec<String>>,
    /// `GET /api/tokens/self` only, and only for a token limited to some
    /// projects: those projects. Absent: every project of the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<ProjectRef>>,
    /// A task-scoped token only: the one task it works on, and the token it
    /// acts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskBindingDto>,
    /// Calls left of the token's usage limit (absent: no limit). Every
    /// answer also carries it in `Preqstation-Usage-Remaining`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_remaining: Option<i64>,
}

/// What a task-scoped token is bound to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskBindingDto {
    pub task_id: String,
    /// The prefix of the token it was exchanged from (its subject).
    pub acting_for: String,
}

/// A project by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    pub account: AccountRef,
    pub token: TokenInfo,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The token to check (sent in the body, never in the URL).
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// True only for an active token of the caller's own account.
    pub valid: bool,
    /// `active`, `expired`, `revoked`, or `invalid` (malformed, unknown, or another account's).
    pub status: String,
    pub name: Option<String>,
    pub prefix: Option<String>,
    pub expires_at: Option<String>,
}

/// One page of a list: `{"data": [...], "next_cursor": "..." | null}`,
/// mapped from the services' [`Page`] (each item through its DTO's `From`).
#[derive(Debug, Serialize)]
pub struct List<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// The lists by name. `utoipa::path` and `#[openapi]` must be given these
// names: spelled `List<ProjectDto>` there, the macros would compose the
// schema name with the generic arguments appended (`..._ProjectDto`).
pub type ProjectList = List<ProjectDto>;
pub type TaskList = List<TaskDto>;
pub type WorkLogList = List<WorkLogDto>;

impl<T, D: From<T>> From<Page<T>> for List<D> {
    fn from(p: Page<T>) -> Self {
        Self {
            data: p.items.into_iter().map(D::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// An item the API lists in pages, with the OpenAPI name of its list
/// (each list is its own schema, as clients generated from the document
/// expect: `ProjectList`, not `List_ProjectDto`).
pub trait Listed: ToSchema {
    const LIST: &'static str;
}

impl Listed for ProjectDto {
    const LIST: &'static str = "ProjectList";
}

impl Listed for TaskDto {
    const LIST: &'static str = "TaskList";
}

impl Listed for WorkLogDto {
    const LIST: &'static str = "WorkLogList";
}

/// What `#[derive(ToSchema)]` would say of a `List` of one item type:
/// `data` (required) an array of the item's schema, `next_cursor` a
/// string or null.
impl<T: Listed> PartialSchema for List<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "data",
                ArrayBuilder::new().items(Ref::from_schema_name(T::name())),
            )
            .required("data")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some(
                        "Pass as `cursor` for the next page; `null` on the last page.",
                    )),
            )
            .into()
    }
}

impl<T: Listed> ToSchema for List<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(T::LIST)
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into(), T::schema()));
        T::schemas(schemas);
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDto {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// String keys to string values (docs/api.md).
    pub settings: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Project> for ProjectDto {
    fn from(p: Project) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            settings: p.settings,
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
    pub result: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Prefix of the token that created the task; `null` if made in the dashboard.
    pub created_by: Option<String>,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        Self {
            id: t.id,
            project_id: t.project_id,
            title: t.title,
            description: t.description,
            status: t.status,
            result: t.result,
            created_at: time(t.created_at),
            updated_at: time(t.updated_at),
            created_by: t.created_by,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    #[schema(value_type = uuid::Uuid)]
    pub project_id: String,
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// Defaults to `todo`.
    pub status: Option<TaskStatus>,
}

/// At least one field. `result: null` clears the result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    /// Omit it to keep the status; it cannot be `null`.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = TaskStatus)]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub result: Option<Option<String>>,
}

/// An optional field that may be omitted but not sent as `null`.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "cannot be null; omit the field instead",
        )),
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// An optional integer that also accepts a JSON number with a zero fraction
/// (`68.0`), which JSON Schema's `integer` includes; `68.5` is refused.
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!(
            "expected a whole number in range, got {n}"
        ))),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkLogDto {
    pub id: String,
    pub task_id: String,
    pub message: String,
    pub minutes: Option<i64>,
    pub created_at: String,
    pub created_by: Option<String>,
}

impl From<WorkLog> for WorkLogDto {
    fn from(l: WorkLog) -> Self {
        Self {
            id: l.id,
            task_id: l.task_id,
            message: l.message,
            minutes: l.minutes,
            created_at: time(l.created_at),
            created_by: l.created_by,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkLog {
    /// 1-10,000 characters.
    #[schema(min_length = 1, max_length = 10000, pattern = "\\S")]
    pub message: String,
    /// Time spent, 0-100000. `68.0` is the integer 68, as JSON Schema counts it.
    #[schema(minimum = 0, maximum = 100000)]
    #[serde(default, deserialize_with = "whole_number")]
    pub minutes: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the calling token keeps working: `none`, `1h` (default), `24h`, `7d`; it stops earlier at
    /// the successor's first use.
    pub grace: Option<RotateGrace>,
}

/// A rotation's grace period, as the API spells it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum RotateGrace {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "24h")]
    OneDay,
    #[serde(rename = "7d")]
    SevenDays,
}

impl From<RotateGrace> for crate::tokens::service::Grace {
    fn from(g: RotateGrace) -> Self {
        match g {
            RotateGrace::None => Self::None,
            RotateGrace::OneHour => Self::OneHour,
            RotateGrace::OneDay => Self::OneDay,
            RotateGrace::SevenDays => Self::SevenDays,
        }
    }
}

/// The successor, shown exactly once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedToken {
    pub token: String,
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// The calling token works until then, or until the successor is first used.
    pub previous_token_valid_until: String,
}
