package executor

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Spec describes one attempt of a job.
type Spec struct {
	ID        string            // unique job attempt id; used to re-attach
	Dir       string            // host directory that becomes /opt/ml inside the job (layout made by jobs)
	Mounts    []Mount           // extra paths visible inside (processing LocalPaths outside /opt/ml)
	Command   []string          // argv; Command[0] absolute host path
	Env       map[string]string // the job's whole environment (see EnvOptML)
	WorkDir   string            // inside the job ("" -> /opt/ml/code if it exists, else /)
	Resources Resources
}

// Mount makes the host path Host visible at Target inside the job.
type Mount struct {
	Host     string
	Target   string
	ReadOnly bool
}

// Resources are the limits asked for a job; zero means no limit. Which of them an executor
// can enforce is what its Enforced method says.
type Resources struct {
	CPUs        float64
	MemoryBytes int64
}

// Handle names a started job. It is opaque and serializable: store it as a string.
type Handle string

// Exit is how a job ended.
type Exit struct {
	Code      int    // the exit status; 128+n when killed by signal n (as shells report it); -1 when unknown (lost)
	Signal    string // "SIGKILL" … when a signal ended the job, else ""
	OOMKilled bool   // the kernel killed the job for exceeding its memory limit
	Reason    string // "" when the command ended by itself; ReasonStopped; ReasonLost
}

// Reasons of an Exit that the command did not choose.
const (
	ReasonStopped = "stopped" // Stop ended the job
	ReasonLost    = "lost"    // the job's supervisor vanished without recording how the job ended
)

// Success reports whether the job ran to completion with status 0.
func (e Exit) Success() bool {
	return e.Code == 0 && e.Signal == "" && !e.OOMKilled && e.Reason == ""
}

// EnvOptML is set in every job to the directory the job sees as /opt/ml: "/opt/ml" where the
// executor remaps it, Spec.Dir where it cannot.
const EnvOptML = "JOB_OPT_ML"

// OptML is the container contract's root directory inside a job.
const OptML = "/opt/ml"

// Executor runs jobs.
type Executor interface {
	Start(ctx context.Context, s Spec) (Handle, error)
	Wait(ctx context.Context, h Handle) (Exit, error) // works on a handle from another process
	Stop(ctx context.Context, h Handle, grace time.Duration) error
	Logs(ctx context.Context, h Handle, follow bool) (io.ReadCloser, error) // combined stdout+stderr, from the start
	Enforced() string                                                       // what limits this executor enforces, for DescribeX
}

// maxIDLen bounds Spec.ID; it names a directory or an object elsewhere.
const maxIDLen = 200

// Validate checks what every executor needs of a Spec: a safe ID, absolute paths, a command.
func (s Spec) Validate() error {
	if err := s.ValidateID(); err != nil {
		return err
	}
	if !isAbsClean(s.Dir) {
		return errs.E(errs.Invalid, "job directory %q must be an absolute, clean path", s.Dir)
	}
	if len(s.Command) == 0 || !filepath.IsAbs(s.Command[0]) {
		return errs.E(errs.Invalid, "job command %q must start with an absolute path", s.Command)
	}
	if s.WorkDir != "" && !isAbsClean(s.WorkDir) {
		return errs.E(errs.Invalid, "job working directory %q must be an absolute, clean path", s.WorkDir)
	}
	for _, m := range s.Mounts {
		if !isAbsClean(m.Host) || !isAbsClean(m.Target) || m.Target == "/" || m.Target == OptML {
			return errs.E(errs.Invalid, "mount %q -> %q: both paths must be absolute and clean, and the target neither / nor %s", m.Host, m.Target, OptML)
		}
	}
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return errs.E(errs.Invalid, "environment variable %q is not valid (a name holding = or NUL, or a value holding NUL)", k)
		}
	}
	if s.Resources.CPUs < 0 || s.Resources.MemoryBytes < 0 {
		return errs.E(errs.Invalid, "resources must not be negative")
	}
	return nil
}

// ValidateID checks that s.ID can name a directory: 1 to 200 letters, digits, '-', '_' or '.',
// and neither "." nor "..".
func (s Spec) ValidateID() error {
	if s.ID == "" || len(s.ID) > maxIDLen || s.ID == "." || s.ID == ".." {
		return errs.E(errs.Invalid, "job id %q must be 1 to %d characters", s.ID, maxIDLen)
	}
	for _, r := range s.ID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return errs.E(errs.Invalid, "job id %q may hold only letters, digits, '-', '_' and '.'", s.ID)
		}
	}
	return nil
}

func isAbsClean(p string) bool {
	return p != "" && filepath.IsAbs(p) && filepath.Clean(p) == p && !strings.ContainsRune(p, 0)
}
