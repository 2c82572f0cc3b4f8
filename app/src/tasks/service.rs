//! Task and work-log queries, always filtered on the caller's
//! [`Reach`]: the owner's account id and, for a restricted token, its
//! projects.

use crate::projects::Reach;
use std::collections::HashMap;

use super::{
    Task, TaskStatus, TaskWithLogs, WorkLog, PROJECT_PAGE_TASKS, TEXT_MAX_CHARS, TITLE_MAX_CHARS,
};
use crate::{
    db::Db,
    fault::{Fault, Input},
    projects::service::{exists_elsewhere, paginate},
    types::{AccountId, Lookup, Page, Timestamp},
};

const TASK_COLUMNS: &str =
    "id, project_id, title, description, status, result, created_at, updated_at, created_by";
const LOG_COLUMNS: &str = "id, task_id, message, minutes, created_at, created_by";

/// A task as `tasks` stores it ([`TASK_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct TaskRow {
    id: String,
    project_id: String,
    title: String,
    description: Option<String>,
    status: String,
    result: Option<String>,
    created_at: i64,
    updated_at: i64,
    created_by: Option<String>,
}

impl TryFrom<TaskRow> for Task {
    type Error = sqlx::Error;

    fn try_from(r: TaskRow) -> Result<Self, sqlx::Error> {
        Ok(Task {
            status: TaskStatus::parse(&r.status)
                .ok_or_else(|| sqlx::Error::Decode("bad task status".into()))?,
            id: r.id,
            project_id: r.project_id,
            title: r.title,
            description: r.description,
            result: r.result,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            created_by: r.created_by,
        })
    }
}

/// A work log as `work_logs` stores it ([`LOG_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct LogRow {
    id: String,
    task_id: String,
    message: String,
    minutes: Option<i64>,
    created_at: i64,
    created_by: Option<String>,
}

impl From<LogRow> for WorkLog {
    fn from(r: LogRow) -> Self {
        WorkLog {
            id: r.id,
            task_id: r.task_id,
            message: r.message,
            minutes: r.minutes,
            created_at: Timestamp(r.created_at),
            created_by: r.created_by,
        }
    }
}

/// A work log with how many its task has ([`latest_logs`]).
#[derive(sqlx::FromRow)]
struct CountedLogRow {
    #[sqlx(flatten)]
    log: LogRow,
    total: i64,
}

fn check_text(input: Input, value: Option<&str>) -> Result<(), Fault> {
    if value.is_some_and(|v| v.chars().count() > TEXT_MAX_CHARS) {
        return Err(Fault::invalid(
            input,
            format!("Use at most {TEXT_MAX_CHARS} characters."),
        ));
    }
    Ok(())
}

/// A new task, validated.
pub struct NewTask {
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
}

impl NewTask {
    pub fn validate(
        project_id: &str,
        title: &str,
        description: Option<&str>,
        status: Option<TaskStatus>,
    ) -> Result<Self, Fault> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Fault::invalid(Input::TaskTitle, "A task needs a title."));
        }
        if title.chars().count() > TITLE_MAX_CHARS || title.chars().any(char::is_control) {
            return Err(Fault::invalid(
                Input::TaskTitle,
                format!("Use at most {TITLE_MAX_CHARS} characters on one line."),
            ));
        }
        check_text(Input::TaskDescription, description)?;
        Ok(Self {
            project_id: project_id.trim().to_string(),
            title: title.to_string(),
            description: description
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            status: status.unwrap_or(TaskStatus::Todo),
        })
    }
}

/// Creates a task in one of the owner's projects. `Lookup::OtherOwner` when
/// the project is someone else's.
pub async fn create(
    db: &Db,
    who: &Reach,
    new: NewTask,
    created_by: Option<&str>,
    now: Timestamp,
) -> Result<Lookup<Task>, Fault> {
    match crate::projects::service::get(db, who, &new.project_id)
        .await
        .map_err(|e| Fault::db("create task", e))?
    {
        Lookup::Found(_) => {}
        Lookup::OtherOwner => return Ok(Lookup::OtherOwner),
        Lookup::Missing => return Err(Fault::invalid(Input::Project, "No such project.")),
    }
    let task = Task {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: new.project_id,
        title: new.title,
        description: new.description,
        status: new.status,
        result: None,
        created_at: now,
        updated_at: now,
        created_by: created_by.map(str::to_string),
    };
    sqlx::query(
        "INSERT INTO tasks (id, account_id, project_id, title, description, status, created_at, updated_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
    )
    .bind(&task.id)
    .bind(who.account_value())
    .bind(&task.project_id)
    .bind(&task.title)
    .bind(task.description.as_deref())
    .bind(task.status.as_str())
    .bind(now.millis())
    .bind(created_by)
    .execute(db)
    .await
    .map_err(|e| Fault::db("create task", e))?;
    Ok(Lookup::Found(task))
}

