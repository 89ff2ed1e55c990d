-- Deploy pipelines (internal/delivery, CodePipeline's subset) and their executions. body holds
-- the record as JSON (an execution carries the pipeline declaration it runs, so an update or a
-- deletion of the pipeline leaves it whole); the columns beside it are what lookups, listings
-- and the engine use. seq orders a pipeline's executions (a newer one supersedes an older one).
CREATE TABLE delivery_pipelines (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);

CREATE TABLE delivery_executions (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    client_token TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE UNIQUE INDEX delivery_executions_seq ON delivery_executions (account, pipeline, seq);
CREATE INDEX delivery_executions_active ON delivery_executions (status);
