//! Reading tokens: the list (filtered, paginated, counted by status), one
//! token, and a presented token inspected without using it.

use crate::tokens::{
    allowlist::IpAllowlist,
    format::{self},
    Scope, StatusCounts, TokenPage, TokenProject, TokenStatus, TokenView,
};

/// Rows per page of the dashboard's list.
pub const PAGE_SIZE: i64 = 50;
use crate::{
    config::Config,
    db::Db,
    types::{AccountId, Timestamp},
};

/// SQL for "active at $2": not revoked, not expired.
/// A predecessor in its rotation grace period is not counted: the pair
/// takes one slot and the successor may reuse the name.
pub(super) const ACTIVE: &str =
    "revoked_at IS NULL AND rotated_to IS NULL AND (expires_at IS NULL OR expires_at > $2)";

pub(super) const VIEW_COLUMNS: &str = "t.id, t.name, t.description, t.prefix, t.scopes, t.created_at, t.expires_at, \
     t.last_used_at, t.last_used_ip, t.last_used_ua, t.revoked_at, r.email AS revoked_by_email, t.revoked_reason, \
     t.grace_until, (SELECT s.prefix FROM api_tokens s WHERE s.id = t.rotated_to) AS successor_prefix, \
     (SELECT s.first_used_at FROM api_tokens s WHERE s.id = t.rotated_to) AS successor_used_at, t.allowed_ips, \
     t.projects_restricted";

/// A token as the dashboard shows it, with [`VIEW_COLUMNS`].
#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    name: String,
    description: Option<String>,
    prefix: String,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    last_used_ua: Option<String>,
    revoked_at: Option<i64>,
    revoked_by_email: Option<String>,
    revoked_reason: Option<String>,
    grace_until: Option<i64>,
    successor_prefix: Option<String>,
    successor_used_at: Option<i64>,
    allowed_ips: Option<String>,
    projects_restricted: i64,
}

fn view_from_row(row: ViewRow, now: Timestamp) -> TokenView {
    let grace_over = row.successor_prefix.is_some()
        && (row.grace_until.is_none_or(|g| g <= now.millis()) || row.successor_used_at.is_some());
    let status = if row.revoked_at.is_some() || grace_over {
        TokenStatus::Revoked
    } else if row.expires_at.is_some_and(|e| e <= now.millis()) {
        TokenStatus::Expired
    } else {
        TokenStatus::Active
    };
    TokenView {
        id: row.id,
        name: row.name,
        description: row.description,
        prefix: row.prefix,
        scopes: Scope::split(&row.scopes),
        created_at: Timestamp(row.created_at),
        expires_at: row.expires_at.map(Timestamp),
        last_used_at: row.last_used_at.map(Timestamp),
        last_used_ip: row.last_used_ip,
        last_used_client: row.last_used_ua,
        status,
        revoked_at: row.revoked_at.map(Timestamp),
        revoked_by: row.revoked_by_email,
        revoked_reason: row.revoked_reason,
        rotated_to: row.successor_prefix,
        grace_until: if grace_over {
            None
        } else {
            row.grace_until.map(Timestamp)
        },
        allowed_ips: IpAllowlist::from_stored(row.allowed_ips.as_deref()).entries(),
        // Filled by [`attach_projects`].
        projects: (row.projects_restricted != 0).then(Vec::new),
        now,
    }
}

/// The status of token `t` at `$2`, in SQL, exactly as [`view_from_row`]
/// decides it, so a filter and the badge agree whether or not the sweep has
/// run: a rotated token whose grace ended (or whose successor was used) is
/// revoked already.
const REVOKED_SQL: &str =
    "(t.revoked_at IS NOT NULL OR (t.rotated_to IS NOT NULL AND (t.grace_until IS NULL \
     OR t.grace_until <= $2 OR EXISTS (SELECT 1 FROM api_tokens s WHERE s.id = t.rotated_to \
     AND s.first_used_at IS NOT NULL))))";

fn status_filter(status: Option<TokenStatus>, hide_revoked: bool) -> String {
    match status {
        None if hide_revoked => format!("AND NOT {REVOKED_SQL}"),
        None => String::new(),
        Some(TokenStatus::Active) => {
            format!("AND NOT {REVOKED_SQL} AND (t.expires_at IS NULL OR t.expires_at > $2)")
        }
        Some(TokenStatus::Expired) => format!("AND NOT {REVOKED_SQL} AND t.expires_at <= $2"),
        Some(TokenStatus::Revoked) if hide_revoked => "AND 1 = 0".into(),
        Some(TokenStatus::Revoked) => format!("AND {REVOKED_SQL}"),
    }
}

/// The owner's tokens, newest first.
pub async fn list(
    db: &Db,
    owner: AccountId,
    status: Option<TokenStatus>,
    hide_revoked: bool,
    now: Timestamp,
) -> Result<Vec<TokenView>, sqlx::Error> {
    let filter = status_filter(status, hide_revoked);
    // $2 is bound in every variant so the placeholder count is fixed.
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND $2 = $2 {filter} ORDER BY t.created_at DESC, t.id DESC"
    );
    let rows: Vec<ViewRow> = sqlx::query_as(&sql)
        .bind(owner.to_string())
        .bind(now.millis())
        .fetch_all(db)
        .await?;
    let mut views: Vec<TokenView> = rows.into_iter().map(|r| view_from_row(r, now)).collect();
    attach_projects(db, &mut views).await?;
    Ok(views)
}

