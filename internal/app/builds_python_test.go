package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
)

// A team's own build: Debian's python3 with boto3 1.26, which ignores AWS_ENDPOINT_URL, so the
// script passes it as endpoint_url. It reads the model package the pipeline's source named,
// describes it as the build's service role, and writes the stage configuration.
const pyBuildScript = `import json, os
import boto3

endpoint = os.environ["AWS_ENDPOINT_URL"]
with open(os.path.join(os.environ["CODEBUILD_SRC_DIR_ModelPackage"], "model-package.json")) as f:
    src = json.load(f)
sm = boto3.client("sagemaker", endpoint_url=endpoint)
pkg = sm.describe_model_package(ModelPackageName=src["ModelPackageArn"])
who = boto3.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"]
os.makedirs("out", exist_ok=True)
with open("out/staging-config.json", "w") as f:
    json.dump({"Parameters": {
        "ModelPackageName": pkg["ModelPackageArn"],
        "ModelDataUrl": pkg["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
        "ApprovalStatus": pkg["ModelApprovalStatus"],
        "Stage": os.environ["STAGE"],
        "BuiltBy": who}}, f)
print("wrote out/staging-config.json for", pkg["ModelPackageArn"])
`

const pyBuildspec = `version: 0.2
phases:
  build:
    commands:
      - python3 --version
      - python3 build.py
artifacts:
  base-directory: out
  files: [staging-config.json]
`

// The Hold stage's build runs until the test releases it, so a stop stays under way.
const pyHoldBuildspec = `version: 0.2
phases:
  build:
    commands:
      - touch "$GATE/started"
      - while [ ! -f "$GATE/release" ]; do sleep 0.05; done
`

