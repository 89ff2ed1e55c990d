-- SageMaker models, endpoint configurations and endpoints (internal/serving). kind is model,
-- endpoint-config or endpoint; name is the lower-case name (SageMaker's names are unique
-- without regard to case); body holds the whole resource as JSON; the columns beside it are
-- what listings filter and sort on.
CREATE TABLE serving (
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
CREATE INDEX serving_created ON serving (account, kind, created_at);
