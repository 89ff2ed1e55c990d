// Package pipeline is SageMaker Pipelines: pipelines and their versions, executions started
// on a version, and the engine that runs an execution's steps (the API's domain, authorized
// and audited here). Definitions are read by package pipeline/definition.
//
// Invariants:
//   - A pipeline's row and its new version, an execution's row with its status change event
//     and the work item that wakes the engine, and the audit record of the call that changed
//     them commit in one store transaction.
//   - An execution runs the definition of the version it started on: an update makes a new
//     version, a deletion of the pipeline leaves the execution's definition whole.
//   - Every step transition is committed (with its step status change event) before the
//     engine acts on it; a step's job is named by the execution, the step and the attempt, so
//     an engine that restarts finds the job it created instead of creating another.
//   - Steps run as the pipeline's role (an engine session of it): its jobs, models and model
//     packages are made by their own services, authorized as that role.
//   - A ClientRequestToken starts one execution of a pipeline; a retry gets the same one.
package pipeline
