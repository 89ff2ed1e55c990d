-- Job credentials: grants behind the container-credentials tokens given to jobs. Only the
-- token's SHA-256 is stored. revoked_at is 0 while the grant stands; last_minted_at is
-- written by every key recorded for the grant, which also serializes it with a revocation.
CREATE TABLE job_credentials (
    token_hash TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    session_name TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL,
    last_minted_at BIGINT NOT NULL
);
CREATE INDEX job_credentials_expiry ON job_credentials (expires_at);
-- The session keys minted for a grant, deleted from access_keys when it is revoked.
CREATE TABLE job_credential_keys (
    token_hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (token_hash, key_id)
);
