-- A token's IP allowlist: the networks it may be used from, space-separated
-- CIDRs as tokens::allowlist writes them; NULL means any IP.
ALTER TABLE api_tokens ADD COLUMN allowed_ips TEXT;
