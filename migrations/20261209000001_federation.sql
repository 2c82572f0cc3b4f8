-- CI federation (app/src/federation): a pipeline trades its platform's OIDC
-- ID token for a short-lived token under an owner's trust rule.

-- A trust rule: which issuer, which claims (JSON object, claim name to an
-- exact value or a glob), and what the tokens it issues may do. The tokens'
-- project restriction is the rows of `token_projects` under the rule's id;
-- their IP allowlist is the rule's, read on every request.
CREATE TABLE federation_rules (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts (id),
    name                TEXT NOT NULL,
    provider            TEXT NOT NULL,
    issuer              TEXT NOT NULL,
    conditions          TEXT NOT NULL,
    allow_fork_events   INTEGER NOT NULL DEFAULT 0,
    scopes              TEXT NOT NULL,
    projects_restricted INTEGER NOT NULL DEFAULT 0,
    allowed_ips         TEXT,
    ttl_secs            BIGINT NOT NULL,
    usage_limit         BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    disabled_at         BIGINT,
    disabled_by         TEXT,
    last_exchange_at    BIGINT
);
CREATE INDEX federation_rules_account_idx ON federation_rules (account_id, created_at);

-- A token a rule issued: its own prefix, the CI identity it was issued to
-- (JSON: issuer, subject, repository, ref, run id, ...) and `actor`, that
-- identity in one line for the audit log. Rows go 7 days after expiry (the
-- maintenance sweep); the rule's page lists the recent ones.
CREATE TABLE federated_tokens (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts (id),
    rule_id             TEXT NOT NULL REFERENCES federation_rules (id) ON DELETE CASCADE,
    token_hash          TEXT NOT NULL UNIQUE,
    prefix              TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    identity            TEXT NOT NULL,
    actor               TEXT NOT NULL,
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
    usage_refilled_at   BIGINT
);
CREATE INDEX federated_tokens_rule_idx ON federated_tokens (rule_id, created_at);
CREATE INDEX federated_tokens_account_idx ON federated_tokens (account_id, expires_at);
CREATE INDEX federated_tokens_expires_idx ON federated_tokens (expires_at);

-- ID tokens already exchanged, by (issuer, jti), until they expire: a
-- replay is refused on every instance. Swept after `expires_at`.
CREATE TABLE federation_jtis (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX federation_jtis_expires_idx ON federation_jtis (expires_at);
