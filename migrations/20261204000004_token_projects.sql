-- Project restriction: a credential (an API key, later an OAuth grant) may
-- be limited to some of its owner's projects. `projects_restricted` says
-- whether the token's reach is limited (read with the token on every
-- request); `token_projects` lists the projects it reaches.
CREATE TABLE token_projects (
    token_id   TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id),
    PRIMARY KEY (token_id, project_id)
);
ALTER TABLE api_tokens ADD COLUMN projects_restricted INTEGER NOT NULL DEFAULT 0;
