package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The build's buildspec writes a CloudFormation template declaring a build project (so the
// deploy action proves both that it used the Build action's output artifact and that
// AWS::CodeBuild::Project works).
const pipelineBuildspec = `version: 0.2
phases:
  build:
    commands:
      - test -f "$CODEBUILD_SRC_DIR/params.txt"
      - aws --endpoint-url "$AWS_ENDPOINT_URL" s3 ls s3://build-bucket/ > listing.txt
      - mkdir -p out
      - |
        cat > out/template.json <<JSON
        {"Resources":{"Made":{"Type":"AWS::CodeBuild::Project","Properties":{"Name":"$MADE_NAME",
          "Source":{"Type":"NO_SOURCE","BuildSpec":"version: 0.2\nphases:\n  build:\n    commands: [echo made]\n"},
          "Artifacts":{"Type":"NO_ARTIFACTS"},
          "Environment":{"Type":"LINUX_CONTAINER","Image":"aws/codebuild/standard:7.0","ComputeType":"BUILD_GENERAL1_SMALL"},
          "ServiceRole":"$ROLE"}}},
         "Outputs":{"Arn":{"Value":{"Fn::GetAtt":["Made","Arn"]}}}}
        JSON
artifacts:
  files: [template.json]
  base-directory: out
`