// TestDeployPipelineWithPythonBuild: a Build action runs a team's buildspec whose build phase is
// "python3 build.py" with Debian's boto3: it reads the model package the SlipwayModelPackage
// source named (its model-package.json in CODEBUILD_SRC_DIR_ModelPackage), describes it through
// the API as the build's service role, and writes the config artifact the next stages take.
// While the next stage's build runs, a stop without abandon is under way: RetryStageExecution
// then answers ConflictException in CodePipeline's error shape and changes nothing; once the
// build ends the execution is Stopped.
func TestDeployPipelineWithPythonBuild(t *testing.T) {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import boto3").CombinedOutput(); err != nil {
		t.Fatalf("Debian's python3 with boto3 is needed (apt-get install python3-boto3): %v\n%s", err, out)
	}
	e := startBuilds(t)
	ctx := context.Background()
	ds := clientsOf(e.s.cfg("data-science"))
	_, err := ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("build"), PolicyName: aws.String("describe"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:DescribeModelPackage","Resource":"*"}]}`)})
	must(t, err)
	r, err := ds.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline-role"), AssumeRolePolicyDocument: aws.String(codepipelineTrust)})
	must(t, err)
	_, err = ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","codebuild:*","sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"],"Resource":"*"}]}`)})
	must(t, err)
	_, err = ds.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")})
	must(t, err)
	pkg, err := ds.sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone"),
		ModelApprovalStatus: smtypes.ModelApprovalStatusApproved,
		InferenceSpecification: &smtypes.InferenceSpecification{Containers: []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost:latest"),
			ModelDataUrl: aws.String("s3://models/v1/model.tar.gz")}}, SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}}})
	must(t, err)
	version := aws.ToString(pkg.ModelPackageArn)
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("src/team.zip"),
		Body: bytes.NewReader(zipFiles(t, map[string]string{"buildspec.yml": pyBuildspec, "build.py": pyBuildScript}))})
	must(t, err)
	e.project(t, "py-build", cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline}, cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline})
	e.project(t, "py-hold", cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline, Buildspec: aws.String(pyHoldBuildspec)}, cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline})
	gate := t.TempDir()

	source := func(name, provider string, cfg map[string]string, out string) cptypes.ActionDeclaration {
		return cptypes.ActionDeclaration{Name: aws.String(name), Configuration: cfg, OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String(out)}},
			ActionTypeId: &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String(provider), Version: aws.String("1")}}
	}
	build := actionOf("BuildConfig", "Build", "CodeBuild", map[string]string{"ProjectName": "py-build", "PrimarySource": "SourceOutput"}, "SourceOutput", "ModelPackage")
	build.OutputArtifacts = []cptypes.OutputArtifact{{Name: aws.String("ConfigOutput")}}
	hold := actionOf("Hold", "Test", "CodeBuild", map[string]string{"ProjectName": "py-hold",
		"EnvironmentVariables": `[{"name":"GATE","value":"` + gate + `","type":"PLAINTEXT"}]`}, "ConfigOutput")
	const pipe = "team-python"
	cp := codepipeline.NewFromConfig(e.s.cfg("data-science"))
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &cptypes.PipelineDeclaration{Name: aws.String(pipe), RoleArn: r.Role.Arn,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(e.bucket)},
		Stages: []cptypes.StageDeclaration{
			{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{
				source("Team", "S3", map[string]string{"S3Bucket": e.bucket, "S3ObjectKey": "src/team.zip"}, "SourceOutput"),
				source("ApprovedModel", app.ModelPackageProvider, map[string]string{"ModelPackageGroupName": "abalone"}, "ModelPackage")}},
			{Name: aws.String("Build"), Actions: []cptypes.ActionDeclaration{build}},
			{Name: aws.String("Hold"), Actions: []cptypes.ActionDeclaration{hold}},
		}}})
	must(t, err)
	id := stagesFirst(t, cp, pipe)

	// The Hold build runs: the Build action has ended.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(gate, "started")); err == nil {
			break
		}
		x, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(pipe), PipelineExecutionId: &id})
		must(t, err)
		if x.PipelineExecution.Status != cptypes.PipelineExecutionStatusInProgress || time.Now().After(deadline) {
			if acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(pipe)}); err != nil {
				t.Logf("ListActionExecutions %s: %v", pipe, err)
			} else {
				for _, a := range acts.ActionExecutionDetails {
					if a.Output != nil && a.Output.ExecutionResult != nil {
						t.Logf("%s: %s %s", aws.ToString(a.ActionName), a.Status, aws.ToString(a.Output.ExecutionResult.ExternalExecutionSummary))
					}
				}
			}
			t.Fatalf("the execution is %s (%s) and the Hold build never started", x.PipelineExecution.Status, aws.ToString(x.PipelineExecution.StatusSummary))
		}
	}
	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(pipe), Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: &id}})
	must(t, err)
	var config map[string]map[string]string
	for _, a := range acts.ActionExecutionDetails {
		if aws.ToString(a.ActionName) != "BuildConfig" {
			continue
		}
		if a.Status != cptypes.ActionExecutionStatusSucceeded {
			t.Fatalf("BuildConfig: %s", a.Status)
		}
		loc := a.Output.OutputArtifacts[0].S3location
		obj, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: loc.Bucket, Key: loc.Key})
		must(t, err)
		raw, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		must(t, err)
		z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		must(t, err)
		for _, f := range z.File {
			if f.Name != "staging-config.json" {
				t.Errorf("the config artifact holds %s", f.Name)
				continue
			}
			rc, err := f.Open()
			must(t, err)
			must(t, json.NewDecoder(rc).Decode(&config))
			rc.Close()
		}
	}
	want := map[string]string{"ModelPackageName": version, "ModelDataUrl": "s3://models/v1/model.tar.gz", "ApprovalStatus": "Approved", "Stage": "project"}
	for k, v := range want {
		if got := config["Parameters"][k]; got != v {
			t.Errorf("the config artifact's %s = %q, want %q (artifact %v)", k, got, v, config)
		}
	}
	if who := config["Parameters"]["BuiltBy"]; !strings.Contains(who, ":assumed-role/build/") {
		t.Errorf("build.py called the API as %q, want the build's service role", who)
	}

	// A stop under way while the Hold build runs: a retry is a ConflictException.
	_, err = cp.StopPipelineExecution(ctx, &codepipeline.StopPipelineExecutionInput{PipelineName: aws.String(pipe), PipelineExecutionId: &id, Reason: aws.String("hold on")})
	must(t, err)
	if st := waitStatus(t, cp, pipe, id, cptypes.PipelineExecutionStatusStopping); st != cptypes.PipelineExecutionStatusStopping {
		t.Fatalf("after a stop without abandon: %s, want Stopping", st)
	}
	for _, stage := range []string{"Hold", "Build"} {
		before := retrySnapshot(t, e.s, cp, pipe, id)
		status, header, body := retryRaw(t, e.s, pipe, stage, id)
		if status != http.StatusBadRequest || body["__type"] != "ConflictException" || header != "ConflictException" || body["message"] == nil || body["message"] == "" {
			t.Errorf("retrying %s while the stop is under way: %d %q %v, want 400 ConflictException with a message", stage, status, header, body)
		}
		time.Sleep(50 * time.Millisecond)
		if after := retrySnapshot(t, e.s, cp, pipe, id); after != before {
			t.Errorf("the refused retry of %s changed the execution:\n before %s\n after  %s", stage, before, after)
		}
	}
	must(t, os.WriteFile(filepath.Join(gate, "release"), nil, 0o644))
	if x := waitDeployExecution(t, cp, pipe, id); x.Status != cptypes.PipelineExecutionStatusStopped {
		t.Errorf("once the Hold build ended: %s, want Stopped", x.Status)
	}
}
