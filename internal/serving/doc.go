// Package serving is SageMaker's real-time inference: models, endpoint configurations and
// endpoints (the API's domain, authorized and audited here), the engine that brings each
// endpoint to its configuration, and the invocations routed to what the engine deployed.
//
// Invariants:
//   - A resource's row, its state change event ("SageMaker Endpoint State Change" for
//     endpoints), the work item that wakes the engine and the audit record of the call that
//     changed it commit in one store transaction.
//   - An endpoint's status changes only along Status.CanMoveTo: Creating → InService | Failed,
//     InService → Updating | Deleting, Updating → InService (with FailureReason when the new
//     configuration could not be deployed: the old one keeps serving) | RollingBack,
//     RollingBack → InService (on the old configuration, with FailureReason), Failed → Deleting.
//   - An update under a DeploymentConfig (rollout.go) commits each step — the share of requests
//     the new fleet takes, a rollback and its reason — before the fleet acts on it, and the
//     engine applies the committed step idempotently: a restarted server goes on from it.
//   - Data capture: a sampled invocation's record is appended to the capturer's spool (one
//     write(2), no fsync) before the invocation is answered; a spool segment is deleted only once
//     its records are in their destination (or refused by it for good), and uploading it again
//     writes the same objects, so a kill of the server loses no answered invocation's record
//     and doubles none (capture_spool.go).
//   - Invocations are counted (Meter) by endpoint and variant; the model's time is what the
//     fleet's instances report through AddModelTime, the overhead the rest of Invoke.
//     A ModelError counts by the status the model answered (errorClass), a refusal by the
//     platform not at all.
//   - The engine reads model artifacts only as a session of the model's execution role: an
//     artifact the role may not read fails the deployment with AccessDenied in FailureReason.
//   - A new configuration replaces the serving one only once every instance of it is healthy
//     (the Fleet's Deploy swaps atomically); until then the old one answers every invocation.
//   - What is deployed lives in this process only: at start every endpoint that was InService
//     or Updating is deployed again, and a creation or update in flight continues.
//   - CreateModel from a model package of another account is allowed only when the package's
//     group policy grants the caller's account and the caller's own policies allow it, and
//     only when the model's execution role may read the package's artifact.
package serving
