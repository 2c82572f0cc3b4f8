//! Whose projects a caller reaches: all of one account's, or (a token
//! restricted to some projects) a selection of them. Every project, task
//! and work-log query filters on a [`Reach`]: the owner filter and the
//! project restriction are one SQL condition ([`Reach::filter`]), so a
//! restricted token's lists leave the other projects out and a direct read
//! or write of them finds a row that is not its own (403), on every door.

use crate::types::AccountId;

/// An account, and the token whose project list limits it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    account: AccountId,
    /// The restricted token's id: its projects are the rows of
    /// `token_projects` under it. `None`: every project of the account.
    restricted_to: Option<String>,
    /// A task-scoped token's task: the only task it reaches (its project is
    /// its one row in `token_projects`).
    task: Option<String>,
}

impl Reach {
    /// Every project of `account` (the dashboard, an unrestricted token).
    pub fn all(account: AccountId) -> Self {
        Reach {
            account,
            restricted_to: None,
            task: None,
        }
    }

    /// The projects `token` lists in `token_projects`, of `account`.
    pub fn token(account: AccountId, token: &str) -> Self {
        Reach {
            account,
            restricted_to: Some(token.to_string()),
            task: None,
        }
    }

    /// A task-scoped token `token` of `account`: the task `task` and its
    /// project (the token's row in `token_projects`), nothing else.
    pub fn task(account: AccountId, token: &str, task: &str) -> Self {
        Reach {
            account,
            restricted_to: Some(token.to_string()),
            task: Some(task.to_string()),
        }
    }

    /// The task a task-scoped token is confined to.
    pub fn confined_task(&self) -> Option<&str> {
        self.task.as_deref()
    }

    pub fn account(&self) -> AccountId {
        self.account
    }

    pub fn is_restricted(&self) -> bool {
        self.restricted_to.is_some()
    }

    /// The SQL condition for rows whose owner is `account_col` and whose
    /// project is `project_col`, with the placeholders `$a` (bind
    /// [`Reach::account_value`]) and `$p` (bind [`Reach::token_value`]).
    pub fn filter(account_col: &str, project_col: &str, a: usize, p: usize) -> String {
        format!(
            "{account_col} = ${a} AND (${p} = '' OR {project_col} IN \
             (SELECT project_id FROM token_projects WHERE token_id = ${p}))"
        )
    }

    /// The SQL condition that a task row (id column `task_col`) is the
    /// confined task, with the placeholder `$t` (bind [`Reach::task_value`]).
    pub fn task_filter(task_col: &str, t: usize) -> String {
        format!("(${t} = '' OR {task_col} = ${t})")
    }

    /// The value for [`Reach::task_filter`]'s `$t`: the confined task, or
    /// empty for any task.
    pub fn task_value(&self) -> &str {
        self.task.as_deref().unwrap_or_default()
    }

    /// The value for the filter's `$a`.
    pub fn account_value(&self) -> String {
        self.account.to_string()
    }

    /// The value for the filter's `$p`: the restricting token's id, or
    /// empty for every project.
    pub fn token_value(&self) -> &str {
        self.restricted_to.as_deref().unwrap_or_default()
    }
}
