-- Processing, training and transform jobs (internal/jobs). body holds the whole job as JSON
-- (spec, request, state, the engine's record of its workers); the columns beside it are what
-- listings filter and sort on.
CREATE TABLE jobs (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, kind, name)
);
CREATE INDEX jobs_created ON jobs (account, kind, created_at);
