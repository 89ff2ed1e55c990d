package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// retryRaw calls RetryStageExecution in awsJson1_1 as the data-science admin, without the SDK,
// and returns the HTTP status, the X-Amzn-ErrorType header and the decoded body.
func retryRaw(t *testing.T, s *server, pipeline, stage, id string) (int, string, map[string]any) {
	t.Helper()
	ctx := context.Background()
	body, _ := json.Marshal(map[string]string{"pipelineName": pipeline, "stageName": stage, "pipelineExecutionId": id, "retryMode": "FAILED_ACTIONS"})
	req, err := http.NewRequestWithContext(ctx, "POST", s.url+"/", bytes.NewReader(body))
	mustDo(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CodePipeline_20150709.RetryStageExecution")
	sum := sha256.Sum256(body)
	mustDo(t, v4.NewSigner().SignHTTP(ctx, s.profile["data-science"], req, hex.EncodeToString(sum[:]), "codepipeline", "us-east-1", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	mustDo(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	mustDo(t, err)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("RetryStageExecution answered %d with a body that is no JSON object: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

// retrySnapshot is what a refused retry must not change: the execution's status, its events
// and its action executions.
func retrySnapshot(t *testing.T, s *server, cp *codepipeline.Client, pipeline, id string) string {
	t.Helper()
	ctx := context.Background()
	x, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: &pipeline, PipelineExecutionId: &id})
	mustDo(t, err)
	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: &pipeline, Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: &id}})
	mustDo(t, err)
	var as []string
	for _, a := range acts.ActionExecutionDetails {
		as = append(as, aws.ToString(a.StageName)+"/"+aws.ToString(a.ActionName)+" "+string(a.Status))
	}
	return string(x.PipelineExecution.Status) + " | " + strings.Join(as, ",") + " | " + strings.Join(stagesEvents(t, s, id), ",")
}

// TestDeployRetryStageConflicts: RetryStageExecution refused because of the execution's state
// answers in CodePipeline's awsJson1_1 error shape (HTTP 400, the code in __type and
// X-Amzn-ErrorType, a message) and changes nothing (status, action executions, events): for a
// stage still in progress, before and after a retry, and for an execution a newer one
// superseded before it reached the stage (StageNotRetryableException, not ConflictException:
// the stage another execution occupies could never be retried by it; NotLatest… for a stage
// the newer one ran since). The ConflictException of
// a retry while a stop is under way is in TestDeployPipelineWithBuildAction, whose build keeps
// the stop under way as long as the test needs.
func TestDeployRetryStageConflicts(t *testing.T) {
	s := start(t, "")
	ctx := context.Background()
	ds := clientsOf(s.cfg("data-science"))
	cp := cpOf(ds.sm)
	st := newStagesSetup(t, ds)
	const pipe = "conflicts"
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: st.pipeline(pipe, cptypes.ExecutionModeSuperseded)})
	mustDo(t, err)
	id := stagesFirst(t, cp, pipe)
	token := waitApproval(t, cp, pipe, "Gate", "Approve", id)

	refused := func(name, stage, exec, want string) {
		t.Helper()
		before := retrySnapshot(t, s, cp, pipe, exec)
		status, header, body := retryRaw(t, s, pipe, stage, exec)
		if status != http.StatusBadRequest || body["__type"] != want || header != want || body["message"] == nil || body["message"] == "" {
			t.Errorf("%s: %d %q %v, want 400 %s with a message", name, status, header, body, want)
		} else {
			t.Logf("%s: %d %s: %v", name, status, want, body["message"])
		}
		time.Sleep(50 * time.Millisecond) // a retry that went through anyway would show by now
		if after := retrySnapshot(t, s, cp, pipe, exec); after != before {
			t.Errorf("%s changed the execution:\n before %s\n after  %s", name, before, after)
		}
	}

	// A stage in progress is not retried.
	refused("a stage in progress", "Gate", id, "StageNotRetryableException")

	// Rejected, the stage is retried; the approval waits again.
	_, err = cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String(pipe), StageName: aws.String("Gate"), ActionName: aws.String("Approve"),
		Token: &token, Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusRejected, Summary: aws.String("no")}})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, pipe, id); x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Fatalf("the rejected execution ended %s", x.Status)
	}
	_, err = cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: aws.String(pipe), StageName: aws.String("Gate"),
		PipelineExecutionId: &id, RetryMode: cptypes.StageRetryModeFailedActions})
	mustDo(t, err)
	waitApproval(t, cp, pipe, "Gate", "Approve", id)
	refused("a retried stage in progress", "Gate", id, "StageNotRetryableException")

	// A superseded execution: a newer one overtook it at Gate's boundary, so its Gate never ran.
	older := stagesStart(t, cp, pipe)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) { // older waits at Gate's boundary
		state, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(pipe)})
		mustDo(t, err)
		if state.StageStates[1].InboundExecution != nil && aws.ToString(state.StageStates[1].InboundExecution.PipelineExecutionId) == older {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the older execution never waited at Gate's boundary")
		}
	}
	newer := stagesStart(t, cp, pipe)
	if x := waitDeployExecution(t, cp, pipe, older); x.Status != cptypes.PipelineExecutionStatusSuperseded {
		t.Fatalf("the older waiting execution: %s, want Superseded", x.Status)
	}
	refused("a superseded execution", "Gate", older, "StageNotRetryableException")
	refused("a superseded execution, a stage a newer one ran since", "Source", older, "NotLatestPipelineExecutionException")
	if x := waitStatus(t, cp, pipe, newer, cptypes.PipelineExecutionStatusInProgress); x != cptypes.PipelineExecutionStatusInProgress {
		t.Errorf("the newer execution: %s", x)
	}
}

// waitStatus waits (up to 10 s) for execution id to be want and returns its status then.
func waitStatus(t *testing.T, cp *codepipeline.Client, pipeline, id string, want cptypes.PipelineExecutionStatus) cptypes.PipelineExecutionStatus {
	t.Helper()
	var got cptypes.PipelineExecutionStatus
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		x, err := cp.GetPipelineExecution(context.Background(), &codepipeline.GetPipelineExecutionInput{PipelineName: &pipeline, PipelineExecutionId: &id})
		mustDo(t, err)
		if got = x.PipelineExecution.Status; got == want {
			break
		}
	}
	return got
}
