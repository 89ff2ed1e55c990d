package definition

import (
	"encoding/json"
	"fmt"
	"testing"
)

// bigDefinition builds the benchmark shapes of issue 9: a chain of n trivial processing steps
// (width 1), or fan-out/fan-in: one step, width steps that read it, one step that reads them
// all, and again.
func bigDefinition(n, width int) []byte {
	var steps []any
	var prev []string
	for i := 0; len(steps) < n; i++ {
		var layer []string
		w := width
		if i%2 == 0 {
			w = 1 // the fan-in (and fan-out) step
		}
		for j := 0; j < w && len(steps) < n; j++ {
			name := fmt.Sprintf("S%d_%d", i, j)
			env := map[string]any{}
			for _, p := range prev {
				env[p] = map[string]any{"Get": "Steps." + p + ".ProcessingJobName"}
			}
			steps = append(steps, map[string]any{"Name": name, "Type": "Processing", "Arguments": map[string]any{
				"AppSpecification":    map[string]any{"ImageUri": "slipway/prep", "ContainerEntrypoint": []any{"/bin/true"}},
				"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
				"Environment":         env,
			}})
			layer = append(layer, name)
		}
		prev = layer
	}
	b, _ := json.Marshal(map[string]any{"Version": "2020-12-01", "Steps": steps})
	return b
}

// runPlan drives a plan to the end, finishing steps in the order they were started.
func runPlan(tb testing.TB, d *Definition, maxPar int) int {
	pr := Progress{Done: map[string]bool{}, Running: map[string]bool{}}
	var queue []string
	started := 0
	for !d.Plan().Finished(pr) {
		for _, n := range d.Plan().Ready(pr, maxPar) {
			pr.Running[n] = true
			queue = append(queue, n)
			started++
		}
		if len(queue) == 0 {
			tb.Fatal("stalled")
		}
		n := queue[0]
		queue = queue[1:]
		delete(pr.Running, n)
		pr.Done[n] = true
	}
	return started
}

func BenchmarkParse1000(b *testing.B) {
	for _, shape := range []struct {
		name  string
		width int
	}{{"chain", 1}, {"fanout100", 100}} {
		data := bigDefinition(1000, shape.width)
		b.Run(shape.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlan1000 is the planner's share of the orchestration overhead: one Ready call per
// finished step over 1,000 steps. Per-step cost is ns/op ÷ 1000.
func BenchmarkPlan1000(b *testing.B) {
	for _, shape := range []struct {
		name  string
		width int
	}{{"chain", 1}, {"fanout100", 100}} {
		d, err := Parse(bigDefinition(1000, shape.width))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(shape.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if got := runPlan(b, d, 50); got != 1000 {
					b.Fatalf("started %d steps", got)
				}
			}
		})
	}
}

func TestBigDefinitions(t *testing.T) {
	for _, w := range []int{1, 100} {
		d, err := Parse(bigDefinition(1000, w))
		if err != nil {
			t.Fatal(err)
		}
		if got := runPlan(t, d, 50); got != 1000 {
			t.Errorf("width %d: started %d steps, want 1000", w, got)
		}
	}
}
