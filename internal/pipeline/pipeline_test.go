package pipeline

import (
	"regexp"
	"strings"
	"testing"
)

func TestStatusTransitions(t *testing.T) {
	all := []Status{Executing, Stopping, Stopped, Failed, Succeeded}
	allowed := map[Status][]Status{
		Executing: {Stopping, Failed, Succeeded},
		Stopping:  {Stopped, Failed, Succeeded},
	}
	for _, from := range all {
		for _, to := range all {
			want := false
			for _, x := range allowed[from] {
				want = want || x == to
			}
			if got := from.CanMoveTo(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
		if from.Terminal() != (len(allowed[from]) == 0) {
			t.Errorf("%s.Terminal() = %v", from, from.Terminal())
		}
	}
}

func TestStepStatusTransitions(t *testing.T) {
	all := []StepStatus{StepStarting, StepExecuting, StepStopping, StepStopped, StepFailed, StepSucceeded}
	allowed := map[StepStatus][]StepStatus{
		StepStarting:  {StepExecuting, StepStopping, StepStopped, StepFailed, StepSucceeded},
		StepExecuting: {StepStopping, StepFailed, StepSucceeded},
		StepStopping:  {StepStopped, StepFailed, StepSucceeded},
	}
	for _, from := range all {
		for _, to := range all {
			want := false
			for _, x := range allowed[from] {
				want = want || x == to
			}
			if got := from.CanMoveTo(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
		if from.Terminal() != (len(allowed[from]) == 0) {
			t.Errorf("%s.Terminal() = %v", from, from.Terminal())
		}
	}
}

var jobNameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func TestJobName(t *testing.T) {
	seen := map[string]string{}
	for _, c := range []struct{ exec, step string }{
		{"abc123def456", "Train"}, {"abc123def456", "train"}, {"abc123def456", "Pre_Process"}, {"abc123def456", "Pre-Process"},
		{"abc123def456", strings.Repeat("VeryLongStepName", 5)}, {"abc123def456", "___"}, {"zzz", "Train"},
	} {
		n := jobName(c.exec, c.step, 1)
		if !jobNameRE.MatchString(n) {
			t.Errorf("jobName(%q, %q) = %q: not a job name", c.exec, c.step, n)
		}
		if n != jobName(c.exec, c.step, 1) {
			t.Errorf("jobName(%q, %q) is not deterministic", c.exec, c.step)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("jobName(%q, %q) = %q, as for %s", c.exec, c.step, n, prev)
		}
		seen[n] = c.exec + "/" + c.step
		if jobName(c.exec, c.step, 2) == n {
			t.Errorf("attempts 1 and 2 of %s share a job name", c.step)
		}
	}
}

func TestParseExecutionARN(t *testing.T) {
	for _, c := range []struct {
		in                string
		account, name, id string
		ok                bool
	}{
		{"arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone/execution/abc123", "111122223333", "abalone", "abc123", true},
		{"arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone", "", "", "", false},
		{"arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone/execution/", "", "", "", false},
		{"arn:aws:sagemaker:us-east-1:111122223333:pipeline/a--b/execution/ABC", "", "", "", false},
		{"arn:aws:s3:::pipeline/abalone/execution/abc", "", "", "", false},
		{"pipeline/abalone/execution/abc", "", "", "", false},
	} {
		a, n, id, ok := ParseExecutionARN(c.in)
		if ok != c.ok || ok && (a != c.account || n != c.name || id != c.id) {
			t.Errorf("ParseExecutionARN(%q) = %q %q %q %v", c.in, a, n, id, ok)
		}
	}
}

// FuzzParseExecutionARN: any input parses or not without panicking, and what parses is an
// execution of a valid pipeline name, in a valid account, that the service would name the same.
func FuzzParseExecutionARN(f *testing.F) {
	for _, s := range []string{"arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone/execution/abc123",
		"arn:aws:sagemaker:us-east-1:111122223333:pipeline/a/execution/b/execution/c", "arn:::::", ""} {
		f.Add(s)
	}
	s := &Service{region: "us-east-1"}
	f.Fuzz(func(t *testing.T, in string) {
		account, name, id, ok := ParseExecutionARN(in)
		if !ok {
			return
		}
		if !nameRE.MatchString(name) || !execIDRE.MatchString(id) || len(account) == 0 {
			t.Fatalf("ParseExecutionARN(%q) = %q %q %q", in, account, name, id)
		}
		if strings.HasPrefix(in, "arn:aws:sagemaker:us-east-1:") && name == strings.ToLower(name) && s.ExecutionARN(account, name, id) != in {
			t.Fatalf("%q parsed to %q %q %q, which name %q", in, account, name, id, s.ExecutionARN(account, name, id))
		}
	})
}
