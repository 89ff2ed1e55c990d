package delivery

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestExecStatusMoves(t *testing.T) {
	all := []ExecStatus{ExecInProgress, ExecStopping, ExecStopped, ExecSucceeded, ExecSuperseded, ExecFailed}
	allowed := map[[2]ExecStatus]bool{
		{ExecInProgress, ExecStopping}: true, {ExecInProgress, ExecStopped}: true, {ExecInProgress, ExecSucceeded}: true,
		{ExecInProgress, ExecSuperseded}: true, {ExecInProgress, ExecFailed}: true,
		{ExecStopping, ExecStopped}: true, {ExecStopping, ExecFailed}: true,
		// RetryStageExecution resumes a failed or stopped execution.
		{ExecFailed, ExecInProgress}: true, {ExecStopped, ExecInProgress}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMoveTo(to); got != allowed[[2]ExecStatus{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
			if from.Terminal() && from.CanMoveTo(to) && to != ExecInProgress {
				t.Errorf("terminal %s moves to %s", from, to)
			}
		}
	}
}

func TestActionStatusMoves(t *testing.T) {
	all := []ActionStatus{"", ActionInProgress, ActionSucceeded, ActionFailed, ActionAbandoned}
	allowed := map[[2]ActionStatus]bool{
		{"", ActionInProgress}: true, {ActionInProgress, ActionSucceeded}: true, {ActionInProgress, ActionFailed}: true,
		{ActionInProgress, ActionAbandoned}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMoveTo(to); got != allowed[[2]ActionStatus{from, to}] {
				t.Errorf("%q → %q: %v", from, to, got)
			}
		}
	}
}

