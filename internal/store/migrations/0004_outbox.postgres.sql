-- Event sequence numbers come from a sequence, drawn while the transaction holds the
-- commit-order lock (lockCommitOrder in audit.go) for its last statements, so they increase in
-- commit order. The 'events' counter row, locked by each writer from its first event on, goes.
CREATE SEQUENCE events_seq;
SELECT setval('events_seq', COALESCE((SELECT MAX(seq) FROM events), 0) + 1, false);
DELETE FROM counters WHERE name = 'events';

-- Where each named consumer of the outbox stands: the last seq it has handled.
CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
