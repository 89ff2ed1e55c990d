-- CloudWatch Logs (internal/logs): log groups, their streams and the streams' events.
-- Times: created_at in µs since the epoch; event times (ts, ingested, first/last_event,
-- last_ingestion) in ms, as CloudWatch Logs counts them; 0 = none yet.
-- A stream's events are keyed by its id and a sequence (next_seq) allocated in the inserting
-- transaction; they are read by (ts, seq). Messages are bytes: a job may print any.
CREATE TABLE log_groups (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE log_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    group_name TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    first_event BIGINT NOT NULL DEFAULT 0,
    last_event BIGINT NOT NULL DEFAULT 0,
    last_ingestion BIGINT NOT NULL DEFAULT 0,
    stored_bytes BIGINT NOT NULL DEFAULT 0,
    next_seq BIGINT NOT NULL DEFAULT 0,
    UNIQUE (account, group_name, name),
    FOREIGN KEY (account, group_name) REFERENCES log_groups (account, name) ON DELETE CASCADE
);
CREATE INDEX log_streams_last_event ON log_streams (account, group_name, last_event, name);
CREATE TABLE log_events (
    stream_id BIGINT NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    ingested BIGINT NOT NULL,
    message BLOB NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
CREATE INDEX log_events_by_time ON log_events (stream_id, ts, seq);
CREATE INDEX log_events_scan ON log_events (ts, stream_id, seq);
