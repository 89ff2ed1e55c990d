package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

func (c *Console) pipelinesPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Pipelines", "pipelines")
	var ps []pipeline.Pipeline
	err := c.call(r.Context(), r, s, "sagemaker", "ListPipelines", func(ctx context.Context, call identity.Call) error {
		var err error
		ps, err = c.cfg.Pipelines.ListPipelines(ctx, call, pipeline.Query{SortBy: "Name", Limit: 1000})
		return err
	})
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "pipelines", v)
		return
	}
	v.Data = ps
	c.render(w, r, http.StatusOK, "pipelines", v)
}

type pipelineData struct {
	Name       string
	Executions []pipeline.Execution
}

func (c *Console) pipelinePage(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	v := base(s, "Pipeline "+name, "pipelines")
	d := pipelineData{Name: name}
	err := c.call(r.Context(), r, s, "sagemaker", "ListPipelineExecutions", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Executions, err = c.cfg.Pipelines.ListExecutions(ctx, call, name, pipeline.Query{SortBy: "CreationTime", Descending: true, Limit: 100})
		return err
	})
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "pipeline", v)
		return
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "pipeline", v)
}

func (c *Console) startExecution(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	var x pipeline.Execution
	err := c.call(r.Context(), r, s, "sagemaker", "StartPipelineExecution", func(ctx context.Context, call identity.Call) error {
		var err error
		x, err = c.cfg.Pipelines.StartExecution(ctx, call, pipeline.StartInput{Pipeline: name, ClientToken: randomToken()[:32], Description: "started from the console"})
		return err
	})
	if err != nil {
		c.refuse(w, r, s, err, "/console/pipelines/"+url.PathEscape(name))
		return
	}
	http.Redirect(w, r, "/console/pipelines/"+url.PathEscape(name)+"/executions/"+url.PathEscape(x.ID), http.StatusSeeOther)
}

// refuse shows an action's refusal on a page of its own, with a way back.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, s *session, err error, back string) {
	v := base(s, "Refused", "")
	v.Error = c.problem(err)
	v.Data = back
	c.render(w, r, statusOf(err), "refused", v)
}

type stepView struct {
	pipeline.Step
	Duration time.Duration
}

type executionData struct {
	Execution pipeline.Execution
	Steps     []stepView
	Graph     template.HTML
}

func (c *Console) execution(r *http.Request, s *session) (executionData, error) {
	var d executionData
	name, id := r.PathValue("name"), r.PathValue("id")
	err := c.call(r.Context(), r, s, "sagemaker", "DescribePipelineExecution", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Execution, err = c.cfg.Pipelines.DescribeExecution(ctx, call, c.cfg.Pipelines.ExecutionARN(call.Caller.Account, name, id))
		return err
	})
	if err != nil {
		return d, err
	}
	var steps []pipeline.Step
	err = c.call(r.Context(), r, s, "sagemaker", "ListPipelineExecutionSteps", func(ctx context.Context, call identity.Call) error {
		var err error
		steps, err = c.cfg.Pipelines.ListSteps(ctx, call, d.Execution.ARN, true)
		return err
	})
	now := c.now()
	for _, st := range steps {
		sv := stepView{Step: st}
		if !st.StartedAt.IsZero() {
			end := st.EndedAt
			if end.IsZero() {
				end = now
			}
			sv.Duration = end.Sub(st.StartedAt)
		}
		d.Steps = append(d.Steps, sv)
	}
	return d, err
}

func (c *Console) executionPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Execution "+r.PathValue("id"), "pipelines")
	d, err := c.execution(r, s)
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "execution", v)
		return
	}
	var text string
	if err := c.call(r.Context(), r, s, "sagemaker", "DescribePipelineDefinitionForExecution", func(ctx context.Context, call identity.Call) error {
		var err error
		text, _, err = c.cfg.Pipelines.ExecutionDefinition(ctx, call, d.Execution.ARN)
		return err
	}); err == nil {
		if def, err := definition.Parse([]byte(text)); err == nil {
			states := map[string]string{}
			for _, st := range d.Steps {
				states[st.Name] = string(st.Status)
			}
			prefix := "/console/pipelines/" + url.PathEscape(d.Execution.PipelineName) + "/executions/" + url.PathEscape(d.Execution.ID) + "/steps/"
			d.Graph = graphLinked(def.Plan(), states, func(step string) string { return prefix + url.PathEscape(step) })
			// A step not started yet gets its row too: the live updates fill in existing
			// rows only, so a step that starts while the page is open would never show.
			for _, n := range def.Plan().Steps() {
				if _, ok := states[n]; !ok {
					row := stepView{Step: pipeline.Step{Name: n, Status: "NotStarted"}}
					if sd, ok := def.Step(n); ok {
						row.Type = string(sd.Type)
					}
					d.Steps = append(d.Steps, row)
				}
			}
		}
	}
	v.Data = d
	v.Poll = "/console/pipelines/" + url.PathEscape(r.PathValue("name")) + "/executions/" + url.PathEscape(r.PathValue("id")) + "/live"
	c.render(w, r, http.StatusOK, "execution", v)
}