/// The task with `id`, if `who` reaches its project.
pub async fn get(db: &Db, who: &Reach, id: &str) -> Result<Lookup<Task>, sqlx::Error> {
    let row: Option<TaskRow> = sqlx::query_as(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND {} AND {}",
        Reach::filter("account_id", "project_id", 2, 3),
        Reach::task_filter("id", 4)
    ))
    .bind(id)
    .bind(who.account_value())
    .bind(who.token_value())
    .bind(who.task_value())
    .fetch_optional(db)
    .await?;
    match row {
        Some(r) => Ok(Lookup::Found(r.try_into()?)),
        None => exists_elsewhere(db, "tasks", id).await,
    }
}

/// What a PATCH changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskChange {
    pub status: Option<TaskStatus>,
    /// `Some(None)` clears the result.
    pub result: Option<Option<String>>,
}

pub async fn update(
    db: &Db,
    who: &Reach,
    id: &str,
    change: TaskChange,
    now: Timestamp,
) -> Result<Lookup<Task>, Fault> {
    if let Some(Some(r)) = &change.result {
        check_text(Input::TaskResult, Some(r))?;
    }
    // One conditional statement: each field changes only if it was sent, so
    // two agents updating different fields of one task at once both land
    // (a read-then-write here lost one of them).
    let set_result = change.result.is_some();
    sqlx::query(&format!(
        "UPDATE tasks SET \
           status = CASE WHEN $1 = 1 THEN $2 ELSE status END, \
           result = CASE WHEN $3 = 1 THEN $4 ELSE result END, \
           updated_at = $5 \
         WHERE id = $6 AND {} AND {}",
        Reach::filter("account_id", "project_id", 7, 8),
        Reach::task_filter("id", 9)
    ))
    .bind(i64::from(change.status.is_some()))
    .bind(change.status.map(TaskStatus::as_str).unwrap_or(""))
    .bind(i64::from(set_result))
    .bind(change.result.flatten())
    .bind(now.millis())
    .bind(id)
    .bind(who.account_value())
    .bind(who.token_value())
    .bind(who.task_value())
    .execute(db)
    .await
    .map_err(|e| Fault::db("update task", e))?;
    // The task as stored now (or why there is none for this caller).
    get(db, who, id)
        .await
        .map_err(|e| Fault::db("update task", e))
}

/// A page of the owner's tasks, optionally of one project and one status,
/// on the pool or on one connection.
pub async fn list_page<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    who: &Reach,
    project_id: Option<&str>,
    status: Option<TaskStatus>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Task>, sqlx::Error> {
    let rows: Vec<TaskRow> = sqlx::query_as(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE {} AND id > $3 \
         AND ($4 = '' OR project_id = $4) AND ($5 = '' OR status = $5) ORDER BY id LIMIT $6",
        Reach::filter("account_id", "project_id", 1, 2)
    ))
    .bind(who.account_value())
    .bind(who.token_value())
    .bind(after.unwrap_or(""))
    .bind(project_id.unwrap_or(""))
    .bind(status.map(TaskStatus::as_str).unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let mut items = rows
        .into_iter()
        .map(Task::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(&mut items, limit, |t| t.id.clone()))
}

/// A project's tasks, newest first, each with its latest `per_task` work
/// logs and how many it has (the dashboard). Only the logs of the tasks
/// returned are read, and only the latest few of each; the rest are a
/// link away ([`logs_page`]).
pub async fn for_project_with_logs(
    db: &Db,
    owner: AccountId,
    project_id: &str,
    status: Option<TaskStatus>,
    per_task: i64,
) -> Result<Vec<TaskWithLogs>, sqlx::Error> {
    let rows: Vec<TaskRow> = sqlx::query_as(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE account_id = $1 AND project_id = $2 AND ($3 = '' OR status = $3) \
         ORDER BY id DESC LIMIT {PROJECT_PAGE_TASKS}"
    ))
    .bind(owner.to_string())
    .bind(project_id)
    .bind(status.map(TaskStatus::as_str).unwrap_or(""))
    .fetch_all(db)
    .await?;
    let tasks = rows
        .into_iter()
        .map(Task::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    let mut latest = latest_logs(db, owner, &ids, per_task).await?;
    Ok(tasks
        .into_iter()
        .map(|task| {
            let (logs, log_count) = latest.remove(&task.id).unwrap_or_default();
            TaskWithLogs {
                task,
                logs,
                log_count,
            }
        })
        .collect())
}

