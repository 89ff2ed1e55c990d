package cli

import (
	"context"
	"strings"
	"testing"
)

// TestDemoRunsTheStory runs `slipway demo` as a user would, and checks that each turn of the
// story happened: the project, the model build, the approval, both staging accounts, the
// refused and the accepted production approval, the production prediction and the audit trail.
func TestDemoRunsTheStory(t *testing.T) {
	var out, errOut strings.Builder
	if code := Run(context.Background(), []string{"demo", "--data-dir", t.TempDir()}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d: %s\n%s", code, errOut.String(), out.String())
	}
	t.Log(out.String())
	for _, want := range []string{
		"(OU staging ou-",
		"project CreateCompleted",
		"RegisterAbaloneModel",
		"(PendingManualApproval)",
		"→ Approved (by the data scientist)",
		"execution ",
		"endpoint abalone-staging InService in staging (",
		"endpoint abalone-staging InService in staging-2 (",
		"approval → the endpoint InService in all 2 staging accounts",
		"the data scientist approves production → AccessDenied",
		"the deployment operator approves production",
		"endpoint abalone-prod InService in production (",
		"prediction: ",
		"deploy staging",
		"chain intact",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// TestDemoAutomatedPromotion: with --promotion automated the passing staging test approves
// production itself, and the record says so.
func TestDemoAutomatedPromotion(t *testing.T) {
	var out, errOut strings.Builder
	if code := Run(context.Background(), []string{"demo", "--promotion", "automated", "--data-dir", t.TempDir()}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d: %s\n%s", code, errOut.String(), out.String())
	}
	for _, want := range []string{"promotion is automated: the passing staging test approved", "endpoint abalone-prod InService in production (", "prediction: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "approves production → AccessDenied") {
		t.Errorf("an automated promotion asked a person to approve:\n%s", out.String())
	}
}
