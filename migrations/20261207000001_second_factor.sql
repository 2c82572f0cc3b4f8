-- A second factor: an authenticator app (TOTP), passkeys, recovery codes,
-- the half-signed-in state between password and second factor, sudo mode,
-- and the administrators' policy requiring two-factor.

-- The authenticator app of an account. `secret_sealed` is the TOTP seed
-- sealed under the keyring (it must be read back to check codes). A row with
-- `confirmed_at` NULL is an enrolment not yet confirmed by a code.
-- `last_step` is the last accepted 30-second step: only later steps are
-- accepted (one conditional UPDATE), so a code cannot be replayed.
CREATE TABLE account_totp (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (id),
    secret_sealed TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT
);

-- Passkeys (WebAuthn credentials) registered as a second factor.
-- `passkey` is webauthn-rs's serialised credential (public key, counter);
-- nothing in it is secret.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    passkey       TEXT NOT NULL,
    counter       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_account ON passkeys (account_id);

-- Single-use recovery codes, SHA-256 hashed with the account id.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

-- Short-lived server-side states: a sign-in waiting for its second factor
-- (`sign_in`, bound to the browser by a cookie whose hash is the key), and a
-- passkey registration in progress (`passkey_register`). At most 5 minutes;
-- the sweep deletes expired rows, and an account keeps at most a few.
CREATE TABLE auth_challenges (
    id_hash    TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    purpose    TEXT NOT NULL,
    new_device BIGINT NOT NULL DEFAULT 0,
    state      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_challenges_account ON auth_challenges (account_id, purpose);
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);

-- When an account turned its second factor on (NULL: off). Read with every
-- session, with the policy below, to send accounts without one to enrolment.
ALTER TABLE accounts ADD COLUMN two_factor_at BIGINT;

-- Sudo mode: when this session last confirmed the password or a second factor.
ALTER TABLE sessions ADD COLUMN sudo_at BIGINT;

-- The administrators' security policy.
CREATE TABLE security_policy (
    id                 BIGINT PRIMARY KEY CHECK (id = 1),
    require_two_factor BIGINT NOT NULL DEFAULT 0,
    updated_at         BIGINT,
    updated_by         TEXT
);
INSERT INTO security_policy (id, require_two_factor) VALUES (1, 0);
