package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLogsUsage checks the exit codes and messages of `slipway logs` before it calls a server
// (the calls themselves are proven against a real server in e2e).
func TestLogsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"logs"}, 2, "want a job kind and a job name"},
		{[]string{"logs", "training-job"}, 2, "want a job kind and a job name"},
		{[]string{"logs", "notebook-job", "n1"}, 2, `unknown job kind "notebook-job"`},
		{[]string{"logs", "training-job", "t1", "extra"}, 2, "want a job kind and a job name"},
		{[]string{"logs", "--profile", "x", "training-job", "t1", "--credentials", "/nonexistent/credentials"}, 1, "cannot read the credentials file"},
		{[]string{"logs", "--help"}, 0, "usage: slipway logs"},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errb.String(), tc.code, tc.want)
		}
	}
}
