package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
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

// TestBuildSurvivesServerKill SIGKILLs the server while a build's phase runs and starts it
// again on the same data directory and address: the phase ran once, the restarted server
// re-attached to it, the build's credentials still work after the restart (the Debian aws CLI
// copies a file as the service role), each log line is in the stream once, and the build
// ends SUCCEEDED.
func TestBuildSurvivesServerKill(t *testing.T) {
	requireExecutable(t, "/usr/bin/aws", "apt-get install awscli")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	marks := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t)) // both servers listen here, as a real one would
	s := launch(t, dataDir, launchOptions{waitCredentials: true, listen: addr})
	ds := readProfile(t, s.Creds, "data-science")
	cfg := sdkConfig(s.URL, ds)
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("builder"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("builder"), PolicyName: aws.String("s3"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	s3c := func(cfg aws.Config) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	}
	if _, err := s3c(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kill-builds")}); err != nil {
		t.Fatal(err)
	}
	spec := `version: 0.2
phases:
  build:
    commands:
      - echo ran >> "$MARKS/ran"
      - echo before
      - while [ ! -f "$MARKS/release" ]; do sleep 0.05; done
      - echo after > after.txt
      - aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp after.txt s3://kill-builds/after.txt
  post_build:
    commands:
      - echo post
`
	cb := codebuild.NewFromConfig(cfg)
	_, err = cb.CreateProject(ctx, &codebuild.CreateProjectInput{Name: aws.String("killed"),
		Source:    &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts: &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
		Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"),
			ComputeType: cbtypes.ComputeTypeBuildGeneral1Small, EnvironmentVariables: []cbtypes.EnvironmentVariable{{Name: aws.String("MARKS"), Value: aws.String(marks)}}},
		ServiceRole: role.Role.Arn})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("killed")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { _, err := os.Stat(filepath.Join(marks, "ran")); return err == nil })
	s.kill()
	s = launch(t, dataDir, launchOptions{listen: addr})
	if err := os.WriteFile(filepath.Join(marks, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg = sdkConfig(s.URL, ds)
	cb = codebuild.NewFromConfig(cfg)
	var b cbtypes.Build
	waitFor(t, ctx, func() bool {
		out, err := cb.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{*st.Build.Id}})
		if err != nil || len(out.Builds) != 1 {
			return false
		}
		b = out.Builds[0]
		return b.BuildComplete
	})
	lg, err := cloudwatchlogs.NewFromConfig(cfg).GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range lg.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	logs := strings.Join(lines, "\n") + "\n"
	if b.BuildStatus != cbtypes.StatusTypeSucceeded {
		t.Fatalf("after the kill the build ended %s: %+v\nlogs:\n%s", b.BuildStatus, b.Phases, logs)
	}
	if raw, _ := os.ReadFile(filepath.Join(marks, "ran")); strings.Count(string(raw), "ran") != 1 {
		t.Errorf("the phase ran %d times, want once", strings.Count(string(raw), "ran"))
	}
	obj, err := s3c(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kill-builds"), Key: aws.String("after.txt")})
	if err != nil {
		t.Fatalf("the build's copy after the restart: %v\nlogs:\n%s", err, logs)
	}
	body, _ := io.ReadAll(obj.Body)
	if string(body) != "after\n" {
		t.Errorf("after.txt = %q", body)
	}
	// The phase ran once (above); its log lines reach CloudWatch Logs at least once: lines
	// copied after the last saved offset and before the kill are copied again by the restarted
	// server (the offset is saved apart from the log write).
	if n := strings.Count(logs, "\nbefore\n"); n < 1 || n > 2 {
		t.Errorf("%q is in the log %d times, want once or, copied again after the kill, twice:\n%s", "before", n, logs)
	}
	if n := strings.Count(logs, "\npost\n"); n != 1 {
		t.Errorf("%q is in the log %d times, want once (its phase ran after the restart):\n%s", "post", n, logs)
	}
}
