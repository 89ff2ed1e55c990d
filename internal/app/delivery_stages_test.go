package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/delivery"
)

// stagesSetup makes, in the data-science account, a pipeline role and the artifact and source
// buckets of stagesPipeline.
type stagesSetup struct {
	role, artifacts, source string
}

func newStagesSetup(t *testing.T, c clients) stagesSetup {
	ctx := context.Background()
	r, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("stages-role"), AssumeRolePolicyDocument: aws.String(codepipelineTrust)})
	mustDo(t, err)
	_, err = c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("stages-role"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	mustDo(t, err)
	st := stagesSetup{role: *r.Role.Arn, artifacts: "stages-art", source: "stages-src"}
	for _, b := range []string{st.artifacts, st.source} {
		_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		mustDo(t, err)
	}
	_, err = c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.source), Key: aws.String("src.json"), Body: bytes.NewReader([]byte("{}"))})
	mustDo(t, err)
	return st
}

// pipeline declares Source → Gate (a manual approval) → Final (another), a V2 pipeline of mode.
func (st stagesSetup) pipeline(name string, mode cptypes.ExecutionMode) *cptypes.PipelineDeclaration {
	p := approvalPipeline(name, st.role, st.artifacts, st.source, "gate")
	p.PipelineType, p.ExecutionMode = cptypes.PipelineTypeV2, mode
	p.Stages = append(p.Stages, cptypes.StageDeclaration{Name: aws.String("Final"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Approve"),
		ActionTypeId: &cptypes.ActionTypeId{Category: cptypes.ActionCategoryApproval, Owner: cptypes.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")}}}})
	return p
}

// stagesDecide decides the approval waiting in stage of execution id.
func stagesDecide(t *testing.T, cp *codepipeline.Client, pipeline, stage, id string, status cptypes.ApprovalStatus) {
	t.Helper()
	token := waitApproval(t, cp, pipeline, stage, "Approve", id)
	_, err := cp.PutApprovalResult(context.Background(), &codepipeline.PutApprovalResultInput{PipelineName: aws.String(pipeline), StageName: aws.String(stage),
		ActionName: aws.String("Approve"), Token: aws.String(token), Result: &cptypes.ApprovalResult{Status: status, Summary: aws.String("decided")}})
	mustDo(t, err)
}

func stagesStart(t *testing.T, cp *codepipeline.Client, pipeline string) string {
	t.Helper()
	out, err := cp.StartPipelineExecution(context.Background(), &codepipeline.StartPipelineExecutionInput{Name: aws.String(pipeline)})
	mustDo(t, err)
	return *out.PipelineExecutionId
}

// stagesFirst returns the execution CreatePipeline started.
func stagesFirst(t *testing.T, cp *codepipeline.Client, pipeline string) string {
	t.Helper()
	execs, err := cp.ListPipelineExecutions(context.Background(), &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(pipeline)})
	mustDo(t, err)
	return *execs.PipelineExecutionSummaries[len(execs.PipelineExecutionSummaries)-1].PipelineExecutionId
}

func stagesInbound(t *testing.T, cp *codepipeline.Client, pipeline, stage string) cptypes.TransitionState {
	t.Helper()
	st, err := cp.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String(pipeline)})
	mustDo(t, err)
	for _, s := range st.StageStates {
		if aws.ToString(s.StageName) == stage {
			return *s.InboundTransitionState
		}
	}
	t.Fatalf("no stage %s", stage)
	return cptypes.TransitionState{}
}

// stagesEvents lists the outbox's CodePipeline events of execution id as "TYPE STATE" strings
// (stage and action events name them), with the attempt of pipeline events.
func stagesEvents(t *testing.T, s *server, id string) []string {
	t.Helper()
	evs, err := s.app.Store.Events().EventsAfter(context.Background(), 0, 100000)
	mustDo(t, err)
	var out []string
	for _, ev := range evs {
		if ev.Source != delivery.EventSource {
			continue
		}
		var det map[string]any
		mustDo(t, json.Unmarshal(ev.Detail, &det))
		if det["execution-id"] != id {
			continue
		}
		s := fmtState(det)
		if a, ok := det["pipeline-execution-attempt"].(float64); ok && ev.DetailType == delivery.PipelineStateChange {
			s += "#" + strconv.Itoa(int(a))
		}
		out = append(out, s)
	}
	return out
}

// TestDeployStageTransitions: an execution reaching a disabled inbound transition waits there;
// in SUPERSEDED mode a newer one arriving supersedes it; the waiting one survives a restart of
// the server and moves on, with its stage's events, when the transition is enabled.
// GetPipelineState shows who disabled it, when and why. Bad input, another account and an
// explicit Deny change nothing.
func TestDeployStageTransitions(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s1, stop1 := openServer(t, cfg)
	ds := clientsOf(s1.cfg("data-science"))
	cp := cpOf(ds.sm)
	st := newStagesSetup(t, ds)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: st.pipeline("gated", cptypes.ExecutionModeSuperseded)})
	mustDo(t, err)
	first := stagesFirst(t, cp, "gated")
	waitApproval(t, cp, "gated", "Gate", "Approve", first)
	_, err = cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String("gated"), PipelineExecutionId: aws.String(first), Abandon: true})
	mustDo(t, err)
	waitDeployExecution(t, cp, "gated", first)

	// Refused calls change nothing.
	d := &deploySetup{s: s1, ds: ds}
	denied := d.user(t, "no-gates", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:*","Resource":"*"},
		{"Effect":"Deny","Action":"codepipeline:DisableStageTransition","Resource":"arn:aws:codepipeline:us-east-1:`+s1.account["data-science"]+`:gated/Gate"}]}`)
	other := cpOf(clientsOf(s1.cfg("staging")).sm)
	disable := func(c *codepipeline.Client, stage, typ, reason string) error {
		_, err := c.DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: aws.String("gated"), StageName: aws.String(stage),
			TransitionType: cptypes.StageTransitionType(typ), Reason: aws.String(reason)})
		return err
	}
	for _, c := range []struct {
		name, want string
		call       func() error
	}{
		{"an explicit Deny", "AccessDeniedException", func() error { return disable(denied, "Gate", "Inbound", "hold") }},
		{"another account", "PipelineNotFoundException", func() error { return disable(other, "Gate", "Inbound", "hold") }},
		{"a bad transition type", "ValidationException", func() error { return disable(cp, "Gate", "Sideways", "hold") }},
		{"a bad reason", "ValidationException", func() error { return disable(cp, "Gate", "Inbound", "<b>hold</b>") }},
		{"no reason", "ValidationException", func() error { return disable(cp, "Gate", "Inbound", "") }},
		{"no such stage", "StageNotFoundException", func() error { return disable(cp, "Nowhere", "Inbound", "hold") }},
		{"the first stage's inbound", "ValidationException", func() error { return disable(cp, "Source", "Inbound", "hold") }},
		{"the last stage's outbound", "ValidationException", func() error { return disable(cp, "Final", "Outbound", "hold") }},
	} {
		if err := c.call(); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if ts := stagesInbound(t, cp, "gated", "Gate"); !ts.Enabled || ts.LastChangedBy != nil {
		t.Fatalf("after refused calls, Gate's inbound transition = %+v", ts)
	}

	mustDo(t, disable(cp, "Gate", "Inbound", "Hold (freeze until Monday)"))
	ts := stagesInbound(t, cp, "gated", "Gate")
	if ts.Enabled || aws.ToString(ts.DisabledReason) != "Hold (freeze until Monday)" || !strings.Contains(aws.ToString(ts.LastChangedBy), ":"+s1.account["data-science"]+":") || ts.LastChangedAt == nil {
		t.Errorf("Gate's inbound transition = enabled %v reason %q by %q at %v", ts.Enabled, aws.ToString(ts.DisabledReason), aws.ToString(ts.LastChangedBy), ts.LastChangedAt)
	}
	older := stagesStart(t, cp, "gated")
	waitInbound(t, cp, "gated", "Gate", older)
	newer := stagesStart(t, cp, "gated")
	if x := waitDeployExecution(t, cp, "gated", older); x.Status != cptypes.PipelineExecutionStatusSuperseded {
		t.Errorf("the older execution waiting at the disabled transition: %s, want Superseded", x.Status)
	}
	waitInbound(t, cp, "gated", "Gate", newer)
	stop1()

	// A graceful restart: the execution still waits at the transition.
	s2, stop2 := openServer(t, cfg)
	defer stop2()
	cp = cpOf(clientsOf(s2.cfg("data-science")).sm)
	waitInbound(t, cp, "gated", "Gate", newer)
	time.Sleep(200 * time.Millisecond) // the resumed engine looks at it, and must leave it waiting
	waitInbound(t, cp, "gated", "Gate", newer)
	if ts := stagesInbound(t, cp, "gated", "Gate"); ts.Enabled {
		t.Fatalf("the transition is enabled after the restart")
	}
	_, err = cp.EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: aws.String("gated"), StageName: aws.String("Gate"), TransitionType: cptypes.StageTransitionTypeInbound})
	mustDo(t, err)
	if ts := stagesInbound(t, cp, "gated", "Gate"); !ts.Enabled || ts.DisabledReason != nil || ts.LastChangedBy == nil {
		t.Errorf("enabled transition = %+v", ts)
	}
	stagesDecide(t, cp, "gated", "Gate", newer, cptypes.ApprovalStatusApproved)
	stagesDecide(t, cp, "gated", "Final", newer, cptypes.ApprovalStatusApproved)
	if x := waitDeployExecution(t, cp, "gated", newer); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("the execution released by the transition: %s", x.Status)
	}
	want := "STARTED#1,Source STARTED,Source/Src STARTED,Source/Src SUCCEEDED,Source SUCCEEDED,Gate STARTED,Gate/Approve STARTED,Gate/Approve SUCCEEDED,Gate SUCCEEDED,Final STARTED,Final/Approve STARTED,Final/Approve SUCCEEDED,Final SUCCEEDED,SUCCEEDED#1"
	if got := strings.Join(stagesEvents(t, s2, newer), ","); got != want {
		t.Errorf("events of the released execution:\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(stagesEvents(t, s2, older), ","); !strings.HasSuffix(got, "Source SUCCEEDED,SUPERSEDED#1") {
		t.Errorf("events of the superseded execution: %s", got)
	}
}

// TestDeployRetryStage: a failed stage is retried (FAILED_ACTIONS, then ALL_ACTIONS) and the
// execution goes on under the same id, with RESUMED events and the replaced action executions
// still listed; a stage that did not fail, an execution that is not the stage's latest, a
// changed pipeline, bad input, another account and an explicit Deny are refused and change
// nothing.
func TestDeployRetryStage(t *testing.T) {
	s := start(t, "")
	ctx := context.Background()
	ds := clientsOf(s.cfg("data-science"))
	cp := cpOf(ds.sm)
	st := newStagesSetup(t, ds)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: st.pipeline("retried", cptypes.ExecutionModeSuperseded)})
	mustDo(t, err)
	id := stagesFirst(t, cp, "retried")
	stagesDecide(t, cp, "retried", "Gate", id, cptypes.ApprovalStatusRejected)
	if x := waitDeployExecution(t, cp, "retried", id); x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Fatalf("rejected: %s", x.Status)
	}

	d := &deploySetup{s: s, ds: ds}
	denied := d.user(t, "no-retry", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:*","Resource":"*"},
		{"Effect":"Deny","Action":"codepipeline:RetryStageExecution","Resource":"arn:aws:codepipeline:us-east-1:`+s.account["data-science"]+`:retried/*"}]}`)
	other := cpOf(clientsOf(s.cfg("staging")).sm)
	retry := func(c *codepipeline.Client, stage, exec, mode string) error {
		_, err := c.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String("retried"), StageName: aws.String(stage),
			PipelineExecutionId: aws.String(exec), RetryMode: cptypes.StageRetryMode(mode)})
		return err
	}
	for _, c := range []struct {
		name, want string
		call       func() error
	}{
		{"an explicit Deny", "AccessDeniedException", func() error { return retry(denied, "Gate", id, "FAILED_ACTIONS") }},
		{"another account", "PipelineNotFoundException", func() error { return retry(other, "Gate", id, "FAILED_ACTIONS") }},
		{"a bad mode", "ValidationException", func() error { return retry(cp, "Gate", id, "SOME_ACTIONS") }},
		{"a bad execution id", "ValidationException", func() error { return retry(cp, "Gate", "not-an-id", "FAILED_ACTIONS") }},
		{"an unknown execution", "PipelineExecutionNotFoundException", func() error {
			return retry(cp, "Gate", "00000000-0000-0000-0000-000000000000", "FAILED_ACTIONS")
		}},
		{"no such stage", "StageNotFoundException", func() error { return retry(cp, "Nowhere", id, "FAILED_ACTIONS") }},
		{"a stage that succeeded", "StageNotRetryableException", func() error { return retry(cp, "Source", id, "FAILED_ACTIONS") }},
		{"a stage that never ran", "StageNotRetryableException", func() error { return retry(cp, "Final", id, "ALL_ACTIONS") }},
	} {
		if err := c.call(); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if x := waitDeployExecution(t, cp, "retried", id); x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Fatalf("after refused retries: %s", x.Status)
	}

	mustDo(t, retry(cp, "Gate", id, "FAILED_ACTIONS"))
	if err := retry(cp, "Gate", id, "FAILED_ACTIONS"); code(err) != "StageNotRetryableException" {
		t.Errorf("a second retry of a running stage: %v", err)
	}
	stagesDecide(t, cp, "retried", "Gate", id, cptypes.ApprovalStatusRejected)
	if x := waitDeployExecution(t, cp, "retried", id); x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Fatalf("rejected again: %s", x.Status)
	}
	mustDo(t, retry(cp, "Gate", id, "ALL_ACTIONS"))
	stagesDecide(t, cp, "retried", "Gate", id, cptypes.ApprovalStatusApproved)
	stagesDecide(t, cp, "retried", "Final", id, cptypes.ApprovalStatusApproved)
	if x := waitDeployExecution(t, cp, "retried", id); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("after the retries: %s", x.Status)
	}
	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String("retried"), Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(id)}})
	mustDo(t, err)
	var gate []string
	for _, a := range acts.ActionExecutionDetails {
		if aws.ToString(a.StageName) == "Gate" {
			gate = append(gate, string(a.Status))
		}
	}
	if strings.Join(gate, ",") != "Succeeded,Failed,Failed" {
		t.Errorf("Gate's action executions, newest first = %v", gate)
	}
	want := "STARTED#1,Source STARTED,Source/Src STARTED,Source/Src SUCCEEDED,Source SUCCEEDED,Gate STARTED,Gate/Approve STARTED,Gate/Approve FAILED,Gate FAILED,FAILED#1," +
		"RESUMED#2,Gate RESUMED,Gate/Approve STARTED,Gate/Approve FAILED,Gate FAILED,FAILED#2," +
		"RESUMED#3,Gate RESUMED,Gate/Approve STARTED,Gate/Approve SUCCEEDED,Gate SUCCEEDED,Final STARTED,Final/Approve STARTED,Final/Approve SUCCEEDED,Final SUCCEEDED,SUCCEEDED#3"
	if got := strings.Join(stagesEvents(t, s, id), ","); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}

	// Only the stage's latest execution is retried.
	a := stagesStart(t, cp, "retried")
	stagesDecide(t, cp, "retried", "Gate", a, cptypes.ApprovalStatusRejected)
	waitDeployExecution(t, cp, "retried", a)
	b := stagesStart(t, cp, "retried")
	stagesDecide(t, cp, "retried", "Gate", b, cptypes.ApprovalStatusRejected)
	waitDeployExecution(t, cp, "retried", b)
	if err := retry(cp, "Gate", a, "FAILED_ACTIONS"); code(err) != "NotLatestPipelineExecutionException" {
		t.Errorf("retry of an execution a later one ran the stage after: %v", err)
	}
	// A changed pipeline: the structure the execution ran is gone.
	_, err = cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: st.pipeline("retried", cptypes.ExecutionModeQueued)})
	mustDo(t, err)
	if err := retry(cp, "Gate", b, "FAILED_ACTIONS"); code(err) != "StageNotRetryableException" {
		t.Errorf("retry after UpdatePipeline: %v", err)
	}
	for _, x := range []string{a, b} {
		if got := waitDeployExecution(t, cp, "retried", x); got.Status != cptypes.PipelineExecutionStatusFailed {
			t.Errorf("a refused retry moved %s to %s", x, got.Status)
		}
	}
}

