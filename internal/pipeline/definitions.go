package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

// parsed is a definition as the service and the engine use it.
type parsed struct{ d *definition.Definition }

// parseDefinition reads and validates a definition (package definition), and refuses what
// this server does not run yet, naming the step, the feature and the JSON path.
func parseDefinition(text string) (*parsed, error) {
	d, err := definition.Parse([]byte(text))
	if err != nil {
		return nil, invalid("Invalid pipeline definition: %s", err.Error())
	}
	for _, st := range d.AllSteps() {
		if _, job := jobKinds[st.Type]; st.Cache != nil && st.Cache.Enabled && !job {
			return nil, invalid("Invalid pipeline definition: step %q: %s: step caching is not supported for %s steps on this server (only Processing, Training and Transform)", st.Name, st.Path+".CacheConfig", st.Type)
		}
	}
	return &parsed{d: d}, nil
}

// bind checks an execution's parameters against the definition's and returns every parameter
// with its value: the one given, or the default.
func (p *parsed) bind(given []Parameter) ([]Parameter, error) {
	m := make(map[string]string, len(given))
	for _, g := range given {
		if _, dup := m[g.Name]; dup {
			return nil, invalid("PipelineParameters names %q more than once", g.Name)
		}
		m[g.Name] = g.Value
	}
	if _, err := p.d.ParameterValues(m); err != nil {
		var de *definition.Error
		if errors.As(err, &de) {
			return nil, invalid("%s", de.Msg)
		}
		return nil, invalid("%s", err.Error())
	}
	out := make([]Parameter, 0, len(p.d.Parameters))
	for _, dp := range p.d.Parameters {
		v, ok := m[dp.Name]
		if !ok {
			v = definition.Stringify(dp.Default)
		}
		out = append(out, Parameter{Name: dp.Name, Value: v})
	}
	return out, nil
}

// values returns an execution's parameters typed as the definition declares them.
func (p *parsed) values(ps []Parameter) (map[string]any, error) {
	m := make(map[string]string, len(ps))
	for _, x := range ps {
		m[x.Name] = x.Value
	}
	return p.d.ParameterValues(m)
}

// jobName is the name of the job a step's attempt runs: deterministic, so that an engine that
// restarts finds the job it made instead of making another. It fits SageMaker's job names
// (at most 63 letters, digits and hyphens).
func jobName(executionID, step string, attempt int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(step) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	suffix := fmt.Sprintf("-%s-%d", shortHash(executionID+"/"+step), attempt)
	head := "pipelines-" + executionID + "-"
	if room := 63 - len(head) - len(suffix); len(name) > room {
		name = strings.TrimRight(name[:max(room, 0)], "-")
	}
	if name == "" {
		name = "step"
	}
	return head + name + suffix
}
