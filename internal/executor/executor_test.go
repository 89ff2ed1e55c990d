package executor

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := Spec{ID: "job-1.attempt_2", Dir: "/var/lib/slipway/jobs/j1", Command: []string{"/usr/bin/python3", "train.py"},
		Mounts: []Mount{{Host: "/data/in", Target: "/opt/ml/processing/input", ReadOnly: true}}, Env: map[string]string{"A": "1"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good spec: %v", err)
	}
	bad := map[string]func(s *Spec){
		"empty id":         func(s *Spec) { s.ID = "" },
		"dot-dot id":       func(s *Spec) { s.ID = ".." },
		"slash in id":      func(s *Spec) { s.ID = "a/b" },
		"long id":          func(s *Spec) { s.ID = strings.Repeat("a", 201) },
		"relative dir":     func(s *Spec) { s.Dir = "jobs/j1" },
		"unclean dir":      func(s *Spec) { s.Dir = "/var/../etc" },
		"no command":       func(s *Spec) { s.Command = nil },
		"relative command": func(s *Spec) { s.Command = []string{"python3"} },
		"relative workdir": func(s *Spec) { s.WorkDir = "code" },
		"mount on /":       func(s *Spec) { s.Mounts = []Mount{{Host: "/data", Target: "/"}} },
		"mount on /opt/ml": func(s *Spec) { s.Mounts = []Mount{{Host: "/data", Target: "/opt/ml"}} },
		"relative mount":   func(s *Spec) { s.Mounts = []Mount{{Host: "data", Target: "/x"}} },
		"= in env name":    func(s *Spec) { s.Env = map[string]string{"A=B": "1"} },
		"NUL in env value": func(s *Spec) { s.Env = map[string]string{"A": "\x00"} },
		"negative memory":  func(s *Spec) { s.Resources.MemoryBytes = -1 },
	}
	for name, mutate := range bad {
		s := good
		mutate(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzValidateID: an accepted id is one path element below the directory it is joined to.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"job-1", "..", ".", "a/b", "", "a\x00b", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if (Spec{ID: id}).ValidateID() != nil {
			return
		}
		if p := filepath.Join("/state", id); filepath.Dir(p) != "/state" || filepath.Base(p) != id {
			t.Errorf("id %q accepted but escapes: %s", id, p)
		}
	})
}
