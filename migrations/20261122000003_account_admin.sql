-- Why a token was revoked: by its owner ('revoked'), or as a side effect of
-- a password change ('password_changed'), an account being disabled
-- ('account_disabled') or an admin invalidating an account
-- ('sessions_invalidated'). NULL for rows revoked before this column existed.
ALTER TABLE api_tokens ADD COLUMN revoked_reason TEXT;
