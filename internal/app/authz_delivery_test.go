package app_test

import (
	"bytes"
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// approvalPipeline declares Source (an S3 object) → Approve (manual).
func approvalPipeline(name, role, artifacts, source, customData string) *cptypes.PipelineDeclaration {
	return &cptypes.PipelineDeclaration{Name: aws.String(name), RoleArn: aws.String(role),
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(artifacts)},
		Stages: []cptypes.StageDeclaration{
			{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Src"),
				ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
				Configuration:   map[string]string{"S3Bucket": source, "S3ObjectKey": "src.json"},
				OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("Out")}}}}},
			{Name: aws.String("Gate"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Approve"),
				ActionTypeId:  &cptypes.ActionTypeId{Category: cptypes.ActionCategoryApproval, Owner: cptypes.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")},
				Configuration: map[string]string{"CustomData": customData}}}},
		}}
}

// deployPrereqs makes a pipeline role and the artifact and source buckets, and returns the
// variables naming them (Name is a pipeline name not yet used).
func (e *authzEnv) deployPrereqs() map[string]string {
	ctx := context.Background()
	role, bucket := e.name("cprole"), e.name("cpb")
	r, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(codepipelineTrust)})
	e.must(err)
	_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	e.must(err)
	for _, b := range []string{bucket + "-art", bucket + "-src"} {
		_, err := e.admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		e.must(err)
	}
	_, err = e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket + "-src"), Key: aws.String("src.json"), Body: bytes.NewReader([]byte("{}"))})
	e.must(err)
	return map[string]string{"Name": e.name("cp"), "Role": *r.Role.Arn, "Artifacts": bucket + "-art", "Source": bucket + "-src"}
}

// deployPipeline makes a pipeline whose first execution waits at its approval, and returns
// the variables naming them.
func (e *authzEnv) deployPipeline() map[string]string {
	ctx := context.Background()
	v := e.deployPrereqs()
	cp := cpOf(e.admin.sm)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: approvalPipeline(v["Name"], v["Role"], v["Artifacts"], v["Source"], "x")})
	e.must(err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(v["Name"])})
	e.must(err)
	v["ExecutionId"] = *execs.PipelineExecutionSummaries[0].PipelineExecutionId
	v["Stage"], v["Action"] = "Gate", "Approve"
	v["Token"] = waitApproval(e.t, cp, v["Name"], "Gate", "Approve", v["ExecutionId"])
	return v
}

// deployFailed makes a pipeline whose first execution failed in its approval stage (rejected).
func (e *authzEnv) deployFailed() map[string]string {
	v := e.deployPipeline()
	cp := cpOf(e.admin.sm)
	_, err := cp.PutApprovalResult(context.Background(), &codepipeline.PutApprovalResultInput{PipelineName: aws.String(v["Name"]), StageName: aws.String(v["Stage"]),
		ActionName: aws.String(v["Action"]), Token: aws.String(v["Token"]), Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusRejected, Summary: aws.String("no")}})
	e.must(err)
	if x := waitDeployExecution(e.t, cp, v["Name"], v["ExecutionId"]); x.Status != cptypes.PipelineExecutionStatusFailed {
		e.t.Fatalf("a rejected execution: %s", x.Status)
	}
	return v
}

func codepipelineCases() map[string]opCase {
	cp := func(e *authzEnv) *codepipeline.Client { return cpOf(e.actor.sm) }
	n := func(v map[string]string) *string { return aws.String(v["Name"]) }
	return map[string]opCase{
		"CreatePipeline": {(*authzEnv).deployPrereqs, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: approvalPipeline(v["Name"], v["Role"], v["Artifacts"], v["Source"], "x")})
			return err
		}},
		"GetPipeline": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: n(v)})
			return err
		}},
		"UpdatePipeline": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: approvalPipeline(v["Name"], v["Role"], v["Artifacts"], v["Source"], "y")})
			return err
		}},
		"DeletePipeline": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: n(v)})
			return err
		}},
		"ListPipelines": {noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
			return err
		}},
		"StartPipelineExecution": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: n(v)})
			return err
		}},
		"GetPipelineExecution": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: n(v), PipelineExecutionId: aws.String(v["ExecutionId"])})
			return err
		}},
		"ListPipelineExecutions": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: n(v)})
			return err
		}},
		"GetPipelineState": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: n(v)})
			return err
		}},
		"PutApprovalResult": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: n(v), StageName: aws.String(v["Stage"]),
				ActionName: aws.String(v["Action"]), Token: aws.String(v["Token"]),
				Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: aws.String("ok")}})
			return err
		}},
		"ListActionExecutions": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: n(v)})
			return err
		}},
		"StopPipelineExecution": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: n(v), PipelineExecutionId: aws.String(v["ExecutionId"]), Abandon: true})
			return err
		}},
		"DisableStageTransition": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).DisableStageTransition(ctx, &codepipeline.DisableStageTransitionInput{PipelineName: n(v), StageName: aws.String(v["Stage"]),
				TransitionType: cptypes.StageTransitionTypeInbound, Reason: aws.String("hold")})
			return err
		}},
		"EnableStageTransition": {(*authzEnv).deployPipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).EnableStageTransition(ctx, &codepipeline.EnableStageTransitionInput{PipelineName: n(v), StageName: aws.String(v["Stage"]),
				TransitionType: cptypes.StageTransitionTypeInbound})
			return err
		}},
		"RetryStageExecution": {(*authzEnv).deployFailed, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cp(e).RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: n(v), StageName: aws.String(v["Stage"]),
				PipelineExecutionId: aws.String(v["ExecutionId"]), RetryMode: cptypes.StageRetryModeFailedActions})
			return err
		}},
	}
}
