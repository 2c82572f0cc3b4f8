//! Tasks and their work logs. Agents create tasks, move them through the
//! status set and record results and work logs through the API; owners see
//! them, and change a task's status, in the dashboard.

use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

#[cfg(feature = "ssr")]
pub mod service;

pub const TITLE_MAX_CHARS: usize = 200;
pub const TEXT_MAX_CHARS: usize = 10_000;
/// The project page shows at most this many tasks, newest first.
pub const PROJECT_PAGE_TASKS: i64 = 500;
/// The project page shows each task's latest few work logs; the rest are on
/// the task's work-log page.
pub const LATEST_LOGS_PER_TASK: i64 = 3;
/// Work logs per page of a task's work-log page.
pub const LOGS_PER_PAGE: i64 = 20;

/// The task status set (docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum TaskStatus {
    Todo,
    InProgress,
    Review,
    Done,
    Blocked,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Todo,
        TaskStatus::InProgress,
        TaskStatus::Review,
        TaskStatus::Done,
        TaskStatus::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Review => "review",
            TaskStatus::Done => "done",
            TaskStatus::Blocked => "blocked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Todo => "To do",
            TaskStatus::InProgress => "In progress",
            TaskStatus::Review => "In review",
            TaskStatus::Done => "Done",
            TaskStatus::Blocked => "Blocked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
    pub result: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Prefix of the token that created it, if an agent did.
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkLog {
    pub id: String,
    pub task_id: String,
    pub message: String,
    pub minutes: Option<i64>,
    pub created_at: Timestamp,
    pub created_by: Option<String>,
}

/// A task with its latest work logs, for the project page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskWithLogs {
    pub task: Task,
    /// The latest [`LATEST_LOGS_PER_TASK`], oldest of them first.
    pub logs: Vec<WorkLog>,
    /// How many work logs the task has in all.
    pub log_count: i64,
}

/// A page of one task's work logs, oldest first (the work-log page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLogPage {
    pub task: Task,
    pub logs: Vec<WorkLog>,
    /// The `cursor` of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}
