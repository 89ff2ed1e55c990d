package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

var deploymentsHelp = helpText{
	usage: "slipway deployments <list|watch|approve|reject> [ARGS] [flags]",
	desc: `Deploy pipelines for people, through the server's CodePipeline API with the profile's
credentials:

  list                         the deploy pipelines and the latest execution of each stage
  watch PIPELINE [EXECUTION]   follow an execution's stages and actions until it ends
  approve PIPELINE             approve the action waiting for a manual approval
  reject PIPELINE              reject it (the execution fails at that stage)

Run "slipway deployments SUBCOMMAND -h" for a subcommand's flags.`,
	example: `slipway deployments list --profile data-science
slipway deployments approve model-deploy --summary "staging endpoints answer" --profile operator`,
}

var deploymentsListHelp = helpText{
	usage: "slipway deployments list [flags]",
	desc: `Lists the deploy pipelines (CodePipeline pipelines) of the caller's account, one line per
stage with its latest execution: the execution id, its status in that stage, the action waiting
for an approval if one does, and how long ago the stage last changed.`,
	example: `slipway deployments list --profile data-science
slipway deployments list --output json`,
}

var deploymentsWatchHelp = helpText{
	usage: "slipway deployments watch PIPELINE [EXECUTION-ID] [flags]",
	desc: `Follows an execution of a deploy pipeline (its latest, or EXECUTION-ID): prints a line each
time an action starts or changes status — its stage, status and duration, an approval's
instructions while it waits, then who approved or rejected it and their summary, a failure's
error — and a last line with the execution's status when it ends. Exit status 0 when the
execution succeeded, 1 when it failed, was stopped or was superseded. With --output json it
prints, once the execution ends, the execution and its actions as one JSON object.`,
	example: `slipway deployments watch model-deploy --profile data-science
slipway deployments watch model-deploy 3f1c2e9a-0d4b-4c4e-9a57-6f1e1b7c2d10 --output json`,
}

var deploymentsApproveHelp = helpText{
	usage: "slipway deployments approve PIPELINE [flags]",
	desc: `Approves the manual-approval action that waits in PIPELINE: finds it and its token with
GetPipelineState and answers with PutApprovalResult. When more than one action waits, name it
with --stage and --action. Who may approve is decided by IAM (codepipeline:PutApprovalResult on
the action); a refused principal gets the reason and exit status 1, and nothing is recorded.
When no action waits, the command says so and exits 1.`,
	example: `slipway deployments approve model-deploy --summary "staging endpoints answer" --profile operator
slipway deployments approve model-deploy --stage ApproveDeployment --action Approve`,
}

var deploymentsRejectHelp = helpText{
	usage: "slipway deployments reject PIPELINE [flags]",
	desc: `Rejects the manual-approval action that waits in PIPELINE (PutApprovalResult with status
Rejected): the stage and the execution fail, later stages do not run. Finds the action like
"slipway deployments approve"; --stage and --action choose among several.`,
	example: `slipway deployments reject model-deploy --summary "latency doubled in staging" --profile operator`,
}

// runDeployments runs slipway deployments SUBCOMMAND.
func runDeployments(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommands("deployments", deploymentsHelp, map[string]func([]string) error{
		"list":  func(a []string) error { return runDeploymentsList(ctx, a, stdout, stderr) },
		"watch": func(a []string) error { return runDeploymentsWatch(ctx, a, stdout, stderr) },
		"approve": func(a []string) error {
			return runDeploymentsDecide(ctx, a, stdout, stderr, cptypes.ApprovalStatusApproved)
		},
		"reject": func(a []string) error {
			return runDeploymentsDecide(ctx, a, stdout, stderr, cptypes.ApprovalStatusRejected)
		},
	}, args, stdout)
}

// deployStage and deployPipeline are the --output json shapes of deployments list.
type deployStage struct {
	Name        string     `json:"name"`
	ExecutionID string     `json:"executionId,omitempty"`
	Status      string     `json:"status,omitempty"`
	Updated     *time.Time `json:"updated,omitempty"`
	Waiting     string     `json:"waitingForApproval,omitempty"` // the action waiting
}

type deployPipeline struct {
	Name    string        `json:"name"`
	Version int32         `json:"version"`
	Created time.Time     `json:"created"`
	Updated time.Time     `json:"updated"`
	Stages  []deployStage `json:"stages"`
}

func runDeploymentsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newClientCommand("deployments list", deploymentsListHelp, stdout, stderr)
	cf, of := &cmd.cf, &cmd.of
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: deployments list takes no arguments", errUsage)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	cp := codepipeline.NewFromConfig(cfg)
	pipelines := []deployPipeline{}
	p := codepipeline.NewListPipelinesPaginator(cp, &codepipeline.ListPipelinesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range page.Pipelines {
			dp := deployPipeline{Name: aws.ToString(s.Name), Version: aws.ToInt32(s.Version), Created: aws.ToTime(s.Created), Updated: aws.ToTime(s.Updated), Stages: []deployStage{}}
			st, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: s.Name})
			if err != nil {
				return err
			}
			for _, ss := range st.StageStates {
				ds := deployStage{Name: aws.ToString(ss.StageName)}
				if ss.LatestExecution != nil {
					ds.ExecutionID, ds.Status = aws.ToString(ss.LatestExecution.PipelineExecutionId), string(ss.LatestExecution.Status)
				}
				for _, as := range ss.ActionStates {
					if x := as.LatestExecution; x != nil {
						if x.LastStatusChange != nil && (ds.Updated == nil || x.LastStatusChange.After(*ds.Updated)) {
							ds.Updated = x.LastStatusChange
						}
						if x.Status == cptypes.ActionExecutionStatusInProgress && aws.ToString(x.Token) != "" {
							ds.Waiting = aws.ToString(as.ActionName)
						}
					}
				}
				dp.Stages = append(dp.Stages, ds)
			}
			pipelines = append(pipelines, dp)
		}
	}
	if of.json() {
		return writeJSON(stdout, pipelines)
	}
	if len(pipelines) == 0 {
		fmt.Fprintln(stdout, "no deploy pipelines in this account")
		return nil
	}
	now := time.Now()
	rows := [][]string{}
	for _, dp := range pipelines {
		for i, s := range dp.Stages {
			name := ""
			if i == 0 {
				name = dp.Name
			}
			status, id, updated := orElse(s.Status, "-"), "-", "-"
			if s.Waiting != "" {
				status = "WaitingForApproval (" + s.Waiting + ")"
			}
			if s.ExecutionID != "" {
				id = shortID(s.ExecutionID)
			}
			if s.Updated != nil {
				updated = ago(*s.Updated, now)
			}
			rows = append(rows, []string{name, s.Name, status, id, updated})
		}
	}
	return table(stdout, []string{"PIPELINE", "STAGE", "STATUS", "EXECUTION", "UPDATED"}, rows)
}

// shortID is the first block of an execution id, as people read it (the full id is in json).
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// deployAction is one action of an execution, in watch's --output json.
type deployAction struct {
	Stage       string     `json:"stage"`
	Action      string     `json:"action"`
	Category    string     `json:"category,omitempty"`
	Provider    string     `json:"provider,omitempty"`
	Status      string     `json:"status"`
	Start       *time.Time `json:"start,omitempty"`
	LastUpdate  *time.Time `json:"lastUpdate,omitempty"`
	UpdatedBy   string     `json:"updatedBy,omitempty"`
	Summary     string     `json:"summary,omitempty"`
	Error       string     `json:"error,omitempty"`
	Instruction string     `json:"customData,omitempty"`
	Link        string     `json:"externalEntityLink,omitempty"`
}

type deployExecution struct {
	Pipeline    string         `json:"pipeline"`
	ExecutionID string         `json:"executionId"`
	Status      string         `json:"status"`
	Summary     string         `json:"statusSummary,omitempty"`
	Actions     []deployAction `json:"actions"`
}

func runDeploymentsWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newClientCommand("deployments watch", deploymentsWatchHelp, stdout, stderr)
	cf, of := &cmd.cf, &cmd.of
	poll := cmd.fs.Duration("poll", time.Second, "how often to look at the execution")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return fmt.Errorf("%w: want a pipeline name and, optionally, an execution id", errUsage)
	}
	if *poll <= 0 {
		return fmt.Errorf("%w: --poll must be positive", errUsage)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	cp := codepipeline.NewFromConfig(cfg)
	pipeline, id := pos[0], ""
	if len(pos) == 2 {
		id = pos[1]
	} else {
		out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(pipeline), MaxResults: aws.Int32(1)})
		if err != nil {
			return err
		}
		if len(out.PipelineExecutionSummaries) == 0 {
			return fmt.Errorf("pipeline %s has no executions", pipeline)
		}
		id = aws.ToString(out.PipelineExecutionSummaries[0].PipelineExecutionId)
	}
	text := stdout
	if of.json() {
		text = io.Discard
	}
	fmt.Fprintf(text, "pipeline %s, execution %s\n", pipeline, id)
	seen := map[string]string{}
	started := time.Time{}
	for {
		x, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(pipeline), PipelineExecutionId: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		status := x.PipelineExecution.Status
		// The actions are read after the status, so an ended execution's last actions are
		// printed before its end.
		actions, err := executionActions(ctx, cp, pipeline, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, a := range actions {
			if a.Start != nil && (started.IsZero() || a.Start.Before(started)) {
				started = *a.Start
			}
			key := a.Stage + "/" + a.Action
			line := actionLine(a)
			if seen[key] != line {
				seen[key] = line
				fmt.Fprintln(text, line)
			}
		}
		switch status {
		case cptypes.PipelineExecutionStatusInProgress, cptypes.PipelineExecutionStatusStopping:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*poll):
			}
			continue
		}
		summary := aws.ToString(x.PipelineExecution.StatusSummary)
		if of.json() {
			if err := writeJSON(stdout, deployExecution{Pipeline: pipeline, ExecutionID: id, Status: string(status), Summary: summary, Actions: actions}); err != nil {
				return err
			}
		} else {
			line := "execution " + string(status)
			if !started.IsZero() {
				if last := lastUpdate(actions); !last.IsZero() {
					line += " in " + duration(last.Sub(started))
				}
			}
			if summary != "" {
				line += ": " + summary
			}
			fmt.Fprintln(stdout, line)
		}
		if status == cptypes.PipelineExecutionStatusSucceeded {
			return nil
		}
		return fmt.Errorf("the execution %s", strings.ToLower(string(status)))
	}
}

func lastUpdate(as []deployAction) time.Time {
	var t time.Time
	for _, a := range as {
		if a.LastUpdate != nil && a.LastUpdate.After(t) {
			t = *a.LastUpdate
		}
	}
	return t
}

