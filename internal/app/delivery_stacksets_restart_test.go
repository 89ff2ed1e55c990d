package app_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-ml/slipway/internal/config"
)

// TestStackSetDeployResumesAfterRestart: the server stops while a CloudFormationStackSet
// action's operation runs; the next server (same data directory) finds the operation the
// action started (no second one), the execution succeeds and both staging accounts hold a
// current instance.
func TestStackSetDeployResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s1, stop1 := openServer(t, cfg)
	d := newDeploySetup(t, s1)
	root, stagingOU := orgUnit(t, d.ds, "staging")
	second := memberAccount(t, d.ds, "staging-b", root, stagingOU)
	_, err := d.ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.source), Key: aws.String(d.srcKey),
		Body: bytes.NewReader(zipFiles(t, map[string]string{"template.json": namedLogGroupTemplate}))})
	mustDo(t, err)
	cp := cpOf(d.ds.sm)
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.stackSetPipeline("sets",
		actionOf("DeployStaging", "Deploy", "CloudFormationStackSet", map[string]string{"StackSetName": "model-set",
			"TemplatePath": "SourceOutput::template.json", "Parameters": "ParameterKey=Group,ParameterValue=/deploy/staging",
			"PermissionModel": "SERVICE_MANAGED", "DeploymentTargets": stagingOU, "MaxConcurrentCount": "1"}, "SourceOutput"))})
	mustDo(t, err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("sets")})
	mustDo(t, err)
	id := *execs.PipelineExecutionSummaries[0].PipelineExecutionId
	cf := cfnOf(d.ds.sm)
	waitFor(t, "the action's stack set operation", func() bool {
		ops, err := cf.ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: aws.String("model-set")})
		return err == nil && len(ops.Summaries) > 0
	})
	stop1()

	s2, stop2 := openServer(t, cfg)
	defer stop2()
	ds := clientsOf(s2.cfg("data-science"))
	cp, cf = cpOf(ds.sm), cfnOf(ds.sm)
	if x := waitDeployExecution(t, cp, "sets", id); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution after the restart: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
	ops, err := cf.ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: aws.String("model-set")})
	mustDo(t, err)
	if len(ops.Summaries) != 1 {
		t.Errorf("%d stack set operations after the restart, want the action's one", len(ops.Summaries))
	}
	got := instances(t, cf, "model-set")
	for _, a := range []string{s2.account["staging"], second} {
		if got[a].Status != "CURRENT" {
			t.Errorf("instance in %s: %s", a, got[a].Status)
		}
	}
}
