package stacks

import (
	"strings"
	"testing"
)

// TestStatusMoves lists every edge of the status machine: each allowed move is allowed, and
// every other pair of statuses is refused.
func TestStatusMoves(t *testing.T) {
	all := []Status{CreateInProgress, CreateComplete, CreateFailed, RollbackInProgress, RollbackComplete, DeleteInProgress,
		DeleteComplete, DeleteFailed, UpdateInProgress, UpdateCleanupInProgress, UpdateComplete, UpdateRollbackInProgress,
		UpdateRollbackCleanupInProgress, UpdateRollbackComplete, ReviewInProgress}
	allowed := map[[2]Status]bool{}
	for _, e := range [][2]Status{
		{ReviewInProgress, CreateInProgress}, {ReviewInProgress, DeleteInProgress},
		{CreateInProgress, CreateComplete}, {CreateInProgress, CreateFailed}, {CreateInProgress, RollbackInProgress}, {CreateInProgress, DeleteInProgress},
		{RollbackInProgress, RollbackComplete}, {RollbackInProgress, DeleteInProgress},
		{CreateComplete, UpdateInProgress}, {CreateComplete, DeleteInProgress},
		{CreateFailed, DeleteInProgress}, {RollbackComplete, DeleteInProgress},
		{DeleteInProgress, DeleteComplete}, {DeleteInProgress, DeleteFailed}, {DeleteFailed, DeleteInProgress},
		{UpdateInProgress, UpdateCleanupInProgress}, {UpdateInProgress, UpdateRollbackInProgress},
		{UpdateCleanupInProgress, UpdateComplete}, {UpdateComplete, UpdateInProgress}, {UpdateComplete, DeleteInProgress},
		{UpdateRollbackInProgress, UpdateRollbackCleanupInProgress}, {UpdateRollbackCleanupInProgress, UpdateRollbackComplete},
		{UpdateRollbackComplete, UpdateInProgress}, {UpdateRollbackComplete, DeleteInProgress},
	} {
		allowed[e] = true
	}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMoveTo(to); got != allowed[[2]Status{from, to}] {
				t.Errorf("%s → %s: CanMoveTo = %v", from, to, got)
			}
		}
		inProgress := strings.HasSuffix(string(from), "_IN_PROGRESS") && from != ReviewInProgress
		if from.Terminal() == inProgress {
			t.Errorf("%s: Terminal = %v", from, from.Terminal())
		}
		if from.Updatable() != (from == CreateComplete || from == UpdateComplete || from == UpdateRollbackComplete) {
			t.Errorf("%s: Updatable = %v", from, from.Updatable())
		}
	}
	if DeleteComplete.CanMoveTo(CreateInProgress) || !failureEdge(RollbackInProgress, RollbackFailed) || failureEdge(CreateComplete, RollbackFailed) {
		t.Error("failure edges")
	}
}

func TestPhysicalName(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range []struct{ stack, logical string }{
		{"abalone", "Model"}, {strings.Repeat("s", 128), "EndpointConfig"}, {"a", strings.Repeat("L", 255)}, {"x-", "Y"},
	} {
		n := physicalName(c.stack, c.logical)
		if len(n) > 63 || seen[n] {
			t.Errorf("physicalName(%.10s…, %.10s…) = %q", c.stack, c.logical, n)
		}
		if !strings.HasPrefix(n, c.stack[:min(10, len(c.stack))]) {
			t.Errorf("physicalName(%q, %q) = %q does not start with the stack's name", c.stack, c.logical, n)
		}
		seen[n] = true
	}
}

func TestParseStackKey(t *testing.T) {
	for key, want := range map[string]string{
		"arn:aws:cloudformation:us-east-1:111122223333:stack/s/abc": "111122223333",
		"arn:aws:sagemaker:us-east-1:111122223333:endpoint/e":       "",
		"arn:aws:cloudformation:us-east-1:111122223333:changeSet/c": "",
		"not an arn": "",
	} {
		got, ok := ParseStackKey(key)
		if got != want || ok != (want != "") {
			t.Errorf("ParseStackKey(%q) = %q, %v", key, got, ok)
		}
	}
}
