package definition

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomDefinition builds a random acyclic definition: Processing steps that depend on earlier
// steps by DependsOn or by data references, and Condition steps whose branches hold further
// steps (nested Conditions included).
func randomDefinition(r *rand.Rand) []byte {
	var names []string // every step created so far, in creation order
	n := 0
	var mkSteps func(count, depth int) []any
	mkStep := func() map[string]any {
		n++
		name := fmt.Sprintf("S%d", n)
		s := map[string]any{"Name": name, "Type": "Processing", "Arguments": map[string]any{
			"AppSpecification":    map[string]any{"ImageUri": "slipway/prep"},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
		}}
		var deps []any
		env := map[string]any{}
		for _, prev := range names {
			switch r.IntN(6) {
			case 0:
				deps = append(deps, prev)
			case 1:
				member := ".ProcessingJobName"
				if prev[0] == 'C' {
					member = ".Outcome"
				}
				env[prev] = map[string]any{"Get": "Steps." + prev + member}
			}
		}
		if len(deps) > 0 {
			s["DependsOn"] = deps
		}
		if len(env) > 0 {
			s["Arguments"].(map[string]any)["Environment"] = env
		}
		names = append(names, name)
		return s
	}
	mkSteps = func(count, depth int) []any {
		var out []any
		for i := 0; i < count; i++ {
			if depth < 2 && r.IntN(5) == 0 {
				n++
				name := fmt.Sprintf("C%d", n)
				c := map[string]any{"Name": name, "Type": "Condition"}
				conds := []any{map[string]any{"Type": "Equals", "LeftValue": 1, "RightValue": 1}}
				if len(names) > 0 && r.IntN(2) == 0 {
					prev := names[r.IntN(len(names))]
					member := ".ProcessingJobName"
					if prev[0] == 'C' {
						member = ".Outcome"
					}
					conds = append(conds, map[string]any{"Type": "Equals", "LeftValue": map[string]any{"Get": "Steps." + prev + member}, "RightValue": "x"})
				}
				names = append(names, name)
				c["Arguments"] = map[string]any{"Conditions": conds,
					"IfSteps": mkSteps(r.IntN(3), depth+1), "ElseSteps": mkSteps(r.IntN(3), depth+1)}
				out = append(out, c)
				continue
			}
			out = append(out, mkStep())
		}
		return out
	}
	def := map[string]any{"Version": "2020-12-01", "Steps": mkSteps(1+r.IntN(25), 0)}
	b, err := json.Marshal(def)
	if err != nil {
		panic(err)
	}
	return b
}

// TestPlanProperties runs random definitions through a simulated engine that finishes running
// steps in random order: every step that is not skipped runs exactly once, only after all its
// dependencies finished; skipped steps are exactly those behind a branch not taken; at most
// maxParallel steps run at once; the execution never stalls.
func TestPlanProperties(t *testing.T) {
	var totalSkipped, fullParallel int
	defer func() {
		// The generator must exercise what the properties are about.
		if totalSkipped == 0 || fullParallel == 0 {
			t.Errorf("random definitions never skipped a step (%d) or filled the parallelism (%d)", totalSkipped, fullParallel)
		}
	}()
	for seed := uint64(0); seed < 400; seed++ {
		r := rand.New(rand.NewPCG(seed, 17))
		data := randomDefinition(r)
		d, err := Parse(data)
		if err != nil {
			t.Fatalf("seed %d: Parse: %v\n%s", seed, err, data)
		}
		plan := d.Plan()
		maxPar := r.IntN(4) // 0 = unlimited
		pr := Progress{Done: map[string]bool{}, Running: map[string]bool{}, Failed: map[string]bool{}, Outcomes: map[string]bool{}}
		started := map[string]int{}
		for iter := 0; ; iter++ {
			if iter > 10000 {
				t.Fatalf("seed %d: no progress", seed)
			}
			ready := plan.Ready(pr, maxPar)
			if maxPar > 0 && len(pr.Running)+len(ready) > maxPar {
				t.Fatalf("seed %d: %d running + %d ready > parallelism %d", seed, len(pr.Running), len(ready), maxPar)
			}
			for _, n := range ready {
				started[n]++
				if started[n] > 1 {
					t.Fatalf("seed %d: step %s started twice", seed, n)
				}
				for _, dep := range plan.Dependencies(n) {
					if !pr.Done[dep] {
						t.Fatalf("seed %d: step %s started before its dependency %s finished", seed, n, dep)
					}
				}
				pr.Running[n] = true
			}
			if maxPar > 1 && len(pr.Running) == maxPar {
				fullParallel++
			}
			if len(pr.Running) == 0 {
				if !plan.Finished(pr) {
					t.Fatalf("seed %d: nothing running, nothing ready, not finished", seed)
				}
				break
			}
			// Finish a random subset (at least one) of the running steps.
			var running []string
			for _, n := range plan.Steps() {
				if pr.Running[n] {
					running = append(running, n)
				}
			}
			r.Shuffle(len(running), func(i, j int) { running[i], running[j] = running[j], running[i] })
			for i, n := range running {
				if i > 0 && r.IntN(2) == 0 {
					continue
				}
				delete(pr.Running, n)
				pr.Done[n] = true
				if s := mustStep(t, d, n); s.Type == Condition {
					pr.Outcomes[n] = r.IntN(2) == 0
				}
			}
		}
		skipped := map[string]bool{}
		for _, n := range plan.Skipped(pr) {
			skipped[n] = true
			totalSkipped++
		}
		for _, s := range d.AllSteps() {
			wantSkip := false
			for cur := s; cur.Parent != ""; {
				parent := mustStep(t, d, cur.Parent)
				if skipped[parent.Name] || pr.Outcomes[parent.Name] != (cur.Branch == IfBranch) {
					wantSkip = true
				}
				cur = parent
			}
			for _, dep := range plan.Dependencies(s.Name) {
				wantSkip = wantSkip || skipped[dep]
			}
			if skipped[s.Name] != wantSkip {
				t.Errorf("seed %d: step %s skipped = %v, want %v", seed, s.Name, skipped[s.Name], wantSkip)
			}
			if ran := started[s.Name] == 1; ran == skipped[s.Name] {
				t.Errorf("seed %d: step %s ran = %v, skipped = %v", seed, s.Name, ran, skipped[s.Name])
			}
		}
	}
}

func TestPlanDownstream(t *testing.T) {
	d := mustParse(t, small)
	got := d.Plan().Downstream("Train")
	want := "[Check Register Stop Notify Wait]"
	if fmt.Sprint(got) != want {
		t.Errorf("Downstream(Train) = %v, want %v", got, want)
	}
	if got := d.Plan().Upstream("Notify"); fmt.Sprint(got) != "[Prep Train Check Register]" {
		t.Errorf("Upstream(Notify) = %v", got)
	}
	if got := d.Plan().Steps(); fmt.Sprint(got) != "[Prep Train Check Register Stop Notify Wait]" {
		t.Errorf("Steps = %v", got)
	}
}

func TestPlanFailedStepBlocksDownstream(t *testing.T) {
	d := mustParse(t, small)
	pr := Progress{Done: map[string]bool{}, Running: map[string]bool{}, Failed: map[string]bool{"Prep": true}}
	if got := d.Plan().Ready(pr, 0); len(got) != 0 {
		t.Errorf("Ready after Prep failed = %v, want none", got)
	}
	if d.Plan().Finished(pr) {
		t.Errorf("Finished with unrun steps")
	}
}
