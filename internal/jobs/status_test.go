package jobs

import (
	"fmt"
	"testing"
)

// TestStatusTransitions lists every edge between job states: the allowed ones, and every other
// pair is forbidden.
func TestStatusTransitions(t *testing.T) {
	all := []Status{InProgress, Completed, Failed, Stopping, Stopped}
	allowed := map[[2]Status]bool{
		{InProgress, Completed}: true, {InProgress, Failed}: true, {InProgress, Stopping}: true,
		{Stopping, Stopped}: true, {Stopping, Failed}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := from.CanMoveTo(to), allowed[[2]Status{from, to}]; got != want {
				t.Errorf("%s -> %s: CanMoveTo = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, s := range all {
		if got, want := s.Terminal(), s == Completed || s == Failed || s == Stopped; got != want {
			t.Errorf("%s.Terminal() = %v, want %v", s, got, want)
		}
	}
	if Status("Bogus").CanMoveTo(Completed) || InProgress.CanMoveTo("Bogus") || Status("Bogus").Valid() {
		t.Error("an unknown status moves or is valid")
	}
}

// TestSecondaryTransitions lists every edge between phases.
func TestSecondaryTransitions(t *testing.T) {
	allowed := map[string]bool{}
	for _, e := range []string{
		"Starting>Downloading", "Starting>Training", "Starting>Uploading", "Starting>Failed", "Starting>Stopping",
		"Downloading>Training", "Downloading>Uploading", "Downloading>Failed", "Downloading>Stopping",
		"Training>Uploading", "Training>Failed", "Training>Stopping",
		"Uploading>Completed", "Uploading>Failed", "Uploading>Stopping",
		"Stopping>Stopped", "Stopping>Failed", "Stopping>MaxRuntimeExceeded",
	} {
		allowed[e] = true
	}
	for _, from := range Secondaries {
		for _, to := range Secondaries {
			edge := fmt.Sprintf("%s>%s", from, to)
			if got := from.CanMoveTo(to); got != allowed[edge] {
				t.Errorf("%s: CanMoveTo = %v, want %v", edge, got, allowed[edge])
			}
			// Every allowed edge is also an allowed (or unchanged) move of the job's status.
			if allowed[edge] && from.Status() != to.Status() && !from.Status().CanMoveTo(to.Status()) {
				t.Errorf("%s is allowed but %s -> %s is not", edge, from.Status(), to.Status())
			}
		}
	}
	want := map[Secondary]Status{Starting: InProgress, Downloading: InProgress, Training: InProgress, Uploading: InProgress,
		SecCompleted: Completed, SecFailed: Failed, SecStopping: Stopping, SecStopped: Stopped, MaxRuntimeExceeded: Stopped}
	for s, st := range want {
		if s.Status() != st {
			t.Errorf("%s.Status() = %s, want %s", s, s.Status(), st)
		}
		if s.Terminal() != st.Terminal() {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
	}
}
