// Package executor declares where a job's process runs: the Spec of one job attempt, the
// serializable Handle that names it, its Exit, and the Executor interface that the jobs engine
// consumes. Implementations live in subpackages (local: processes on this machine) and all run
// the conformance suite in executortest.
//
// Invariants every implementation keeps:
//
//   - Start returns only once the user's command is running (or returns an error and nothing
//     runs). A Handle is plain data: it can be stored, and Wait, Stop and Logs accept it from
//     another process, e.g. a server restarted after a crash.
//   - A running job does not depend on the process that started it: killing the server (even
//     with SIGKILL) leaves the job running, and a new executor value finds its end.
//   - Every job ends with exactly one Exit, and Wait reports that same Exit however often and
//     from however many processes it is asked. A job whose supervisor vanished without recording
//     an end is reported with Reason ReasonLost; it is not silently restarted.
//   - Inside the job, Spec.Dir is /opt/ml when the implementation can remap it (see the
//     implementation's mode); in every mode the variable EnvOptML names the directory the job
//     should use as /opt/ml.
//   - The job's environment is Spec.Env (plus PATH when unset and EnvOptML): nothing of the
//     server's environment leaks into a job.
//   - Logs returns the job's combined stdout and stderr from the start; with follow it ends
//     when the job has ended and everything it wrote has been read.
package executor