func TestPlanStage(t *testing.T) {
	def := Stage{Actions: []Action{{Name: "a", RunOrder: 1}, {Name: "b", RunOrder: 1}, {Name: "c", RunOrder: 2}}}
	run := func(st ...ActionStatus) StageRun {
		r := StageRun{}
		for i, s := range st {
			r.Actions = append(r.Actions, ActionRun{Name: def.Actions[i].Name, Status: s})
		}
		return r
	}
	cases := []struct {
		name string
		run  StageRun
		want stagePlan
	}{
		{"fresh: the lowest run order starts together", run("", "", ""), stagePlan{Start: []int{0, 1}}},
		{"one of the order runs", run(ActionInProgress, ActionSucceeded, ""), stagePlan{Running: []int{0}}},
		{"the next order", run(ActionSucceeded, ActionSucceeded, ""), stagePlan{Start: []int{2}}},
		{"a failure waits for the running", run(ActionFailed, ActionInProgress, ""), stagePlan{Running: []int{1}, Failed: true}},
		{"a failure stops the stage", run(ActionFailed, ActionSucceeded, ""), stagePlan{Failed: true}},
		{"abandoned counts as failed", run(ActionSucceeded, ActionAbandoned, ""), stagePlan{Failed: true}},
		{"done", run(ActionSucceeded, ActionSucceeded, ActionSucceeded), stagePlan{Done: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := planStage(def, c.run)
			if !slices.Equal(got.Start, c.want.Start) || !slices.Equal(got.Running, c.want.Running) || got.Failed != c.want.Failed || got.Done != c.want.Done {
				t.Errorf("planStage = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestBoundary(t *testing.T) {
	at := func(id string, seq int64, mode string, stage int, waiting bool) Execution {
		return Execution{ID: id, Seq: seq, Status: ExecInProgress, Stage: stage, Waiting: waiting, Pipeline: Pipeline{ExecutionMode: mode}}
	}
	ex := func(id string, seq int64, stage int, waiting bool) Execution {
		return at(id, seq, ModeSuperseded, stage, waiting)
	}
	cases := []struct {
		name            string
		mode            string
		blocked         bool
		others          []Execution
		supersede, wait bool
	}{
		{"alone: enter", ModeSuperseded, false, nil, false, false},
		{"the stage is occupied: wait", ModeSuperseded, false, []Execution{ex("o", 1, 1, false)}, false, true},
		{"a newer one waits at the same boundary: superseded", ModeSuperseded, false, []Execution{ex("n", 3, 1, true)}, true, false},
		{"an older one waits at the same boundary: enter (it is superseded)", ModeSuperseded, false, []Execution{ex("o", 1, 1, true)}, false, false},
		{"a newer one elsewhere: enter", ModeSuperseded, false, []Execution{ex("n", 3, 0, false)}, false, false},
		{"queued: a newer one waits too: still enter", ModeQueued, false, []Execution{at("n", 3, ModeQueued, 1, true)}, false, false},
		{"queued: an older one waits first: wait", ModeQueued, false, []Execution{at("o", 1, ModeQueued, 1, true)}, false, true},
		{"a disabled transition: wait", ModeSuperseded, true, nil, false, true},
		{"a disabled transition and a newer one waits there: superseded", ModeSuperseded, true, []Execution{ex("n", 3, 1, true)}, true, false},
		{"a disabled transition, an older one waits there: wait (it is superseded)", ModeSuperseded, true, []Execution{ex("o", 1, 1, true)}, false, true},
		{"queued at a disabled transition: a newer one waits too: wait, not superseded", ModeQueued, true, []Execution{at("n", 3, ModeQueued, 1, true)}, false, true},
		{"parallel: the stage is occupied: enter", ModeParallel, false, []Execution{at("o", 1, ModeParallel, 1, false)}, false, false},
		{"parallel: a newer one waits at the boundary: enter, not superseded", ModeParallel, false, []Execution{at("n", 3, ModeParallel, 1, true)}, false, false},
		{"parallel: a disabled transition: wait", ModeParallel, true, []Execution{at("n", 3, ModeParallel, 1, true)}, false, true},
		{"a parallel execution in the stage holds nothing", ModeSuperseded, false, []Execution{at("o", 1, ModeParallel, 1, false)}, false, false},
		{"a parallel execution waiting does not supersede", ModeSuperseded, false, []Execution{at("n", 3, ModeParallel, 1, true)}, false, false},
		{"an ended execution holds nothing", ModeSuperseded, false, []Execution{{ID: "o", Seq: 1, Status: ExecFailed, Stage: 1}}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := at("x", 2, c.mode, 1, true)
			s, w := boundary(x, append([]Execution{x}, c.others...), c.blocked)
			if s != c.supersede || w != c.wait {
				t.Errorf("boundary = supersede %v wait %v, want %v %v", s, w, c.supersede, c.wait)
			}
		})
	}
}

// FuzzCheck: any declaration is either refused or leaves a pipeline whose artifacts flow
// forward only; check never panics.
func FuzzCheck(f *testing.F) {
	f.Add(`{"Name":"p","RoleARN":"arn:aws:iam::111111111111:role/r","ArtifactStore":{"Type":"S3","Location":"b"},"Stages":[{"Name":"S","Actions":[{"Name":"s","Category":"Source","Owner":"AWS","Provider":"S3","Configuration":{"S3Bucket":"b","S3ObjectKey":"k"},"OutputArtifacts":["o"]}]},{"Name":"A","Actions":[{"Name":"a","Category":"Approval","Provider":"Manual"}]}]}`)
	f.Add(`{"Name":"p","Stages":[{"Name":"S","Actions":[{"Name":"s","Category":"Source","Provider":"S3","InputArtifacts":["x"]}]}]}`)
	f.Add(`{}`)
	s := NewService(Config{Region: "us-east-1", Providers: map[string]ActionProvider{ProviderKey("Source", "S3"): nil}})
	f.Fuzz(func(t *testing.T, doc string) {
		var p Pipeline
		if json.Unmarshal([]byte(doc), &p) != nil {
			return
		}
		if s.check(&p) != nil {
			return
		}
		made := map[string]bool{}
		for i, st := range p.Stages {
			if (i == 0) != slices.ContainsFunc(st.Actions, func(a Action) bool { return a.Category == "Source" }) {
				t.Fatalf("stage %d: Source actions misplaced", i)
			}
			for _, a := range st.Actions {
				for _, in := range a.InputArtifacts {
					if !made[in] && !producedBefore(st, in, a.RunOrder) {
						t.Fatalf("input %s of %s is not made earlier", in, a.Name)
					}
				}
			}
			for _, a := range st.Actions {
				for _, o := range a.OutputArtifacts {
					made[o] = true
				}
			}
		}
	})
}

func producedBefore(st Stage, name string, order int) bool {
	for _, a := range st.Actions {
		if a.RunOrder < order && slices.Contains(a.OutputArtifacts, name) {
			return true
		}
	}
	return false
}
