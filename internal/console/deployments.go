package console

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

type deploymentRow struct {
	Pipeline delivery.Pipeline
	State    *delivery.State
	Problem  string // why the state cannot be shown
}

func (c *Console) deploymentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Deployments", "deployments")
	var ps []delivery.Pipeline
	err := c.call(r.Context(), r, s, "codepipeline", "ListPipelines", func(ctx context.Context, call identity.Call) error {
		var err error
		ps, err = c.cfg.Delivery.ListPipelines(ctx, call)
		return err
	})
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "deployments", v)
		return
	}
	var rows []deploymentRow
	for _, p := range ps {
		row := deploymentRow{Pipeline: p}
		if err := c.call(r.Context(), r, s, "codepipeline", "GetPipelineState", func(ctx context.Context, call identity.Call) error {
			st, err := c.cfg.Delivery.GetPipelineState(ctx, call, p.Name)
			row.State = &st
			return err
		}); err != nil {
			row.State, row.Problem = nil, c.problem(err)
		}
		rows = append(rows, row)
	}
	v.Data = rows
	c.render(w, r, http.StatusOK, "deployments", v)
}

// waiting is a manual approval that waits for a decision.
type waiting struct {
	Stage, Action, Token, ExecutionID string
}

// approvalRecord is one decision in a pipeline's history.
type approvalRecord struct {
	ExecutionID, Stage, Action string
	delivery.Approval
}

type deploymentData struct {
	Name       string
	State      delivery.State
	Stages     []stageTransition // each stage's inbound transition, as GetPipelineState answers it
	Waiting    []waiting
	Executions []delivery.Execution
	Approvals  []approvalRecord
}

func (c *Console) deployment(r *http.Request, s *session) (deploymentData, error) {
	d := deploymentData{Name: r.PathValue("name")}
	err := c.call(r.Context(), r, s, "codepipeline", "GetPipelineState", func(ctx context.Context, call identity.Call) error {
		var err error
		d.State, err = c.cfg.Delivery.GetPipelineState(ctx, call, d.Name)
		return err
	})
	if err != nil {
		return d, err
	}
	d.Stages = transitionsOf(d.State)
	for _, st := range d.State.Stages {
		if st.Run == nil {
			continue
		}
		for _, a := range st.Run.Actions {
			if a.Token != "" && a.Status == delivery.ActionInProgress {
				d.Waiting = append(d.Waiting, waiting{Stage: st.Name, Action: a.Name, Token: a.Token})
			}
		}
	}
	err = c.call(r.Context(), r, s, "codepipeline", "ListPipelineExecutions", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Executions, err = c.cfg.Delivery.ListPipelineExecutions(ctx, call, d.Name)
		return err
	})
	for _, e := range d.Executions {
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				if a.Approval != nil {
					d.Approvals = append(d.Approvals, approvalRecord{ExecutionID: e.ID, Stage: st.Name, Action: a.Name, Approval: *a.Approval})
				}
			}
		}
	}
	return d, err
}

func (c *Console) deploymentPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Deployment "+r.PathValue("name"), "deployments")
	d, err := c.deployment(r, s)
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "deployment", v)
		return
	}
	v.Data = d
	v.Poll = "/console/deployments/" + url.PathEscape(d.Name) + "/live"
	c.render(w, r, http.StatusOK, "deployment", v)
}

// deploymentLive is the pipeline's stage and action statuses for the page's poller.
func (c *Console) deploymentLive(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.deployment(r, s)
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": c.problem(err)})
		return
	}
	out := map[string]string{}
	for _, st := range d.State.Stages {
		status := "NotStarted"
		if st.Run != nil && st.Run.Status != "" {
			status = string(st.Run.Status)
			for _, a := range st.Run.Actions {
				out["action:"+st.Name+"/"+a.Name] = string(a.Status)
			}
		}
		out["stage:"+st.Name] = status
	}

	out["waiting"] = ""
	if len(d.Waiting) > 0 {
		out["waiting"] = d.Waiting[0].Stage + "/" + d.Waiting[0].Action
	}
	// The approval forms, rendered as the page renders them (with the session's CSRF token):
	// the page swaps them in when the set of waiting approvals (its signature) changes, so a
	// form appears once an execution reaches the approval and goes once it is decided.
	var b bytes.Buffer
	v := base(s, "", "deployments")
	v.Data = d
	if err := c.pages["deployment"].ExecuteTemplate(&b, "approvals", v); err != nil {
		c.log.Error("cannot render the approval forms", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "InternalFailure: please retry"})
		return
	}
	out["approvals"] = b.String()
	out["approvals#sig"] = waitingSig(d.Waiting)
	writeJSON(w, http.StatusOK, out)
}