// stagesRunning lists the executions whose action stage/action is in progress.
func stagesRunning(t *testing.T, cp *codepipeline.Client, pipeline, stage string) map[string]bool {
	t.Helper()
	acts, err := cp.ListActionExecutions(context.Background(), &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(pipeline)})
	mustDo(t, err)
	out := map[string]bool{}
	for _, a := range acts.ActionExecutionDetails {
		if aws.ToString(a.StageName) == stage && a.Status == cptypes.ActionExecutionStatusInProgress {
			out[aws.ToString(a.PipelineExecutionId)] = true
		}
	}
	return out
}

// TestDeployParallelMode: in PARALLEL mode executions occupy a stage together, none is
// superseded, and each is retried on its own (a stopped stage too); PARALLEL needs a V2 pipeline; after an
// UpdatePipeline to SUPERSEDED the executions started in PARALLEL go on independently while a
// new one follows the new mode.
func TestDeployParallelMode(t *testing.T) {
	s := start(t, "")
	ctx := context.Background()
	ds := clientsOf(s.cfg("data-science"))
	cp := cpOf(ds.sm)
	st := newStagesSetup(t, ds)

	v1 := st.pipeline("parallel-v1", cptypes.ExecutionModeParallel)
	v1.PipelineType = cptypes.PipelineTypeV1
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: v1}); code(err) != "ValidationException" {
		t.Errorf("PARALLEL on a V1 pipeline: %v", err)
	}
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: st.pipeline("par", cptypes.ExecutionModeParallel)})
	mustDo(t, err)
	first := stagesFirst(t, cp, "par")
	second := stagesStart(t, cp, "par")
	third := stagesStart(t, cp, "par")
	deadline := time.Now().Add(30 * time.Second)
	for len(stagesRunning(t, cp, "par", "Gate")) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("executions waiting in Gate together: %v, want all three", stagesRunning(t, cp, "par", "Gate"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String("par"), PipelineExecutionId: aws.String(first)})
	mustDo(t, err)
	if got.PipelineExecution.ExecutionMode != cptypes.ExecutionModeParallel || got.PipelineExecution.Status != cptypes.PipelineExecutionStatusInProgress {
		t.Errorf("the first execution: %s in mode %s", got.PipelineExecution.Status, got.PipelineExecution.ExecutionMode)
	}

	// The third (the stage's latest) fails; the second is stopped after it; each is retried
	// (in SUPERSEDED mode the second would not be: the third ran the stage after it).
	stagesDecide(t, cp, "par", "Gate", third, cptypes.ApprovalStatusRejected)
	waitDeployExecution(t, cp, "par", third)
	_, err = cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String("par"), PipelineExecutionId: aws.String(second), Abandon: true})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, "par", second); x.Status != cptypes.PipelineExecutionStatusStopped {
		t.Fatalf("stopped: %s", x.Status)
	}
	for _, x := range []string{third, second} {
		_, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String("par"), StageName: aws.String("Gate"),
			PipelineExecutionId: aws.String(x), RetryMode: cptypes.StageRetryModeFailedActions})
		if err != nil {
			t.Errorf("retry of %s in PARALLEL mode: %v", x, err)
		}
	}

	// To SUPERSEDED: a new execution does not wait for those of PARALLEL mode.
	_, err = cp.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: st.pipeline("par", cptypes.ExecutionModeSuperseded)})
	mustDo(t, err)
	fourth := stagesStart(t, cp, "par")
	deadline = time.Now().Add(30 * time.Second)
	for r := stagesRunning(t, cp, "par", "Gate"); !(r[first] && r[second] && r[third] && r[fourth]); r = stagesRunning(t, cp, "par", "Gate") {
		if time.Now().After(deadline) {
			t.Fatalf("in Gate after the change of mode: %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// … and a fifth, of the new mode, waits for the fourth.
	fifth := stagesStart(t, cp, "par")
	waitInbound(t, cp, "par", "Gate", fifth)
	for _, x := range []string{first, second, third, fourth, fifth} {
		_, err := cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String("par"), PipelineExecutionId: aws.String(x), Abandon: true})
		mustDo(t, err)
		if got := waitDeployExecution(t, cp, "par", x); got.Status != cptypes.PipelineExecutionStatusStopped {
			t.Errorf("%s: %s after a stop", x, got.Status)
		}
	}
}
