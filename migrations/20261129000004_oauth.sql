-- OAuth 2.1 authorization server for MCP hosts (issue 15).

-- Clients: registered dynamically (RFC 7591; an opaque id) or identified by
-- a Client ID Metadata Document (the id is its https URL, fetched and cached).
CREATE TABLE oauth_clients (
    client_id      TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    registered_ip  TEXT,
    -- Last authorization or token use: unused registrations expire.
    last_used_at   BIGINT,
    -- Metadata documents: cached until then.
    cache_until    BIGINT
);
CREATE INDEX oauth_clients_created_idx ON oauth_clients (created_at);

-- Authorization requests waiting for the owner's consent (10 minutes).
CREATE TABLE oauth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    resource       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX oauth_requests_expires_idx ON oauth_requests (expires_at);

-- What an owner allowed a client: its tokens live and die with it.
CREATE TABLE oauth_grants (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    client_id      TEXT NOT NULL,
    client_name    TEXT NOT NULL,
    client_source  TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    resource       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    last_used_ip   TEXT,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX oauth_grants_account_idx ON oauth_grants (account_id, created_at);

-- Authorization codes (hashed): single use, 60 seconds.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id),
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    resource       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX oauth_codes_expires_idx ON oauth_codes (expires_at);

-- Access and refresh tokens (hashed, like API keys).
CREATE TABLE oauth_tokens (
    token_hash     TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id),
    kind           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    -- Refresh tokens: set when exchanged; presenting it again is a reuse.
    used_at        BIGINT
);
CREATE INDEX oauth_tokens_grant_idx ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expires_idx ON oauth_tokens (expires_at);
