-- Build projects and builds (internal/builds, CodeBuild's subset). body holds the record as
-- JSON (a build carries the project as it was when it started); the columns beside it are
-- what lookups, listings and the engine use. number orders a project's builds; token is
-- StartBuild's idempotency token ('' when none).
CREATE TABLE codebuild_projects (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);

CREATE TABLE codebuild_builds (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    project TEXT NOT NULL,
    number BIGINT NOT NULL,
    status TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE UNIQUE INDEX codebuild_builds_number ON codebuild_builds (account, project, number);
CREATE INDEX codebuild_builds_token ON codebuild_builds (account, project, token);
CREATE INDEX codebuild_builds_active ON codebuild_builds (status);
