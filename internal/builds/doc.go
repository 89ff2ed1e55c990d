// Package builds is CodeBuild's subset: build projects (the API's domain, authorized and
// audited here) and the engine that runs their builds on the reconcile runtime.
//
// A build runs on this machine, in a private work directory, as a session of the project's
// service role: its commands run under /bin/sh through the executor with the container
// credentials endpoint and AWS_ENDPOINT_URL in their environment (the mechanism jobs use), so
// the aws CLI and any SDK inside the build reach Slipway as that role. The project's image is
// recorded, not pulled: builds use the tools of the machine.
//
// Each phase (install, pre_build, build, post_build) is one executor job running a script the
// engine writes; a phase ends by saving its exported environment and working directory, which
// the next phase restores (so, as in CodeBuild's version 0.2, `export X=…` and `cd` carry
// over between phases; unexported shell variables do not).
//
// Invariants:
//   - A project's or build's rows, its work item and the call's audit record commit in one
//     store transaction.
//   - Durability: a phase's executor job is started under an id fixed by the build and the
//     phase, and its handle is recorded before the engine waits on it. A server that is
//     SIGKILLed leaves the phase running (the executor's shim outlives it); the restarted
//     engine re-attaches to the same job, copies the log lines not yet copied, and resumes the
//     build where it stood. Work that is not a job (downloading the source, uploading the
//     artifacts) is idempotent and is simply done again.
//   - Every log line lands exactly once, in order: a phase's output lines go with their
//     positions in it (the phase's name is their source), the engine's own lines with theirs
//     (Run.Notes), and the logs append a batch and record how far its source has come in one
//     transaction, skipping what they hold; Run.LogLines may lag behind them.
//   - A build ends exactly once: SUCCEEDED, FAILED, FAULT (the server could not run it),
//     STOPPED or TIMED_OUT, and its credentials grant is revoked when it ends.
//   - StartBuild with an idempotency token already used for the project returns that build
//     (the deploy pipeline's Build actions rely on it to find the build a restarted engine
//     started).
package builds
