package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// buildEnv is a server with a bucket and a service role that trusts CodeBuild and may use the
// bucket and list model packages.
type buildEnv struct {
	s      *server
	cb     *codebuild.Client
	s3     *s3.Client
	role   string
	bucket string
}

const buildRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sagemaker:ListModelPackages","sagemaker:ListModelPackageGroups"],"Resource":"*"}]}`

func startBuilds(t *testing.T) *buildEnv {
	t.Helper()
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Fatalf("the Debian aws CLI v2 is needed (apt-get install awscli): %v", err)
	}
	s := start(t, "")
	ctx := context.Background()
	cfg := s.cfg("data-science")
	e := &buildEnv{s: s, cb: codebuild.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), bucket: "build-bucket"}
	ic := iam.NewFromConfig(cfg)
	_, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("build"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must(t, err)
	_, err = ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("build"), PolicyName: aws.String("p"), PolicyDocument: aws.String(buildRolePolicy)})
	must(t, err)
	e.role = "arn:aws:iam::" + s.account["data-science"] + ":role/build"
	_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.bucket)})
	must(t, err)
	return e
}

func (e *buildEnv) project(t *testing.T, name string, src cbtypes.ProjectSource, art cbtypes.ProjectArtifacts) {
	t.Helper()
	_, err := e.cb.CreateProject(context.Background(), &codebuild.CreateProjectInput{Name: aws.String(name), Source: &src, Artifacts: &art,
		Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"),
			ComputeType:          cbtypes.ComputeTypeBuildGeneral1Small,
			EnvironmentVariables: []cbtypes.EnvironmentVariable{{Name: aws.String("STAGE"), Value: aws.String("project")}}},
		ServiceRole: aws.String(e.role), TimeoutInMinutes: aws.Int32(5)})
	must(t, err)
}

// wait polls a build until it ends.
func (e *buildEnv) wait(t *testing.T, id string) cbtypes.Build {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		out, err := e.cb.BatchGetBuilds(context.Background(), &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		must(t, err)
		if len(out.Builds) != 1 {
			t.Fatalf("BatchGetBuilds(%s) = %+v", id, out)
		}
		if b := out.Builds[0]; b.BuildComplete {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("build %s did not end", id)
	return cbtypes.Build{}
}

func (e *buildEnv) logs(t *testing.T, b cbtypes.Build) string {
	t.Helper()
	lc := cloudwatchlogs.NewFromConfig(e.s.cfg("data-science"))
	out, err := lc.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName, StartFromHead: aws.Bool(true)})
	must(t, err)
	var sb strings.Builder
	for _, ev := range out.Events {
		sb.WriteString(aws.ToString(ev.Message) + "\n")
	}
	return sb.String()
}

