//! The project server functions (a door): the Projects pages' list,
//! create, settings and delete, for the signed-in owner.

use leptos::prelude::*;

use crate::error::AppError;
use crate::projects::*;
#[cfg(feature = "ssr")]
use crate::types::Timestamp;

/// The signed-in owner's projects.
#[server(prefix = "/rpc", endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<Project>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    service::list_all(&cx.state.db, me.user.id)
        .await
        .map_err(|e| AppError::db("list projects", e))
}

/// One of the owner's projects.
#[server(prefix = "/rpc", endpoint = "projects/get")]
pub async fn get_project(id: String) -> Result<Project, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    match service::get(&cx.state.db, &crate::projects::Reach::all(me.user.id), &id)
        .await
        .map_err(|e| AppError::db("get project", e))?
    {
        crate::types::Lookup::Found(p) => Ok(p),
        _ => Err(AppError::NotFound("No such project.".into())),
    }
}

/// Creates a project for the signed-in owner.
#[server(prefix = "/rpc", endpoint = "projects/create")]
pub async fn create_project(
    name: String,
    description: Option<String>,
    settings: Option<String>,
) -> Result<Project, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let settings = settings_field(settings)?;
    service::create(
        &cx.state.db,
        me.user.id,
        &name,
        description.as_deref(),
        settings,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}

/// Replaces a project's description and settings.
#[server(prefix = "/rpc", endpoint = "projects/update")]
pub async fn update_project(
    id: String,
    description: Option<String>,
    settings: Option<String>,
) -> Result<Project, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let settings = settings_field(settings)?;
    service::update(
        &cx.state.db,
        me.user.id,
        &id,
        description.as_deref(),
        settings,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}

/// The settings editor's text, parsed (its errors shown by the field).
#[cfg(feature = "ssr")]
fn settings_field(
    text: Option<String>,
) -> Result<std::collections::BTreeMap<String, String>, AppError> {
    parse_settings(text.as_deref().unwrap_or_default()).map_err(|m| AppError::field("settings", m))
}
