-- Event sequence numbers come from the events table's own rowid: SQLite runs one writer at a
-- time (BEGIN IMMEDIATE), so rowid order is commit order, and AUTOINCREMENT never hands out a
-- number twice. The hot 'events' counter row goes.
CREATE TABLE events_by_rowid (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    source TEXT NOT NULL,
    detail_type TEXT NOT NULL,
    time BIGINT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO events_by_rowid (seq, id, account, source, detail_type, time, body)
    SELECT seq, id, account, source, detail_type, time, body FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_by_rowid RENAME TO events;
DELETE FROM counters WHERE name = 'events';

-- Where each named consumer of the outbox stands: the last seq it has handled.
CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
