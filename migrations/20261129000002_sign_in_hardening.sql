-- Sign-in hardening: the throttle counts known devices and setup-code
-- guesses too, and first-run setup needs a one-time code.
--
-- login_failures holds at most a 15-minute window of attempts; it is
-- recreated (SQLite cannot change a CHECK constraint), which forgets the
-- attempts of the last few minutes once, at upgrade.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    id       TEXT PRIMARY KEY,
    key_kind TEXT NOT NULL CHECK (key_kind IN ('account', 'ip', 'device', 'setup')),
    key      TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (key_kind, key, at);

-- SHA-256 of each live setup code (never the code), until the first account.
CREATE TABLE setup_codes (
    code_hash  TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
