-- Projects (created by owners in the dashboard), their tasks and the tasks'
-- work logs (written by agents through the API), and the Idempotency-Key
-- store for API POSTs. Every row carries its owner's account_id so every
-- query can filter on it.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    description TEXT,
    -- A JSON object of string keys to string values (see docs/api.md).
    settings    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX projects_account_name_key ON projects (account_id, name);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    project_id  TEXT NOT NULL REFERENCES projects (id),
    title       TEXT NOT NULL,
    description TEXT,
    status      TEXT NOT NULL CHECK (status IN ('todo', 'in_progress', 'review', 'done', 'blocked')),
    result      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- The 12-character prefix of the token that created it; NULL from the dashboard.
    created_by  TEXT
);
CREATE INDEX tasks_account_idx ON tasks (account_id, id);
CREATE INDEX tasks_project_idx ON tasks (project_id, id);

CREATE TABLE work_logs (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    task_id    TEXT NOT NULL REFERENCES tasks (id),
    message    TEXT NOT NULL,
    minutes    BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT
);
CREATE INDEX work_logs_task_idx ON work_logs (task_id, id);

-- A POST with an Idempotency-Key is remembered for 24 hours per token:
-- status 0 while the first request is in flight, then its answer.
CREATE TABLE idempotency_keys (
    token_id     TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