// TestDeployPipelineWithBuildAction: Source (S3) → Build (CodeBuild, its output artifact a
// template the build wrote) → Deploy (CloudFormation from that artifact, making an
// AWS::CodeBuild::Project). A second pipeline whose build fails shows the failing command in
// the action's error details.
func TestDeployPipelineWithBuildAction(t *testing.T) {
	e := startBuilds(t)
	ctx := context.Background()
	ds := clientsOf(e.s.cfg("data-science"))
	r, err := ds.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline-role"), AssumeRolePolicyDocument: aws.String(codepipelineTrust)})
	must(t, err)
	_, err = ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","cloudformation:*","codebuild:*","iam:PassRole"],"Resource":"*"}]}`)})
	must(t, err)
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("src/app.zip"),
		Body: bytes.NewReader(zipFiles(t, map[string]string{"buildspec.yml": pipelineBuildspec, "params.txt": "x"}))})
	must(t, err)
	pipeSrc := cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline}
	e.project(t, "pipe-build", pipeSrc, cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline})
	failSrc := cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline, Buildspec: aws.String("version: 0.2\nphases:\n  build:\n    commands:\n      - echo testing\n      - test -f no-such-file\n")}
	e.project(t, "pipe-test", failSrc, cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline})

	// A project for pipelines refuses a direct StartBuild.
	if _, err := e.cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("pipe-build")}); code(err) != "InvalidInputException" {
		t.Errorf("StartBuild of a CODEPIPELINE project: %v", err)
	}

	source := cptypes.StageDeclaration{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Source"),
		ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
		Configuration:   map[string]string{"S3Bucket": e.bucket, "S3ObjectKey": "src/app.zip"},
		OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("SourceOutput")}}}}}
	cbAction := func(category cptypes.ActionCategory, project string, env string, outputs ...string) cptypes.ActionDeclaration {
		a := cptypes.ActionDeclaration{Name: aws.String(project),
			ActionTypeId:   &cptypes.ActionTypeId{Category: category, Owner: cptypes.ActionOwnerAws, Provider: aws.String("CodeBuild"), Version: aws.String("1")},
			Configuration:  map[string]string{"ProjectName": project},
			InputArtifacts: []cptypes.InputArtifact{{Name: aws.String("SourceOutput")}}}
		if env != "" {
			a.Configuration["EnvironmentVariables"] = env
		}
		for _, o := range outputs {
			a.OutputArtifacts = append(a.OutputArtifacts, cptypes.OutputArtifact{Name: aws.String(o)})
		}
		return a
	}
	cp := codepipeline.NewFromConfig(e.s.cfg("data-science"))
	env := `[{"name":"MADE_NAME","value":"made-by-stack","type":"PLAINTEXT"},{"name":"ROLE","value":"` + e.role + `","type":"PLAINTEXT"}]`
	created, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &cptypes.PipelineDeclaration{Name: aws.String("with-build"), RoleArn: r.Role.Arn,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(e.bucket)},
		Stages: []cptypes.StageDeclaration{source,
			{Name: aws.String("Build"), Actions: []cptypes.ActionDeclaration{cbAction(cptypes.ActionCategoryBuild, "pipe-build", env, "BuildOutput")}},
			{Name: aws.String("Deploy"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Deploy"),
				ActionTypeId:   &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerAws, Provider: aws.String("CloudFormation"), Version: aws.String("1")},
				Configuration:  map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": "built-stack", "TemplatePath": "BuildOutput::template.json"},
				InputArtifacts: []cptypes.InputArtifact{{Name: aws.String("BuildOutput")}}}}},
		}}})
	must(t, err)
	_ = created
	ex, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("with-build")})
	must(t, err)
	got := waitDeployExecution(t, cp, "with-build", *ex.PipelineExecutionSummaries[0].PipelineExecutionId)
	if got.Status != cptypes.PipelineExecutionStatusSucceeded {
		if acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String("with-build")}); err != nil {
			t.Logf("ListActionExecutions with-build: %v", err)
		} else {
			for _, a := range acts.ActionExecutionDetails {
				if a.Output != nil && a.Output.ExecutionResult != nil {
					t.Logf("%s: %s %s", aws.ToString(a.ActionName), a.Status, aws.ToString(a.Output.ExecutionResult.ExternalExecutionSummary))
				}
			}
		}
		t.Fatalf("the pipeline ended %s: %s", got.Status, aws.ToString(got.StatusSummary))
	}
	if st := stackStatus(t, ds, "built-stack"); st != "CREATE_COMPLETE" {
		t.Errorf("built-stack: %s", st)
	}
	made, err := e.cb.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{"made-by-stack"}})
	must(t, err)
	if len(made.Projects) != 1 || aws.ToString(made.Projects[0].ServiceRole) != e.role || made.Projects[0].Source.Type != cbtypes.SourceTypeNoSource {
		t.Errorf("the stack's project = %+v", made)
	}
	ids, err := e.cb.ListBuildsForProject(ctx, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("pipe-build")})
	must(t, err)
	if len(ids.Ids) != 1 {
		t.Errorf("pipe-build has builds %v, want one (the action's, started once)", ids.Ids)
	}

	// A Test action whose build fails: the failing command is in the action's error details.
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &cptypes.PipelineDeclaration{Name: aws.String("with-test"), RoleArn: r.Role.Arn,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(e.bucket)},
		Stages: []cptypes.StageDeclaration{source,
			{Name: aws.String("Test"), Actions: []cptypes.ActionDeclaration{cbAction(cptypes.ActionCategoryTest, "pipe-test", "")}}}}})
	must(t, err)
	ex, err = cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("with-test")})
	must(t, err)
	got = waitDeployExecution(t, cp, "with-test", *ex.PipelineExecutionSummaries[0].PipelineExecutionId)
	if got.Status != cptypes.PipelineExecutionStatusFailed {
		t.Fatalf("with-test ended %s", got.Status)
	}
	state, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("with-test")})
	must(t, err)
	var details string
	for _, s := range state.StageStates {
		for _, a := range s.ActionStates {
			if a.LatestExecution != nil && a.LatestExecution.ErrorDetails != nil {
				details = aws.ToString(a.LatestExecution.ErrorDetails.Message)
			}
		}
	}
	if !strings.Contains(details, "Error while executing command: test -f no-such-file. Reason: exit status 1") {
		t.Errorf("the Test action's error details = %q", details)
	}

	// Bad configuration is refused at CreatePipeline; BatchEnabled fails the action.
	bad := cbAction(cptypes.ActionCategoryBuild, "pipe-build", "")
	bad.Configuration["Unknown"] = "x"
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &cptypes.PipelineDeclaration{Name: aws.String("bad"), RoleArn: r.Role.Arn,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(e.bucket)},
		Stages:        []cptypes.StageDeclaration{source, {Name: aws.String("B"), Actions: []cptypes.ActionDeclaration{bad}}}}})
	if code(err) != "InvalidActionDeclarationException" {
		t.Errorf("an unknown configuration key: %v", err)
	}
}
