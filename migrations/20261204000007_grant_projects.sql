-- Project restriction for OAuth grants (the consent page's "only these
-- projects"): the grant's projects are rows of token_projects under the
-- grant's id, as an API key's are under its own.
ALTER TABLE oauth_grants ADD COLUMN projects_restricted INTEGER NOT NULL DEFAULT 0;
