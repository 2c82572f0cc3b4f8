-- Task-scoped tokens (RFC 8693 token exchange) and usage limits.
--
-- A task token is minted from a subject credential (an API key or an OAuth
-- grant's access token) for one task. It is read on every request with its
-- subject and its task, so it dies on the next request when either ends.
-- Rows go 7 days after expiry (the maintenance sweep); they live at most a
-- day, so they are gone long before a revoked grant's row is deleted (no
-- foreign key to oauth_grants for that reason).
CREATE TABLE task_tokens (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts (id),
    token_hash          TEXT NOT NULL UNIQUE,
    prefix              TEXT NOT NULL,
    task_id             TEXT NOT NULL,
    project_id          TEXT NOT NULL,
    subject_token_id    TEXT REFERENCES api_tokens (id),
    subject_grant_id    TEXT,
    subject_prefix      TEXT NOT NULL,
    subject_name        TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    last_used_at        BIGINT,
    last_used_ip        TEXT,
    revoked_at          BIGINT,
    revoked_reason      TEXT,
    usage_limit         BIGINT,
    usage_remaining     BIGINT,
    usage_refill_amount BIGINT,
    usage_refill_period TEXT,
    usage_refilled_at   BIGINT,
    FOREIGN KEY (task_id, account_id) REFERENCES tasks (id, account_id),
    CHECK ((subject_token_id IS NULL) <> (subject_grant_id IS NULL))
);
CREATE INDEX task_tokens_subject_token_idx ON task_tokens (subject_token_id, expires_at);
CREATE INDEX task_tokens_subject_grant_idx ON task_tokens (subject_grant_id, expires_at);
CREATE INDEX task_tokens_expires_idx ON task_tokens (expires_at);

-- Usage limits of an API key: `usage_remaining` calls left (NULL: no
-- limit), reset to `usage_refill_amount` at each day or month
-- (`usage_refill_period`) by the decrement itself. `usage_limit` is what the
-- owner set, for the 10 % warning.
ALTER TABLE api_tokens ADD COLUMN usage_limit BIGINT;
ALTER TABLE api_tokens ADD COLUMN usage_remaining BIGINT;
ALTER TABLE api_tokens ADD COLUMN usage_refill_amount BIGINT;
ALTER TABLE api_tokens ADD COLUMN usage_refill_period TEXT;
ALTER TABLE api_tokens ADD COLUMN usage_refilled_at BIGINT;

-- The longest a task token may live, minutes (default a day).
ALTER TABLE token_policy ADD COLUMN task_token_max_minutes BIGINT NOT NULL DEFAULT 1440;
