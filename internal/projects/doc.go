// Package projects is SageMaker Projects on Slipway: a catalog of project templates (a
// CloudFormation template, a manifest documenting its parameters, and seed code) and the
// projects made from them. A project is a CloudFormation stack (package stacks) made from its
// template, tagged sagemaker:project-name and sagemaker:project-id on the stack and on every
// resource of a type that takes tags, with the template's seed code uploaded to the bucket the
// template names once the stack is complete.
//
// Invariants:
//   - CreateProject checks everything it can before storing anything: the name, the caller's
//     sagemaker:CreateProject on the project's ARN, that the template exists (built-in, or the
//     account's own), and that the parameters satisfy the template's declarations (unknown
//     keys, missing values and constraint violations are a ValidationException).
//   - A project's row and its work item commit in one transaction; the engine (a reconcile
//     keyed by the project's ARN) then creates, updates or deletes the stack as the caller who
//     asked (its identity policies decide, and the stacks engine acts as that caller), and
//     follows the stack to a terminal project status. A restarted engine adopts the stack of
//     the project's deterministic name instead of making a second one.
//   - A project's status moves only along Status.CanMoveTo.
//   - Built-in templates are embedded in the binary and cannot be replaced or deleted; an
//     account's own templates are visible to that account only.
package projects