/// The latest `per_task` work logs of each of these tasks (oldest of them
/// first) and each task's number of logs, by task id. One query: the inner
/// one ranks and counts on the `(task_id, id)` index and the owner column
/// without reading any message; messages are read for the chosen rows only.
async fn latest_logs(
    db: &Db,
    owner: AccountId,
    task_ids: &[&str],
    per_task: i64,
) -> Result<HashMap<String, (Vec<WorkLog>, i64)>, sqlx::Error> {
    let mut out: HashMap<String, (Vec<WorkLog>, i64)> = HashMap::new();
    if task_ids.is_empty() || per_task <= 0 {
        return Ok(out);
    }
    let list = (0..task_ids.len())
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT w.id, w.task_id, w.message, w.minutes, w.created_at, w.created_by, r.total \
         FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY id DESC) AS rn, \
                      COUNT(*) OVER (PARTITION BY task_id) AS total \
               FROM work_logs WHERE account_id = $1 AND task_id IN ({list})) r \
         JOIN work_logs w ON w.id = r.id \
         WHERE r.rn <= $2 AND w.account_id = $1 ORDER BY w.id"
    );
    let mut query = sqlx::query_as::<_, CountedLogRow>(&sql)
        .bind(owner.to_string())
        .bind(per_task);
    for id in task_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(db).await? {
        let CountedLogRow { log, total } = row;
        let log = WorkLog::from(log);
        let entry = out.entry(log.task_id.clone()).or_default();
        entry.1 = total;
        entry.0.push(log);
    }
    Ok(out)
}

/// Adds a work log to one of the owner's tasks.
pub async fn add_log(
    db: &Db,
    who: &Reach,
    task_id: &str,
    message: &str,
    minutes: Option<i64>,
    created_by: Option<&str>,
    now: Timestamp,
) -> Result<Lookup<WorkLog>, Fault> {
    let message = message.trim();
    if message.is_empty() {
        return Err(Fault::invalid(
            Input::WorkLogMessage,
            "A work log needs a message.",
        ));
    }
    check_text(Input::WorkLogMessage, Some(message))?;
    if minutes.is_some_and(|m| !(0..=100_000).contains(&m)) {
        return Err(Fault::invalid(
            Input::WorkLogMinutes,
            "Minutes must be between 0 and 100000.",
        ));
    }
    match get(db, who, task_id)
        .await
        .map_err(|e| Fault::db("add work log", e))?
    {
        Lookup::Found(_) => {}
        Lookup::OtherOwner => return Ok(Lookup::OtherOwner),
        Lookup::Missing => return Ok(Lookup::Missing),
    }
    let log = WorkLog {
        id: uuid::Uuid::now_v7().to_string(),
        task_id: task_id.to_string(),
        message: message.to_string(),
        minutes,
        created_at: now,
        created_by: created_by.map(str::to_string),
    };
    sqlx::query(
        "INSERT INTO work_logs (id, account_id, task_id, message, minutes, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&log.id)
    .bind(who.account_value())
    .bind(task_id)
    .bind(&log.message)
    .bind(minutes)
    .bind(now.millis())
    .bind(created_by)
    .execute(db)
    .await
    .map_err(|e| Fault::db("add work log", e))?;
    Ok(Lookup::Found(log))
}

/// A page of a task's work logs, oldest first.
pub async fn logs_page(
    db: &Db,
    who: &Reach,
    task_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Lookup<Page<WorkLog>>, sqlx::Error> {
    match get(db, who, task_id).await? {
        Lookup::Found(_) => {}
        Lookup::OtherOwner => return Ok(Lookup::OtherOwner),
        Lookup::Missing => return Ok(Lookup::Missing),
    }
    let rows: Vec<LogRow> = sqlx::query_as(&format!(
        "SELECT {LOG_COLUMNS} FROM work_logs WHERE account_id = $1 AND task_id = $2 AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(who.account_value())
    .bind(task_id)
    .bind(after.unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let mut items: Vec<WorkLog> = rows.into_iter().map(WorkLog::from).collect();
    Ok(Lookup::Found(paginate(&mut items, limit, |l| l.id.clone())))
}
