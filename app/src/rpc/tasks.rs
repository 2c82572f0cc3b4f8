//! The task server functions (a door): the project page's tasks and a
//! task's work logs, for the signed-in owner.

use leptos::prelude::*;

use crate::error::AppError;
use crate::tasks::*;
#[cfg(feature = "ssr")]
use crate::{projects::Reach, types::Timestamp};

/// A project's tasks (optionally one status) with their latest work logs.
#[server(prefix = "/rpc", endpoint = "tasks/for-project")]
pub async fn project_tasks(
    project_id: String,
    status: Option<String>,
) -> Result<Vec<TaskWithLogs>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let status = match status.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(s) => {
            Some(TaskStatus::parse(s).ok_or_else(|| AppError::field("status", "Unknown status."))?)
        }
    };
    service::for_project_with_logs(
        &cx.state.db,
        me.user.id,
        &project_id,
        status,
        LATEST_LOGS_PER_TASK,
    )
    .await
    .map_err(|e| AppError::db("project tasks", e))
}

/// A page of one task's work logs, oldest first: the same paginated query
/// as `GET /api/tasks/{id}/worklogs`, with the same cursors.
#[server(prefix = "/rpc", endpoint = "tasks/logs")]
pub async fn task_logs(task_id: String, cursor: Option<String>) -> Result<TaskLogPage, AppError> {
    use crate::types::Lookup;
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let after = match cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(crate::types::decode_cursor(c).ok_or_else(|| {
            AppError::field("cursor", "This is not a link to a page of work logs.")
        })?),
    };
    let missing = || AppError::NotFound("No such task.".into());
    let task = match service::get(&cx.state.db, &Reach::all(me.user.id), &task_id)
        .await
        .map_err(|e| AppError::db("task logs", e))?
    {
        Lookup::Found(t) => t,
        _ => return Err(missing()),
    };
    match service::logs_page(
        &cx.state.db,
        &Reach::all(me.user.id),
        &task.id,
        after.as_deref(),
        LOGS_PER_PAGE,
    )
    .await
    .map_err(|e| AppError::db("task logs", e))?
    {
        Lookup::Found(page) => Ok(TaskLogPage {
            task,
            logs: page.items,
            next_cursor: page.next_cursor,
        }),
        _ => Err(missing()),
    }
}

/// Changes a task's status from the dashboard.
#[server(prefix = "/rpc", endpoint = "tasks/status")]
pub async fn set_task_status(id: String, status: String) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let status = TaskStatus::parse(status.trim())
        .ok_or_else(|| AppError::field("status", "Unknown status."))?;
    let change = service::TaskChange {
        status: Some(status),
        result: None,
    };
    match service::update(
        &cx.state.db,
        &Reach::all(me.user.id),
        &id,
        change,
        Timestamp::now(),
    )
    .await?
    {
        crate::types::Lookup::Found(_) => Ok(()),
        _ => Err(AppError::NotFound("No such task.".into())),
    }
}
