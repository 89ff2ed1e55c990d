-- SageMaker projects (internal/projects) and the project templates a team adds to its account's
-- catalog (built-in templates live in the binary). body holds the record as JSON; the columns
-- beside it are what lookups and listings use. A project's row is deleted once its stack is.
CREATE TABLE projects (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX projects_name ON projects (account, name);

CREATE TABLE project_templates (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
