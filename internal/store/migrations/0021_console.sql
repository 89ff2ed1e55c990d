-- The web console's sign-in sessions and one-time sign-in links (internal/console). Only the
-- SHA-256 of a session id or a link token is stored: a copy of the database signs nobody in.
-- body holds the session as JSON (the access key it acts with, its CSRF token, its times).
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- used_at is 0 until the link is used; a link is used at most once (the UPDATE that sets it
-- requires it to be 0).
CREATE TABLE console_links (
    token_hash TEXT PRIMARY KEY,
    access_key_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL
);
