package cli

import (
	"context"
	"strings"
	"testing"
)

func TestDemoRunsTheStory(t *testing.T) {
	var out, errOut strings.Builder
	if code := Run(context.Background(), []string{"demo", "--data-dir", t.TempDir()}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{
		"mse ≤ 6.0: the condition step registers the model",
		"staging describe-model-package → AccessDeniedException",
		"staging describe-model-package → PendingManualApproval, version 1",
		"production admin approving its own package → AccessDeniedException",
		"Approved by arn:aws:iam::",
		"SageMaker Model Package State Change",
		"chain intact",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