// executionActions lists the actions of one execution, in the order they started.
func executionActions(ctx context.Context, cp *codepipeline.Client, pipeline, id string) ([]deployAction, error) {
	out := []deployAction{}
	p := codepipeline.NewListActionExecutionsPaginator(cp, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(pipeline),
		Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(id)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range page.ActionExecutionDetails {
			a := deployAction{Stage: aws.ToString(d.StageName), Action: aws.ToString(d.ActionName), Status: string(d.Status),
				Start: d.StartTime, LastUpdate: d.LastUpdateTime, UpdatedBy: aws.ToString(d.UpdatedBy)}
			if in := d.Input; in != nil {
				if in.ActionTypeId != nil {
					a.Category, a.Provider = string(in.ActionTypeId.Category), aws.ToString(in.ActionTypeId.Provider)
				}
				a.Instruction, a.Link = in.Configuration["CustomData"], in.Configuration["ExternalEntityLink"]
			}
			if d.Output != nil && d.Output.ExecutionResult != nil {
				r := d.Output.ExecutionResult
				a.Summary = aws.ToString(r.ExternalExecutionSummary)
				if r.ErrorDetails != nil {
					a.Error = strings.TrimSpace(aws.ToString(r.ErrorDetails.Code) + ": " + aws.ToString(r.ErrorDetails.Message))
				}
			}
			out = append(out, a)
		}
	}
	// ListActionExecutions answers newest first; people read a deploy from its start.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// actionLine is how watch shows an action: stage/action, status, duration once ended, and what
// matters about it — an approval's instructions while it waits, who decided it, an error.
func actionLine(a deployAction) string {
	parts := []string{fmt.Sprintf("  %-32s %-10s", a.Stage+"/"+a.Action, a.Status)}
	running := a.Status == string(cptypes.ActionExecutionStatusInProgress)
	if !running && a.Start != nil && a.LastUpdate != nil {
		parts = append(parts, duration(a.LastUpdate.Sub(*a.Start)))
	}
	approval := a.Category == string(cptypes.ActionCategoryApproval)
	switch {
	case approval && running:
		s := "waiting for approval"
		if a.Instruction != "" {
			s += ": " + a.Instruction
		}
		if a.Link != "" {
			s += " (" + a.Link + ")"
		}
		parts = append(parts, s)
	case approval && a.UpdatedBy != "":
		verb := "approved"
		if a.Status != string(cptypes.ActionExecutionStatusSucceeded) {
			verb = "rejected"
		}
		s := verb + " by " + a.UpdatedBy
		if a.Summary != "" {
			s += ": " + a.Summary
		}
		parts = append(parts, s)
	case a.Error != "":
		parts = append(parts, "— "+a.Error)
	case a.Summary != "" && !running:
		parts = append(parts, a.Summary)
	}
	return strings.TrimRight(strings.Join(parts, "  "), " ")
}

// deploymentDecision is the --output json shape of deployments approve and reject.
type deploymentDecision struct {
	Pipeline    string    `json:"pipeline"`
	Stage       string    `json:"stage"`
	Action      string    `json:"action"`
	ExecutionID string    `json:"executionId"`
	Status      string    `json:"status"`
	Summary     string    `json:"summary"`
	By          string    `json:"by,omitempty"`
	At          time.Time `json:"at"`
}

func runDeploymentsDecide(ctx context.Context, args []string, stdout, stderr io.Writer, status cptypes.ApprovalStatus) error {
	verb, h := "approve", deploymentsApproveHelp
	if status == cptypes.ApprovalStatusRejected {
		verb, h = "reject", deploymentsRejectHelp
	}
	cmd := newClientCommand("deployments "+verb, h, stdout, stderr)
	cf, of := &cmd.cf, &cmd.of
	stage := cmd.fs.String("stage", "", "the stage of the waiting approval (needed when several wait)")
	action := cmd.fs.String("action", "", "the approval action (needed when several wait)")
	summary := cmd.fs.String("summary", "", "why, recorded with the approval (default: \""+verb+"d with slipway\")")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one pipeline name", errUsage)
	}
	pipeline := pos[0]
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	cp := codepipeline.NewFromConfig(cfg)
	st, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(pipeline)})
	if err != nil {
		return refused(err, "read the state of pipeline "+pipeline)
	}
	type waiting struct{ stage, action, token, execution string }
	var found []waiting
	for _, ss := range st.StageStates {
		if *stage != "" && aws.ToString(ss.StageName) != *stage {
			continue
		}
		for _, as := range ss.ActionStates {
			if *action != "" && aws.ToString(as.ActionName) != *action {
				continue
			}
			x := as.LatestExecution
			if x == nil || x.Status != cptypes.ActionExecutionStatusInProgress || aws.ToString(x.Token) == "" {
				continue
			}
			w := waiting{stage: aws.ToString(ss.StageName), action: aws.ToString(as.ActionName), token: aws.ToString(x.Token)}
			if ss.LatestExecution != nil {
				w.execution = aws.ToString(ss.LatestExecution.PipelineExecutionId)
			}
			found = append(found, w)
		}
	}
	where := "pipeline " + pipeline
	if *stage != "" || *action != "" {
		where += " (" + strings.Trim(*stage+"/"+*action, "/") + ")"
	}
	switch {
	case len(found) == 0:
		return fmt.Errorf("nothing waits for approval in %s", where)
	case len(found) > 1:
		var names []string
		for _, f := range found {
			names = append(names, "--stage "+f.stage+" --action "+f.action)
		}
		return fmt.Errorf("%w: %d approvals wait in %s; choose one: %s", errUsage, len(found), where, strings.Join(names, "; "))
	}
	w := found[0]
	text := *summary
	if text == "" {
		text = verb + "d with slipway"
	}
	out, err := cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String(pipeline), StageName: aws.String(w.stage),
		ActionName: aws.String(w.action), Token: aws.String(w.token), Result: &cptypes.ApprovalResult{Status: status, Summary: aws.String(text)}})
	if err != nil {
		return refused(err, fmt.Sprintf("%s %s/%s of pipeline %s", verb, w.stage, w.action, pipeline))
	}
	d := deploymentDecision{Pipeline: pipeline, Stage: w.stage, Action: w.action, ExecutionID: w.execution, Status: string(status), Summary: text, At: aws.ToTime(out.ApprovedAt)}
	if who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		d.By = aws.ToString(who.Arn)
	}
	if of.json() {
		return writeJSON(stdout, d)
	}
	fmt.Fprintf(stdout, "%s %s/%s of %s, execution %s", strings.ToLower(d.Status), d.Stage, d.Action, pipeline, d.ExecutionID)
	if d.By != "" {
		fmt.Fprintf(stdout, ", by %s", d.By)
	}
	fmt.Fprintf(stdout, ": %s\n", d.Summary)
	return nil
}