// waitingSig names a set of waiting approvals: their stages, actions and tokens (a new
// execution reaching the same approval gets a new token).
func waitingSig(ws []waiting) string {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		parts = append(parts, w.Stage+"/"+w.Action+"/"+w.Token)
	}
	return strings.Join(parts, " ")
}

// approval decides a waiting manual approval: codepipeline:PutApprovalResult as the
// signed-in principal, with its summary.
func (c *Console) approval(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	back := "/console/deployments/" + url.PathEscape(name)
	in := delivery.ApprovalInput{
		Pipeline: name, Stage: r.PostForm.Get("stage"), Action: r.PostForm.Get("action"),
		Status: r.PostForm.Get("status"), Summary: strings.TrimSpace(r.PostForm.Get("summary")), Token: r.PostForm.Get("token"),
	}
	err := c.call(r.Context(), r, s, "codepipeline", "PutApprovalResult", func(ctx context.Context, call identity.Call) error {
		_, err := c.cfg.Delivery.PutApprovalResult(ctx, call, in)
		return err
	})
	if err != nil {
		c.refuse(w, r, s, err, back)
		return
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape(in.Stage+"/"+in.Action+": "+in.Status), http.StatusSeeOther)
}

// stageTransition is a stage's inbound transition as GetPipelineState answers it
// (inboundTransitionState): enabled or not, who changed it last, when, and why it is disabled.
type stageTransition struct {
	Stage string
	First bool // the first stage has no inbound transition to change
	delivery.Transition
	// Waiting is the execution that finished the previous stage and waits at the transition.
	Waiting string
}

// State is "disabled" or "enabled".
func (t stageTransition) State() string {
	if t.Disabled {
		return "disabled"
	}
	return "enabled"
}

func transitionsOf(st delivery.State) []stageTransition {
	var out []stageTransition
	for i, s := range st.Stages {
		t := stageTransition{Stage: s.Name, First: i == 0, Transition: st.Pipeline.Transitions[s.Name].Inbound}
		if s.Inbound != nil {
			t.Waiting = s.Inbound.ID
		}
		out = append(out, t)
	}
	return out
}

// transition enables or disables a stage's inbound transition: codepipeline:EnableStageTransition
// or codepipeline:DisableStageTransition on the stage, as the signed-in principal. A refusal
// (AccessDenied, a reason CodePipeline does not accept) shows its reason and changes nothing.
func (c *Console) transition(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	back := "/console/deployments/" + url.PathEscape(name)
	in := delivery.TransitionInput{Pipeline: name, Stage: r.PostForm.Get("stage"), Type: delivery.Inbound}
	var err error
	var done string
	switch op := r.PostForm.Get("op"); op {
	case "enable":
		done = "enabled"
		err = c.call(r.Context(), r, s, "codepipeline", "EnableStageTransition", func(ctx context.Context, call identity.Call) error {
			return c.cfg.Delivery.EnableStageTransition(ctx, call, in)
		})
	case "disable":
		done = "disabled"
		in.Reason = strings.TrimSpace(r.PostForm.Get("reason"))
		err = c.call(r.Context(), r, s, "codepipeline", "DisableStageTransition", func(ctx context.Context, call identity.Call) error {
			return c.cfg.Delivery.DisableStageTransition(ctx, call, in)
		})
	default:
		err = errs.E(errs.Invalid, "op must be enable or disable").WithCode("ValidationException")
	}
	if err != nil {
		c.refuse(w, r, s, err, back)
		return
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape("The transition into "+in.Stage+" is "+done), http.StatusSeeOther)
}
