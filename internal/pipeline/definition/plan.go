package definition

import (
	"sort"
	"strings"
)

// Plan is the step graph of a definition: each step's dependencies (its data references, its
// DependsOn, and for a branch step the Condition step whose branch holds it) in a topological
// order. It is immutable and safe for concurrent use.
type Plan struct {
	order []string
	pos   map[string]int
	deps  map[string][]string
	downs map[string][]string
	gate  map[string]gate // branch steps
}

type gate struct {
	cond   string
	branch Branch
}

// Plan returns the definition's step graph.
func (d *Definition) Plan() *Plan { return d.plan }

func newPlan(d *Definition, deps map[string][]string) (*Plan, error) {
	p := &Plan{pos: map[string]int{}, deps: deps, downs: map[string][]string{}, gate: map[string]gate{}}
	docPos := map[string]int{}
	for i, s := range d.all {
		docPos[s.Name] = i
		if s.Parent != "" {
			p.gate[s.Name] = gate{cond: s.Parent, branch: s.Branch}
		}
	}
	indeg := map[string]int{}
	for _, s := range d.all {
		indeg[s.Name] = len(deps[s.Name])
		for _, dep := range deps[s.Name] {
			p.downs[dep] = append(p.downs[dep], s.Name)
		}
	}
	// Kahn's algorithm; ties go to document order so the order is deterministic.
	var ready []string
	for _, s := range d.all {
		if indeg[s.Name] == 0 {
			ready = append(ready, s.Name)
		}
	}
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return docPos[ready[i]] < docPos[ready[j]] })
		n := ready[0]
		ready = ready[1:]
		p.pos[n] = len(p.order)
		p.order = append(p.order, n)
		for _, dn := range p.downs[n] {
			indeg[dn]--
			if indeg[dn] == 0 {
				ready = append(ready, dn)
			}
		}
	}
	if len(p.order) != len(d.all) {
		cyc := findCycle(d, deps, p.pos)
		s := d.index[cyc[0]]
		return nil, errorf(s.Name, s.Path, "the steps form a cycle: %s", strings.Join(cyc, " -> "))
	}
	for k := range p.downs {
		sort.Slice(p.downs[k], func(i, j int) bool { return p.pos[p.downs[k][i]] < p.pos[p.downs[k][j]] })
	}
	return p, nil
}

// findCycle returns one cycle among the steps Kahn's algorithm could not order, first step
// repeated at the end.
func findCycle(d *Definition, deps map[string][]string, ordered map[string]int) []string {
	state := map[string]int{} // 0 unseen, 1 on stack, 2 done
	var stack []string
	var found []string
	var dfs func(n string) bool
	dfs = func(n string) bool {
		state[n] = 1
		stack = append(stack, n)
		for _, m := range deps[n] {
			if _, ok := ordered[m]; ok {
				continue
			}
			if state[m] == 1 {
				for i, x := range stack {
					if x == m {
						found = append(append([]string{}, stack[i:]...), m)
						// deps point upstream; report the cycle in execution order.
						for l, r := 0, len(found)-1; l < r; l, r = l+1, r-1 {
							found[l], found[r] = found[r], found[l]
						}
						return true
					}
				}
			}
			if state[m] == 0 && dfs(m) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
		return false
	}
	for _, s := range d.all {
		if _, ok := ordered[s.Name]; !ok && state[s.Name] == 0 && dfs(s.Name) {
			return found
		}
	}
	return []string{"?"}
}

// Steps returns every step name in a topological order (dependencies first).
func (p *Plan) Steps() []string { return append([]string(nil), p.order...) }

// Dependencies returns the steps a step waits for.
func (p *Plan) Dependencies(step string) []string { return append([]string(nil), p.deps[step]...) }

// Downstream returns every step that depends on step, directly or not, in topological order.
func (p *Plan) Downstream(step string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, m := range p.downs[n] {
			if !seen[m] {
				seen[m] = true
				visit(m)
			}
		}
	}
	visit(step)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return p.pos[out[i]] < p.pos[out[j]] })
	return out
}

// Upstream returns every step that step depends on, directly or not, in topological order:
// for a selective execution, the steps whose outputs a selected step reuses from the source
// execution when they are not selected themselves.
func (p *Plan) Upstream(step string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, m := range p.deps[n] {
			if !seen[m] {
				seen[m] = true
				visit(m)
			}
		}
	}
	visit(step)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return p.pos[out[i]] < p.pos[out[j]] })
	return out
}

// Progress is what an engine knows about an execution's steps.
type Progress struct {
	Done     map[string]bool // finished successfully (cache hits included); Condition steps once evaluated
	Running  map[string]bool // started and not finished
	Failed   map[string]bool // finished unsuccessfully (or stopped)
	Outcomes map[string]bool // evaluated Condition steps: true when the IfSteps were chosen
}

// Skipped returns the steps that can no longer run: branch steps of a Condition that chose the
// other branch, and every step downstream of one. They never appear in Ready. A Condition step
// that is Done without an outcome runs neither branch.
func (p *Plan) Skipped(pr Progress) []string {
	if len(p.gate) == 0 {
		return nil // no Condition branches: nothing is ever skipped
	}
	skipped := map[string]bool{}
	var out []string
	for _, n := range p.order {
		skip := false
		if g, ok := p.gate[n]; ok && pr.Done[g.cond] {
			outcome, known := pr.Outcomes[g.cond]
			skip = !known || outcome != (g.branch == IfBranch)
		}
		for _, dep := range p.deps[n] {
			skip = skip || skipped[dep]
		}
		if skip {
			skipped[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Ready returns the steps an engine may start now, in topological order: not yet started,
// every dependency done, not skipped, and no more than maxParallel steps running at once
// (maxParallel <= 0 means no limit).
func (p *Plan) Ready(pr Progress, maxParallel int) []string {
	room := -1
	if maxParallel > 0 {
		room = maxParallel - len(pr.Running)
		if room <= 0 {
			return nil
		}
	}
	skipped := map[string]bool{}
	for _, n := range p.Skipped(pr) {
		skipped[n] = true
	}
	var out []string
	for _, n := range p.order {
		if room == 0 {
			break
		}
		if pr.Done[n] || pr.Running[n] || pr.Failed[n] || skipped[n] {
			continue
		}
		ok := true
		for _, dep := range p.deps[n] {
			if !pr.Done[dep] {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, n)
			room--
		}
	}
	return out
}

// Finished reports whether every step is done or skipped: the execution has nothing left to
// run. (An execution with a failed step is finished when nothing runs; that is the engine's
// decision, not the plan's.)
func (p *Plan) Finished(pr Progress) bool {
	if len(p.gate) == 0 {
		return len(pr.Done) >= len(p.order) && p.allDone(pr)
	}
	skipped := map[string]bool{}
	for _, n := range p.Skipped(pr) {
		skipped[n] = true
	}
	for _, n := range p.order {
		if !pr.Done[n] && !skipped[n] {
			return false
		}
	}
	return true
}

func (p *Plan) allDone(pr Progress) bool {
	for _, n := range p.order {
		if !pr.Done[n] {
			return false
		}
	}
	return true
}
