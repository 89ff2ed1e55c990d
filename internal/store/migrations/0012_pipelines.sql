-- SageMaker pipelines (internal/pipeline): pipelines, their versions (each with its
-- definition), executions (each with the definition it runs, copied from its version so an
-- update or a deletion of the pipeline leaves it whole) and their steps. body holds the
-- resource as JSON; the columns beside it are what lookups, listings and the engine use.
-- Names are lower case (SageMaker's pipeline names are unique without regard to case).
CREATE TABLE pipelines (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE INDEX pipelines_created ON pipelines (account, created_at);

CREATE TABLE pipeline_versions (
    pipeline_arn TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (pipeline_arn, version)
);

CREATE TABLE pipeline_executions (
    arn TEXT NOT NULL PRIMARY KEY,
    account TEXT NOT NULL,
    pipeline_arn TEXT NOT NULL,
    status TEXT NOT NULL,
    client_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    definition TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX pipeline_executions_created ON pipeline_executions (pipeline_arn, created_at);
CREATE INDEX pipeline_executions_status ON pipeline_executions (status);
-- A ClientRequestToken starts one execution of a pipeline: a retry finds it.
CREATE UNIQUE INDEX pipeline_executions_client_token ON pipeline_executions (pipeline_arn, client_token) WHERE client_token <> '';

CREATE TABLE pipeline_steps (
    execution_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution_arn, name)
);

-- Step caching: each step that succeeded with its CacheConfig enabled, by the hash of its
-- resolved arguments (package pipeline/definition's CacheKey), within its pipeline.
CREATE TABLE pipeline_step_cache (
    pipeline_arn TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    execution_arn TEXT NOT NULL,
    step_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (pipeline_arn, cache_key, execution_arn, step_name)
);