/// Fills in the projects of the restricted tokens among `views` (one
/// query for all of them).
pub(super) async fn attach_projects(db: &Db, views: &mut [TokenView]) -> Result<(), sqlx::Error> {
    let restricted: Vec<&str> = views
        .iter()
        .filter(|v| v.projects.is_some())
        .map(|v| v.id.as_str())
        .collect();
    let rows = projects_of(db, &restricted).await?;
    for view in views.iter_mut() {
        if let Some(projects) = view.projects.as_mut() {
            projects.extend(
                rows.iter()
                    .filter(|(credential, _)| *credential == view.id)
                    .map(|(_, p)| p.clone()),
            );
        }
    }
    Ok(())
}

/// The projects each of `credentials` (API keys or OAuth grants) is limited
/// to, by name, with the credential's id.
pub async fn projects_of(
    db: &Db,
    credentials: &[&str],
) -> Result<Vec<(String, TokenProject)>, sqlx::Error> {
    if credentials.is_empty() {
        return Ok(Vec::new());
    }
    let list = (1..=credentials.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT tp.token_id, p.id, p.name FROM token_projects tp JOIN projects p ON p.id = tp.project_id \
         WHERE tp.token_id IN ({list}) ORDER BY p.name, p.id"
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
    for id in credentials {
        query = query.bind(*id);
    }
    Ok(query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(credential, id, name)| (credential, TokenProject { id, name }))
        .collect())
}

/// The owner's tokens counted by status, as [`counts`] reads them.
#[derive(sqlx::FromRow)]
struct CountsRow {
    total: i64,
    revoked: i64,
    expired: i64,
}

/// How many of the owner's tokens are in each status at `now`.
pub async fn counts(
    db: &Db,
    owner: AccountId,
    now: Timestamp,
) -> Result<StatusCounts, sqlx::Error> {
    let sql = format!(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN {REVOKED_SQL} THEN 1 ELSE 0 END), 0) AS revoked, \
         COALESCE(SUM(CASE WHEN NOT {REVOKED_SQL} AND t.expires_at <= $2 THEN 1 ELSE 0 END), 0) AS expired \
         FROM api_tokens t WHERE t.account_id = $1"
    );
    let CountsRow {
        total,
        revoked,
        expired,
    } = sqlx::query_as(&sql)
        .bind(owner.to_string())
        .bind(now.millis())
        .fetch_one(db)
        .await?;
    Ok(StatusCounts {
        active: total - revoked - expired,
        expired,
        revoked,
    })
}

/// One page of the owner's tokens in one status (`None`: all), newest
/// first, with the counts of every status.
pub async fn page(
    db: &Db,
    owner: AccountId,
    status: Option<TokenStatus>,
    page: u32,
    now: Timestamp,
) -> Result<TokenPage, sqlx::Error> {
    let counts = counts(db, owner, now).await?;
    let matching = match status {
        None => counts.active + counts.expired + counts.revoked,
        Some(TokenStatus::Active) => counts.active,
        Some(TokenStatus::Expired) => counts.expired,
        Some(TokenStatus::Revoked) => counts.revoked,
    };
    let pages = ((matching + PAGE_SIZE - 1) / PAGE_SIZE).max(1) as u32;
    let page = page.clamp(1, pages);
    let filter = status_filter(status, false);
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND $2 = $2 {filter} ORDER BY t.created_at DESC, t.id DESC \
         LIMIT $3 OFFSET $4"
    );
    let rows: Vec<ViewRow> = sqlx::query_as(&sql)
        .bind(owner.to_string())
        .bind(now.millis())
        .bind(PAGE_SIZE)
        .bind(i64::from(page - 1) * PAGE_SIZE)
        .fetch_all(db)
        .await?;
    let mut tokens: Vec<TokenView> = rows.into_iter().map(|r| view_from_row(r, now)).collect();
    attach_projects(db, &mut tokens).await?;
    Ok(TokenPage {
        tokens,
        counts,
        page,
        pages,
    })
}

/// One of the owner's tokens.
pub async fn get(
    db: &Db,
    owner: AccountId,
    id: &str,
    now: Timestamp,
) -> Result<Option<TokenView>, sqlx::Error> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND t.id = $2"
    );
    let row: Option<ViewRow> = sqlx::query_as(&sql)
        .bind(owner.to_string())
        .bind(id)
        .fetch_optional(db)
        .await?;
    let mut view: Vec<TokenView> = row.into_iter().map(|r| view_from_row(r, now)).collect();
    attach_projects(db, &mut view).await?;
    Ok(view.pop())
}

/// Looks at a presented token without using it (no last-used update): its
/// view if it is a well-formed token of `owner`, else `None`, whether it is
/// malformed, unknown or someone else's.
pub async fn inspect(
    db: &Db,
    config: &Config,
    owner: AccountId,
    presented: &str,
    now: Timestamp,
) -> Result<Option<TokenView>, sqlx::Error> {
    let Ok(secret) = format::parse(&config.token_prefix, presented) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM api_tokens t LEFT JOIN accounts r ON r.id = t.revoked_by \
         WHERE t.account_id = $1 AND t.token_hash = $2"
    );
    let row: Option<ViewRow> = sqlx::query_as(&sql)
        .bind(owner.to_string())
        .bind(secret.hash())
        .fetch_optional(db)
        .await?;
    let mut view: Vec<TokenView> = row.into_iter().map(|r| view_from_row(r, now)).collect();
    attach_projects(db, &mut view).await?;
    Ok(view.pop())
}
