// Package local is the executor that runs jobs as processes of this machine (Linux).
//
// Each job attempt gets a state directory, <StateDir>/<Spec.ID>, and a shim: a small
// supervisor (this program started again as the hidden subcommand ShimArg) in its own session,
// which the server does not wait for and which has no parent-death signal, so a server that
// crashes or is SIGKILLed leaves its jobs running. The shim
//
//   - holds an flock on <dir>/lock for its whole life: the kernel drops it when the shim dies,
//     so any process tells a live job (lock held) from a finished one (status.json present) and
//     from a lost one (neither) without trusting pids;
//   - in namespace mode runs in a private mount namespace where Spec.Dir is bind-mounted on
//     /opt/ml and each Spec.Mounts entry on its target (read-only where asked);
//   - puts itself, then the command, in the job's cgroups (limits and OOM detection);
//   - starts the command in its own process group, with stdout and stderr on <dir>/log and a
//     parent-death signal tied to the shim, and reports its pid to Start on a pipe;
//   - forwards Stop (SIGTERM to the group, SIGKILL after the grace period), kills whatever the
//     job leaves behind when its command ends, and writes <dir>/status.json atomically.
//
// A Handle is JSON holding the state directory and the shim's pid and start time; Wait, Stop
// and Logs work from any process that can read the state directory.
package local

// ShimArg is the hidden subcommand that runs a shim: `slipway executor-shim <state dir>`.
const ShimArg = "executor-shim"
