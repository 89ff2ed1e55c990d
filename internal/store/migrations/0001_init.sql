CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    management_account TEXT NOT NULL,
    root_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE org_units (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    parent_id TEXT NOT NULL,
    status TEXT NOT NULL,
    joined_method TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    create_request_id TEXT NOT NULL UNIQUE
);
CREATE TABLE org_policies (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    aws_managed INTEGER NOT NULL
);
CREATE TABLE org_policy_targets (
    policy_id TEXT NOT NULL REFERENCES org_policies(id),
    target_id TEXT NOT NULL,
    PRIMARY KEY (policy_id, target_id)
);
CREATE INDEX org_policy_targets_target ON org_policy_targets (target_id);

CREATE TABLE iam_principals (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,            -- user | role
    name TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    description TEXT NOT NULL,
    trust_policy TEXT NOT NULL,    -- roles only
    max_session_duration INTEGER NOT NULL,
    tags TEXT NOT NULL,            -- JSON object
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account, kind, name)
);
CREATE TABLE iam_inline_policies (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    principal TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account, kind, principal, name)
);
CREATE TABLE iam_managed_policies (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    description TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE iam_attachments (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    principal TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (account, kind, principal, policy_arn)
);
CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    user_name TEXT NOT NULL,       -- empty for session credentials
    role_name TEXT NOT NULL,       -- set for session credentials
    session_name TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,   -- AES-GCM sealed, base64
    sealed_token TEXT NOT NULL,    -- AES-GCM sealed session token; empty for long-term keys
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL     -- 0 for long-term keys
);
CREATE INDEX access_keys_user ON access_keys (account, user_name);

CREATE TABLE model_package_groups (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    next_version BIGINT NOT NULL,
    policy TEXT NOT NULL,          -- resource policy; empty when none
    PRIMARY KEY (account, name)
);
CREATE TABLE model_packages (
    account TEXT NOT NULL,
    group_name TEXT NOT NULL,
    version BIGINT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    approval_status TEXT NOT NULL,
    client_token TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    document TEXT NOT NULL,        -- JSON: the package's full description
    PRIMARY KEY (account, group_name, version),
    FOREIGN KEY (account, group_name) REFERENCES model_package_groups (account, name)
);
CREATE UNIQUE INDEX model_packages_client_token ON model_packages (account, group_name, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX model_packages_created ON model_packages (account, created_at);

CREATE TABLE tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);

CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    source TEXT NOT NULL,
    detail_type TEXT NOT NULL,
    time BIGINT NOT NULL,
    body TEXT NOT NULL
);

-- The audit trail, one row per group commit: records (a JSON array of the records' canonical
-- JSON texts) and hashes (a JSON array of their chain hashes) hold records first_seq..last_seq.
CREATE TABLE audit_log (
    first_seq BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    time BIGINT NOT NULL,          -- the first record's time
    records TEXT NOT NULL,
    prev_hash TEXT NOT NULL,       -- the hash of the record before first_seq
    hashes TEXT NOT NULL
);

-- Sequences that must be gap-free and follow commit order (events, audit records) are allocated
-- by incrementing a row here inside the writing transaction: the row lock serialises writers.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL,
    hash TEXT NOT NULL             -- for the audit chain: the hash of the last record
);
INSERT INTO counters (name, value, hash) VALUES ('events', 0, ''), ('audit', 0, '');
