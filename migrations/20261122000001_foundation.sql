-- Foundation schema: accounts, first-run setup marker, sessions, login throttling.
--
-- One schema for SQLite and PostgreSQL, read and written through sqlx's `Any`
-- driver (docs/architecture.md): ids are app-made UUIDv7 strings (TEXT), times
-- are BIGINT milliseconds since the Unix epoch in UTC, booleans are nullable
-- timestamps ("disabled_at") rather than BOOLEAN columns.

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    disabled_at         BIGINT
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

-- At most one row: inserting it is what makes first-run setup happen once,
-- even when two instances race on a shared PostgreSQL.
CREATE TABLE setup_state (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    completed_at BIGINT NOT NULL
);

-- A session row is keyed by the SHA-256 of the random session secret; the
-- secret itself lives only in the signed cookie. `public_id` names the session
-- in the UI (list, revoke) without exposing anything that authenticates.
CREATE TABLE sessions (
    id_hash             TEXT PRIMARY KEY,
    public_id           TEXT NOT NULL UNIQUE,
    account_id          TEXT NOT NULL REFERENCES accounts (id),
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    ip                  TEXT,
    user_agent          TEXT,
    revoked_at          BIGINT
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

-- Failed sign-ins, counted per account key (SHA-256 of the normalised email,
-- whether or not such an account exists) and per client IP.
CREATE TABLE login_failures (
    id       TEXT PRIMARY KEY,
    key_kind TEXT NOT NULL CHECK (key_kind IN ('account', 'ip')),
    key      TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (key_kind, key, at);
