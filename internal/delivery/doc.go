// Package delivery is deploy pipelines, CodePipeline's subset: pipelines of stages of actions
// (the API's domain, authorized and audited here) and the engine that runs their executions on
// the reconcile runtime, acting as a session of the pipeline's role — or, for an action with
// its own role (a cross-account action), as a session of that role assumed by the pipeline's.
//
// Invariants:
//   - A pipeline's or execution's rows, the "CodePipeline … Execution State Change" events its
//     change causes, its work item and the call's audit record commit in one store transaction.
//   - Stages run in order, a stage's actions by RunOrder (actions of one RunOrder together); an
//     action is recorded InProgress, with its action execution id, before its provider is
//     called, so a restarted engine calls the provider again for the same action execution
//     (providers are idempotent by that id) instead of starting another.
//   - One execution occupies a stage at a time. An execution that finished a stage waits at the
//     boundary while the next stage is occupied; in SUPERSEDED mode a newer execution reaching
//     the same boundary supersedes it (status Superseded, its remaining stages never run).
//     Executions started in PARALLEL mode neither wait for nor hold stages; each keeps the mode
//     it started with when UpdatePipeline changes the pipeline's.
//   - An execution waits at a boundary whose transition (the stage's inbound, or the previous
//     stage's outbound) is disabled, as a committed Waiting row: a restarted engine leaves it
//     there, and EnableStageTransition wakes it in the transaction that enables the transition.
//   - RetryStageExecution resumes only the latest execution to have run a stage (in SUPERSEDED
//     and QUEUED modes), only a failed or stopped stage, only while the pipeline's declaration
//     is the one the execution runs; the runs it replaces are kept.
//   - A manual approval is decided only by PutApprovalResult, authorized as
//     codepipeline:PutApprovalResult on …:PIPELINE/STAGE/ACTION, with the token of the waiting
//     action; the approver, the time and the summary are recorded with the decision. A refused
//     or malformed call records nothing.
//   - Executions and actions move only along ExecStatus.CanMoveTo and ActionStatus.CanMoveTo.
package delivery
