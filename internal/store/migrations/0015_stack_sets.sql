-- CloudFormation stack sets (internal/stacksets). arn is the set's ARN; body holds the whole
-- set (template, parameters, instances and operations) as JSON; the columns beside it are what
-- lookups filter on. A name is unique among an account's sets that are not deleted. active is
-- 1 while the set has an operation to run or automatic deployment on, so a restarted server
-- resumes it.
CREATE TABLE stack_sets (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    set_id TEXT NOT NULL,
    status TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX stack_sets_live_name ON stack_sets (account, name) WHERE status <> 'DELETED';
CREATE INDEX stack_sets_account ON stack_sets (account, created_at);