// executionLive is the execution's state for the page's poller: element keys → values.
func (c *Console) executionLive(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.execution(r, s)
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": c.problem(err)})
		return
	}
	out := map[string]string{"status": string(d.Execution.Status), "failure": d.Execution.FailureReason}
	for _, st := range d.Steps {
		out["step:"+st.Name] = string(st.Status)
		out["dur:"+st.Name] = funcs["dur"].(func(time.Duration) string)(st.Duration)
		out["cache:"+st.Name] = st.CacheHit
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) stopExecution(w http.ResponseWriter, r *http.Request, s *session) {
	name, id := r.PathValue("name"), r.PathValue("id")
	back := "/console/pipelines/" + url.PathEscape(name) + "/executions/" + url.PathEscape(id)
	err := c.call(r.Context(), r, s, "sagemaker", "StopPipelineExecution", func(ctx context.Context, call identity.Call) error {
		return c.cfg.Pipelines.StopExecution(ctx, call, c.cfg.Pipelines.ExecutionARN(call.Caller.Account, name, id))
	})
	if err != nil {
		c.refuse(w, r, s, err, back)
		return
	}
	http.Redirect(w, r, back+"?flash=Stopping", http.StatusSeeOther)
}

func (c *Console) retryExecution(w http.ResponseWriter, r *http.Request, s *session) {
	name, id := r.PathValue("name"), r.PathValue("id")
	back := "/console/pipelines/" + url.PathEscape(name) + "/executions/" + url.PathEscape(id)
	err := c.call(r.Context(), r, s, "sagemaker", "RetryPipelineExecution", func(ctx context.Context, call identity.Call) error {
		_, err := c.cfg.Pipelines.RetryExecution(ctx, call, pipeline.RetryInput{ExecutionARN: c.cfg.Pipelines.ExecutionARN(call.Caller.Account, name, id), ClientToken: randomToken()[:32]})
		return err
	})
	if err != nil {
		c.refuse(w, r, s, err, back)
		return
	}
	http.Redirect(w, r, back+"?flash=Retrying", http.StatusSeeOther)
}

// graph draws a pipeline's steps as a DAG: one column per depth (the longest path from a
// step without dependencies), an edge per dependency. Step names are escaped; every other
// text is numbers.
func graph(p *definition.Plan, states map[string]string) template.HTML {
	return graphLinked(p, states, nil)
}

// graphLinked is graph whose steps link to link(step) (not when link is nil); the links are
// built from escaped path segments and escaped again as attributes.
func graphLinked(p *definition.Plan, states map[string]string, link func(string) string) template.HTML {
	const colW, rowH, boxW, boxH = 200, 56, 170, 36
	order := p.Steps()
	depth := map[string]int{}
	cols := map[int][]string{}
	maxRows, maxCol := 0, 0
	for _, n := range order { // topological: dependencies come first
		d := 0
		for _, dep := range p.Dependencies(n) {
			if depth[dep]+1 > d {
				d = depth[dep] + 1
			}
		}
		depth[n] = d
		cols[d] = append(cols[d], n)
		maxRows = max(maxRows, len(cols[d]))
		maxCol = max(maxCol, d)
	}
	pos := map[string][2]int{}
	for d, ns := range cols {
		for i, n := range ns {
			pos[n] = [2]int{10 + d*colW, 10 + i*rowH}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="dag" viewBox="0 0 %d %d" role="img" aria-label="pipeline graph">`, 20+(maxCol+1)*colW, 20+maxRows*rowH)
	for _, n := range order {
		to := pos[n]
		for _, dep := range p.Dependencies(n) {
			from := pos[dep]
			fmt.Fprintf(&b, `<path class="edge" d="M%d %d C%d %d %d %d %d %d"/>`,
				from[0]+boxW, from[1]+boxH/2, from[0]+boxW+15, from[1]+boxH/2, to[0]-15, to[1]+boxH/2, to[0], to[1]+boxH/2)
		}
	}
	for _, n := range order {
		at := pos[n]
		state := states[n]
		if state == "" {
			state = "NotStarted"
		}
		label := n
		if len(label) > 22 {
			label = label[:21] + "…"
		}
		if link != nil {
			fmt.Fprintf(&b, `<a href="%s">`, template.HTMLEscapeString(link(n)))
		}
		fmt.Fprintf(&b, `<g class="node" data-state-of="step:%s" data-state="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6"/><text x="%d" y="%d">%s</text><title>%s</title></g>`,
			template.HTMLEscapeString(n), template.HTMLEscapeString(state), at[0], at[1], boxW, boxH, at[0]+8, at[1]+22,
			template.HTMLEscapeString(label), template.HTMLEscapeString(n))
		if link != nil {
			b.WriteString(`</a>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
