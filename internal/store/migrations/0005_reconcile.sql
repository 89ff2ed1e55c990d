-- Work items of the reconcile runtime (internal/reconcile), one per (kind, key).
-- due_at: when the item should next be reconciled (µs since the epoch); while it is leased, the
--   lease's first expiry, lowered by a wake-up that arrives meanwhile.
-- generation: bumped by every wake-up, so a release can tell whether one came during the lease.
-- lease_owner/lease_until: the server working the item and until when (0 = free).
-- token: the fencing token, incremented by every acquisition; writes made on behalf of a lease
--   check it in their own transaction (store.CheckFence).
CREATE TABLE reconcile_work (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    generation BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    token BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kind, key)
);
CREATE INDEX reconcile_work_due ON reconcile_work (kind, due_at);
