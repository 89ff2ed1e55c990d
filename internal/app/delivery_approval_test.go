package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// TestApprovalTimesOut: a manual approval with SlipwayApprovalTimeout fails when nobody
// decides in time, and production is not deployed; a bad timeout is refused at CreatePipeline.
func TestApprovalTimesOut(t *testing.T) {
	s := start(t, "")
	d := newDeploySetup(t, s)
	ctx := context.Background()
	cp := cpOf(d.ds.sm)
	for _, bad := range []string{"forever", "0s", "200h"} {
		p := d.pipeline("bad")
		p.Stages[2].Actions[0].Configuration["SlipwayApprovalTimeout"] = bad
		if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p}); code(err) != "InvalidActionDeclarationException" {
			t.Errorf("timeout %q: %v, want InvalidActionDeclarationException", bad, err)
		}
	}
	p := d.pipeline("model-deploy")
	p.Stages[2].Actions[0].Configuration["SlipwayApprovalTimeout"] = "1s"
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p})
	mustDo(t, err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("model-deploy")})
	mustDo(t, err)
	id := *execs.PipelineExecutionSummaries[0].PipelineExecutionId
	x := waitDeployExecution(t, cp, "model-deploy", id)
	if x.Status != cptypes.PipelineExecutionStatusFailed || !strings.Contains(aws.ToString(x.StatusSummary), "not decided within 1s") {
		t.Errorf("an approval nobody decided: %s (%s), want Failed after its timeout", x.Status, aws.ToString(x.StatusSummary))
	}
	if st := stackStatus(t, d.prod, "model-prod"); st == cfntypes.StackStatusCreateComplete {
		t.Errorf("a timed-out approval deployed to production")
	}
}
