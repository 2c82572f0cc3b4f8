//! What a bearer credential asks to do, named once: every REST route and
//! MCP tool is one [`Operation`], which says the scope it needs and whether
//! a task-scoped token may take it at all. The doors ask
//! `Authenticated::allow` (or [`Operation::permits`] where only the scopes
//! and the task binding are known, as in the stdio server) and never
//! decide this themselves.

use serde::{Deserialize, Serialize};

use super::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Whoami,
    GetTokenInfo,
    VerifyToken,
    RevokeOwnToken,
    RotateOwnToken,
    ListProjects,
    GetProject,
    ListTasks,
    GetTask,
    CreateTask,
    UpdateTask,
    AddWorkLog,
    ListWorkLogs,
    /// Token exchange at `/oauth/token` (RFC 8693).
    ExchangeToken,
}

/// Why an operation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The token lacks this scope.
    Scope(Scope),
    /// A task-scoped token may not take this operation.
    OutsideTask,
}

/// The message a refused task-scoped token gets.
pub const OUTSIDE_TASK: &str =
    "A task-scoped token can only read its task and project, update its task and work on its work logs.";

impl Operation {
    pub const ALL: [Operation; 14] = [
        Operation::Whoami,
        Operation::GetTokenInfo,
        Operation::VerifyToken,
        Operation::RevokeOwnToken,
        Operation::RotateOwnToken,
        Operation::ListProjects,
        Operation::GetProject,
        Operation::ListTasks,
        Operation::GetTask,
        Operation::CreateTask,
        Operation::UpdateTask,
        Operation::AddWorkLog,
        Operation::ListWorkLogs,
        Operation::ExchangeToken,
    ];

    /// The operation's name: the MCP tool's, and the key of its cost in
    /// `PREQSTATION_USAGE_COSTS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Whoami => "whoami",
            Operation::GetTokenInfo => "get_token_info",
            Operation::VerifyToken => "verify_token",
            Operation::RevokeOwnToken => "revoke_own_token",
            Operation::RotateOwnToken => "rotate_own_token",
            Operation::ListProjects => "list_projects",
            Operation::GetProject => "get_project",
            Operation::ListTasks => "list_tasks",
            Operation::GetTask => "get_task",
            Operation::CreateTask => "create_task",
            Operation::UpdateTask => "update_task",
            Operation::AddWorkLog => "add_work_log",
            Operation::ListWorkLogs => "list_work_logs",
            Operation::ExchangeToken => "exchange_token",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The scope the operation needs (`None`: any valid token).
    pub fn scope(self) -> Option<Scope> {
        match self {
            Operation::Whoami
            | Operation::GetTokenInfo
            | Operation::VerifyToken
            | Operation::RevokeOwnToken => None,
            Operation::RotateOwnToken => Some(Scope::TokensRotateSelf),
            Operation::ListProjects | Operation::GetProject => Some(Scope::ProjectsRead),
            Operation::ListTasks | Operation::GetTask | Operation::ListWorkLogs => {
                Some(Scope::TasksRead)
            }
            Operation::CreateTask | Operation::UpdateTask => Some(Scope::TasksWrite),
            Operation::AddWorkLog => Some(Scope::WorklogsWrite),
            Operation::ExchangeToken => Some(Scope::TokensDelegate),
        }
    }

    /// Whether a task-scoped token may take it: whoami, its own token (read
    /// and revoke), its task's project and the task (read, update, work
    /// logs). The rows themselves are confined by the owner filter
    /// (`projects::Reach`).
    pub fn for_task_token(self) -> bool {
        matches!(
            self,
            Operation::Whoami
                | Operation::GetTokenInfo
                | Operation::RevokeOwnToken
                | Operation::GetProject
                | Operation::GetTask
                | Operation::UpdateTask
                | Operation::AddWorkLog
                | Operation::ListWorkLogs
        )
    }

    /// The rule: a token with `scopes`, bound to a task or not, may take
    /// this operation.
    pub fn permits(self, scopes: &[Scope], task_bound: bool) -> Result<(), Denied> {
        if task_bound && !self.for_task_token() {
            return Err(Denied::OutsideTask);
        }
        match self.scope() {
            Some(s) if !scopes.contains(&s) => Err(Denied::Scope(s)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
        }
    }

    #[test]
    fn a_task_token_is_confined_whatever_its_scopes() {
        let all = Scope::ALL;
        assert_eq!(
            Operation::ListTasks.permits(&all, true),
            Err(Denied::OutsideTask)
        );
        assert_eq!(
            Operation::ExchangeToken.permits(&all, true),
            Err(Denied::OutsideTask)
        );
        assert_eq!(Operation::UpdateTask.permits(&all, true), Ok(()));
        assert_eq!(
            Operation::UpdateTask.permits(&[Scope::TasksRead], true),
            Err(Denied::Scope(Scope::TasksWrite))
        );
        assert_eq!(Operation::ListTasks.permits(&all, false), Ok(()));
    }
}
