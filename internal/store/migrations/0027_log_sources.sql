-- How many numbered lines of each source a log stream holds (internal/logs AppendLines): a
-- copier of a process's output (a build phase, a job's instance) names its output a source and
-- numbers its lines from 0; the append of a batch and the move of the source's count commit
-- together, so a copier restarted from an older position skips what the stream already holds
-- and every line lands exactly once.
CREATE TABLE log_sources (
    stream_id BIGINT NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    lines BIGINT NOT NULL,
    PRIMARY KEY (stream_id, source)
);