// TestBuildRunsTheAWSCLIAsItsServiceRole: a build from an S3 source runs its buildspec with the
// Debian aws CLI v2, which reaches this server as the project's service role (s3 cp, sagemaker
// list-model-packages); exports and cd carry over between phases; the artifact is zipped to
// S3; the phases, the exported variables and the logs are where CodeBuild puts them.
func TestBuildRunsTheAWSCLIAsItsServiceRole(t *testing.T) {
	e := startBuilds(t)
	ctx := context.Background()
	spec := `version: 0.2
env:
  variables:
    GREETING: hello
    STAGE: buildspec
  exported-variables: [RESULT]
phases:
  install:
    commands:
      - export RESULT=installed
      - mkdir -p out && cd out
  build:
    commands:
      - pwd | grep -q '/out$'
      - echo "$GREETING from $STAGE" > greeting.txt
      - aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp greeting.txt s3://build-bucket/from-build/greeting.txt
      - aws --endpoint-url "$AWS_ENDPOINT_URL" sagemaker list-model-packages > packages.json
      - aws --endpoint-url "$AWS_ENDPOINT_URL" sts get-caller-identity --query Arn --output text > who.txt
      - export RESULT="$RESULT,built"
    finally:
      - echo finally ran
  post_build:
    commands:
      - test -x "$(command -v slipway || command -v app.test)"
reports:
  r: {files: [x.xml]}
artifacts:
  files: ['**/*']
  base-directory: out
`
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("src/source.zip"),
		Body: bytes.NewReader(zipFiles(t, map[string]string{"buildspec.yml": spec, "input.txt": "x"}))})
	must(t, err)
	e.project(t, "cli", cbtypes.ProjectSource{Type: cbtypes.SourceTypeS3, Location: aws.String(e.bucket + "/src/source.zip")},
		cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeS3, Location: aws.String(e.bucket), Name: aws.String("out.zip"), Packaging: cbtypes.ArtifactPackagingZip})
	st, err := e.cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("cli"),
		EnvironmentVariablesOverride: []cbtypes.EnvironmentVariable{{Name: aws.String("STAGE"), Value: aws.String("override"), Type: cbtypes.EnvironmentVariableTypePlaintext}}})
	must(t, err)
	b := e.wait(t, *st.Build.Id)
	logs := e.logs(t, b)
	if b.BuildStatus != cbtypes.StatusTypeSucceeded {
		t.Fatalf("build %s: %+v\nlogs:\n%s", b.BuildStatus, b.Phases, logs)
	}
	var types []string
	for _, p := range b.Phases {
		types = append(types, string(p.PhaseType))
		if p.PhaseType != cbtypes.BuildPhaseTypeCompleted && p.PhaseStatus != cbtypes.StatusTypeSucceeded {
			t.Errorf("phase %s: %s", p.PhaseType, p.PhaseStatus)
		}
	}
	if got := strings.Join(types, ","); got != "SUBMITTED,DOWNLOAD_SOURCE,INSTALL,PRE_BUILD,BUILD,POST_BUILD,UPLOAD_ARTIFACTS,FINALIZING,COMPLETED" {
		t.Errorf("phases = %s", got)
	}
	if b.Logs == nil || aws.ToString(b.Logs.GroupName) != "/aws/codebuild/cli" || !strings.HasSuffix(*b.Id, ":"+aws.ToString(b.Logs.StreamName)) {
		t.Errorf("logs = %+v", b.Logs)
	}
	if len(b.ExportedEnvironmentVariables) != 1 || aws.ToString(b.ExportedEnvironmentVariables[0].Value) != "installed,built" {
		t.Errorf("exported = %+v", b.ExportedEnvironmentVariables)
	}
	obj, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("from-build/greeting.txt")})
	must(t, err)
	got, _ := io.ReadAll(obj.Body)
	if string(got) != "hello from override\n" {
		t.Errorf("the object the build copied = %q", got)
	}
	art, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("out.zip")})
	must(t, err)
	data, _ := io.ReadAll(art.Body)
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	must(t, err)
	members := map[string]string{}
	for _, f := range z.File {
		rc, err := f.Open()
		must(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		must(t, err)
		members[f.Name] = string(b)
	}
	if !strings.Contains(members["who.txt"], ":assumed-role/build/") || !strings.Contains(members["packages.json"], "ModelPackageSummaryList") {
		t.Errorf("artifact members = %v", members)
	}
	for _, want := range []string{"Running command aws --endpoint-url", "finally ran", "reports are ignored", "Entering phase BUILD"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// TestFailingBuildNamesItsCommand: the failing command and its exit status are in the phase's
// context; post_build still runs (CODEBUILD_BUILD_SUCCEEDING=0); nothing is uploaded; an
// invalid buildspec fails at DOWNLOAD_SOURCE naming the path.
func TestFailingBuildNamesItsCommand(t *testing.T) {
	e := startBuilds(t)
	ctx := context.Background()
	e.project(t, "fail", cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String(`version: 0.2
phases:
  build:
    commands:
      - echo before
      - sh -c 'exit 3' # the failing one
      - echo never
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files: ['*']
`)}, cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeS3, Location: aws.String(e.bucket), Name: aws.String("never.zip"), Packaging: cbtypes.ArtifactPackagingZip})
	st, err := e.cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("fail")})
	must(t, err)
	b := e.wait(t, *st.Build.Id)
	if b.BuildStatus != cbtypes.StatusTypeFailed {
		t.Fatalf("status = %s", b.BuildStatus)
	}
	var ctxs []string
	for _, p := range b.Phases {
		if p.PhaseType == cbtypes.BuildPhaseTypeBuild {
			for _, c := range p.Contexts {
				ctxs = append(ctxs, aws.ToString(c.StatusCode)+": "+aws.ToString(c.Message))
			}
		}
	}
	want := "COMMAND_EXECUTION_ERROR: Error while executing command: sh -c 'exit 3'. Reason: exit status 3"
	if len(ctxs) != 1 || ctxs[0] != want {
		t.Errorf("BUILD contexts = %q, want %q", ctxs, want)
	}
	logs := e.logs(t, b)
	if !strings.Contains(logs, "succeeding=0") || strings.Contains(logs, "\nnever\n") {
		t.Errorf("logs:\n%s", logs)
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("never.zip")}); err == nil {
		t.Error("a failed build uploaded its artifact")
	}

	// An invalid buildspec override: refused at StartBuild, naming the path.
	_, err = e.cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("fail"), BuildspecOverride: aws.String("version: 0.2\nphases:\n  compile:\n    commands: [ls]\n")})
	if code(err) != "InvalidInputException" || !strings.Contains(err.Error(), "phases.compile") {
		t.Errorf("an invalid buildspecOverride: %v", err)
	}
	// A buildspec file with an error, in an S3 source: the build fails at DOWNLOAD_SOURCE.
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("bad.zip"),
		Body: bytes.NewReader(zipFiles(t, map[string]string{"buildspec.yml": "version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n"}))})
	must(t, err)
	e.project(t, "bad", cbtypes.ProjectSource{Type: cbtypes.SourceTypeS3, Location: aws.String(e.bucket + "/bad.zip")}, cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts})
	st, err = e.cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("bad")})
	must(t, err)
	b = e.wait(t, *st.Build.Id)
	last := b.Phases[1]
	if b.BuildStatus != cbtypes.StatusTypeFailed || last.PhaseType != cbtypes.BuildPhaseTypeDownloadSource || len(last.Contexts) == 0 ||
		!strings.Contains(aws.ToString(last.Contexts[0].Message), "phases.build.on-failure") {
		t.Errorf("a bad buildspec file: %s %+v", b.BuildStatus, b.Phases)
	}
}
