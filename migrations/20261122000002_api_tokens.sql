-- API tokens, the deployment's token policy, and a record of policy changes.
-- Same conventions as the foundation migration (TEXT ids, BIGINT UTC millis).

-- A token is stored as the SHA-256 of the whole token plus its first 12
-- characters in plaintext (to recognise it in lists and logs). Revocation is
-- soft: the row stays, with who revoked it and when.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    description  TEXT,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT,
    last_used_ua TEXT,
    revoked_at   BIGINT,
    revoked_by   TEXT REFERENCES accounts (id)
);
CREATE INDEX api_tokens_account_idx ON api_tokens (account_id, created_at);

-- One row. NULL default expiry = "No expiration" preselected; NULL maximum
-- lifetime = no limit (and "No expiration" allowed).
CREATE TABLE token_policy (
    id                  BIGINT PRIMARY KEY CHECK (id = 1),
    default_expiry_days BIGINT,
    max_lifetime_days   BIGINT,
    max_active_tokens   BIGINT NOT NULL,
    updated_at          BIGINT,
    updated_by          TEXT
);
INSERT INTO token_policy (id, default_expiry_days, max_lifetime_days, max_active_tokens)
VALUES (1, 90, NULL, 5);

CREATE TABLE policy_changes (
    id           TEXT PRIMARY KEY,
    changed_at   BIGINT NOT NULL,
    changed_by   TEXT NOT NULL REFERENCES accounts (id),
    before_value TEXT,
    after_value  TEXT NOT NULL
);
