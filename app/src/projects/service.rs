//! Project queries, always filtered on the caller's [`Reach`]: the owner's
//! account id and, for a restricted token, its projects.

use std::collections::BTreeMap;

use super::{Project, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, SETTINGS_MAX_KEYS};
use crate::{
    db::{is_unique_violation, Db},
    fault::{Fault, Input},
    types::{AccountId, Lookup, Page, Timestamp},
};

use super::Reach;

const COLUMNS: &str = "id, name, description, settings, created_at, updated_at";

/// A project as `projects` stores it.
#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: String,
    name: String,
    description: Option<String>,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            name: r.name,
            description: r.description,
            settings: serde_json::from_str(&r.settings).unwrap_or_default(),
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        }
    }
}

fn validate(
    name: Option<&str>,
    description: Option<&str>,
    settings: &BTreeMap<String, String>,
) -> Result<(), Fault> {
    if let Some(name) = name {
        if name.is_empty() {
            return Err(Fault::invalid(
                Input::ProjectName,
                "Give the project a name.",
            ));
        }
        if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
            return Err(Fault::invalid(
                Input::ProjectName,
                format!("Use at most {NAME_MAX_CHARS} characters on one line."),
            ));
        }
    }
    if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS) {
        return Err(Fault::invalid(
            Input::ProjectDescription,
            format!("Use at most {DESCRIPTION_MAX_CHARS} characters."),
        ));
    }
    if settings.len() > SETTINGS_MAX_KEYS {
        return Err(Fault::invalid(
            Input::ProjectSettings,
            format!("At most {SETTINGS_MAX_KEYS} settings."),
        ));
    }
    for (k, v) in settings {
        super::check_setting(k, v).map_err(|m| Fault::invalid(Input::ProjectSettings, m))?;
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    owner: AccountId,
    name: &str,
    description: Option<&str>,
    settings: BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Project, Fault> {
    let name = name.trim();
    let description = description.map(str::trim).filter(|d| !d.is_empty());
    validate(Some(name), description, &settings)?;
    let project = Project {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_string(),
        description: description.map(str::to_string),
        settings,
        created_at: now,
        updated_at: now,
    };
    let result = sqlx::query(
        "INSERT INTO projects (id, account_id, name, description, settings, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&project.id)
    .bind(owner.to_string())
    .bind(&project.name)
    .bind(project.description.as_deref())
    .bind(serde_json::to_string(&project.settings).unwrap_or_else(|_| "{}".into()))
    .bind(now.millis())
    .execute(db)
    .await;
    match result {
        Ok(_) => Ok(project),
        Err(e) if is_unique_violation(&e) => Err(Fault::invalid(
            Input::ProjectName,
            "You already have a project with this name.",
        )),
        Err(e) => Err(Fault::db("create project", e)),
    }
}

pub async fn update(
    db: &Db,
    owner: AccountId,
    id: &str,
    description: Option<&str>,
    settings: BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Project, Fault> {
    let description = description.map(str::trim).filter(|d| !d.is_empty());
    validate(None, description, &settings)?;
    let done = sqlx::query(
        "UPDATE projects SET description = $1, settings = $2, updated_at = $3 WHERE id = $4 AND account_id = $5",
    )
    .bind(description)
    .bind(serde_json::to_string(&settings).unwrap_or_else(|_| "{}".into()))
    .bind(now.millis())
    .bind(id)
    .bind(owner.to_string())
    .execute(db)
    .await
    .map_err(|e| Fault::db("update project", e))?;
    if done.rows_affected() == 0 {
        return Err(Fault::NotFound("No such project.".into()));
    }
    match get(db, &Reach::all(owner), id)
        .await
        .map_err(|e| Fault::db("update project", e))?
    {
        Lookup::Found(p) => Ok(p),
        _ => Err(Fault::NotFound("No such project.".into())),
    }
}

/// Every project of the owner, by name (the dashboard).
pub async fn list_all(db: &Db, owner: AccountId) -> Result<Vec<Project>, sqlx::Error> {
    let rows: Vec<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects WHERE account_id = $1 ORDER BY name, id"
    ))
    .bind(owner.to_string())
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Project::from).collect())
}

/// A page of the projects `who` reaches, in creation order (the API).
pub async fn list_page(
    db: &Db,
    who: &Reach,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Project>, sqlx::Error> {
    let rows: Vec<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects WHERE {} AND id > $3 ORDER BY id LIMIT $4",
        Reach::filter("account_id", "id", 1, 2)
    ))
    .bind(who.account_value())
    .bind(who.token_value())
    .bind(after.unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let mut items: Vec<Project> = rows.into_iter().map(Project::from).collect();
    Ok(paginate(&mut items, limit, |p| p.id.clone()))
}

/// Trims the one extra row fetched and derives the next cursor from it.
pub fn paginate<T>(items: &mut Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Page<T>
where
    T: Clone,
{
    let more = items.len() as i64 > limit;
    items.truncate(limit.max(0) as usize);
    let next_cursor = if more {
        items
            .last()
            .map(|last| crate::types::encode_cursor(&id(last)))
    } else {
        None
    };
    Page {
        items: std::mem::take(items),
        next_cursor,
    }
}

/// The project with `id`, if `who` reaches it.
pub async fn get(db: &Db, who: &Reach, id: &str) -> Result<Lookup<Project>, sqlx::Error> {
    let row: Option<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects WHERE id = $1 AND {}",
        Reach::filter("account_id", "id", 2, 3)
    ))
    .bind(id)
    .bind(who.account_value())
    .bind(who.token_value())
    .fetch_optional(db)
    .await?;
    if let Some(row) = row {
        return Ok(Lookup::Found(row.into()));
    }
    exists_elsewhere(db, "projects", id).await
}

/// Distinguishes "someone else's" from "no such row" after an owner-filtered
/// lookup found nothing. Reveals only existence, and ids are unguessable.
pub async fn exists_elsewhere<T>(
    db: &Db,
    table: &'static str,
    id: &str,
) -> Result<Lookup<T>, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) AS n FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_one(db)
        .await?;
    Ok(if n > 0 {
        Lookup::OtherOwner
    } else {
        Lookup::Missing
    })
}
