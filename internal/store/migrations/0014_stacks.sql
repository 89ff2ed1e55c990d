-- CloudFormation stacks (internal/stacks). id is the stack's ARN; body holds the whole stack
-- (its template, parameters, resources' state and change sets) as JSON; the columns beside it
-- are what lookups filter on. A name is unique among an account's stacks that are not deleted.
CREATE TABLE stacks (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX stacks_live_name ON stacks (account, name) WHERE status <> 'DELETE_COMPLETE';
CREATE INDEX stacks_account ON stacks (account, created_at);

-- Stack events, numbered per stack in the order they were written.
CREATE TABLE stack_events (
    stack_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (stack_id, seq)
);
