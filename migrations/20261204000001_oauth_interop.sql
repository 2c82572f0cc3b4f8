-- OAuth interoperability.
--
-- `state` is optional (OAuth 2.1; PKCE binds the flow). Parked requests live
-- ten minutes, so the table is recreated rather than altered (SQLite cannot
-- drop a NOT NULL): a request parked during the upgrade is started again.
DROP TABLE oauth_requests;
CREATE TABLE oauth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    resource       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX oauth_requests_expires_idx ON oauth_requests (expires_at);

-- The refresh leeway: a used refresh token keeps its successor pair, sealed
-- under the keyring, until `replay_until` or until the successor refresh
-- token (`successor_hash`) is used, so the same client presenting it again
-- in that window gets the same pair instead of a reuse revocation.
ALTER TABLE oauth_tokens ADD COLUMN replay_sealed TEXT;
ALTER TABLE oauth_tokens ADD COLUMN replay_until BIGINT;
ALTER TABLE oauth_tokens ADD COLUMN successor_hash TEXT;
CREATE INDEX oauth_tokens_successor_idx ON oauth_tokens (successor_hash);
