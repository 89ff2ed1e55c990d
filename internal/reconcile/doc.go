// Package reconcile is the runtime for Slipway's background work: durable work items keyed by
// (kind, key), each brought to its desired state by a Reconciler that is called again with
// backoff after an error, after the delay it asks for, after a wake-up (Enqueue), and at least
// once per resync period.
//
// Invariants:
//   - A work item is stored before Enqueue returns; a restarted server, or another server on the
//     same PostgreSQL, finds it there. Work enqueued inside a domain's store transaction
//     (Enqueuer) exists exactly when that transaction commits, and its commit wakes the
//     runtime of its kind in the same process at once; other servers find it by polling.
//   - One key is worked by one owner at a time: an owner works a key only while it holds the
//     key's lease, which it renews while the reconcile runs and releases when it ends. A dead
//     owner's leases are taken over when they expire.
//   - Every acquisition of a lease increments the key's fencing token. A reconcile whose lease
//     is lost (taken over after an expiry, or not renewable before it ends) has its context
//     cancelled with ErrLeaseLost, and writes it makes on the lease's behalf check the token in
//     their own transaction (store.WorkStore.CheckFence), so a stale worker's writes are refused.
//   - A wake-up that arrives while a key is being reconciled is not lost: the key is reconciled
//     again after the current call returns.
//   - The delay after a failure grows exponentially from Backoff.Base, is never longer than
//     Backoff.Max, and is shortened by at most Backoff.Jitter of itself, so servers that fail
//     together do not retry together.
//   - Time comes from an injected clock.Clock; with clock.Fake, timers fire only as the test
//     advances the time. Leases compare the servers' clocks, which must agree to well within
//     the lease's TTL; fencing does not depend on clocks.
package reconcile
