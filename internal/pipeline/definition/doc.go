// Package definition reads SageMaker pipeline definitions (JSON, version 2020-12-01) and
// answers the questions an execution engine asks of one: which steps exist and how they are
// configured (Parse), whether the definition is consistent (Validate), what an expression is
// worth during an execution (Resolve, EvaluateConditions), which steps may start now (Plan),
// and whether a step's work can be reused (CacheArguments, CacheKey, DiffPaths).
//
// It is a pure package: no storage, no network, no clock. Values that come from an execution
// (parameter values, execution variables, step properties, property files) are handed in
// through a Context.
//
// Invariants:
//   - Parse returns either a Definition that passed Validate or an *Error whose message names
//     the step (when there is one) and the JSON path of the problem; it never panics, whatever
//     the input (fuzzed). Definitions over MaxSize bytes are refused before decoding.
//   - Everything a definition can hold that Slipway does not run (step types, step fields,
//     functions, condition types, retry exception types) is refused by name, never ignored.
//   - Step names are unique across the whole definition, branch steps of Condition steps
//     included; every reference names something that exists; the step graph has no cycle.
//   - A branch step depends on its Condition step, so it runs only after the Condition is
//     evaluated and only when its branch was chosen (Plan.Skipped lists the others).
//   - Plan.Ready never returns a step twice for the same Progress, never a step whose
//     dependencies are not all done, and never more steps than maxParallel leaves room for
//     (property-tested over random graphs).
//   - Resolve does not modify its input, and its output contains no expression.
//   - CacheKey is a function of the step type and the resolved arguments minus what changes per
//     execution (execution variables) or does not change the result (job names, roles, tags).
package definition
