-- A task's project, and a work log's task, belong to the same owner, and the
-- database enforces it: composite foreign keys (project_id, account_id) ->
-- projects (id, account_id) and (task_id, account_id) -> tasks (id, account_id).
-- The services already check ownership; this makes a bug there fail loudly
-- instead of filing one owner's task under another owner's project.
--
-- SQLite cannot add a constraint to an existing table, so both tables are
-- rebuilt; the same portable statements run on PostgreSQL. Existing rows that
-- broke the rule would make this migration fail rather than be dropped.

CREATE UNIQUE INDEX projects_id_account_key ON projects (id, account_id);

CREATE TABLE tasks_new (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    project_id  TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT,
    status      TEXT NOT NULL CHECK (status IN ('todo', 'in_progress', 'review', 'done', 'blocked')),
    result      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- The 12-character prefix of the token that created it; NULL from the dashboard.
    created_by  TEXT,
    FOREIGN KEY (project_id, account_id) REFERENCES projects (id, account_id)
);
INSERT INTO tasks_new (id, account_id, project_id, title, description, status, result, created_at, updated_at, created_by)
    SELECT id, account_id, project_id, title, description, status, result, created_at, updated_at, created_by FROM tasks;
CREATE UNIQUE INDEX tasks_id_account_key ON tasks_new (id, account_id);

CREATE TABLE work_logs_new (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    task_id    TEXT NOT NULL,
    message    TEXT NOT NULL,
    minutes    BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    FOREIGN KEY (task_id, account_id) REFERENCES tasks_new (id, account_id)
);
INSERT INTO work_logs_new (id, account_id, task_id, message, minutes, created_at, created_by)
    SELECT id, account_id, task_id, message, minutes, created_at, created_by FROM work_logs;

DROP TABLE work_logs;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
ALTER TABLE work_logs_new RENAME TO work_logs;

CREATE INDEX tasks_account_idx ON tasks (account_id, id);
CREATE INDEX tasks_project_idx ON tasks (project_id, id);
CREATE INDEX work_logs_task_idx ON work_logs (task_id, id);
