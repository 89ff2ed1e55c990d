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
	// The phase ran once (above), and each of its lines is in the log once: the restarted
	// server copies the phase's output again from its last saved offset, and the logs skip
	// what they hold already.
	if n := strings.Count(logs, "\nbefore\n"); n != 1 {
		t.Errorf("%q is in the log %d times, want once:\n%s", "before", n, logs)
	}
	if n := strings.Count(logs, "\npost\n"); n != 1 {
		t.Errorf("%q is in the log %d times, want once (its phase ran after the restart):\n%s", "post", n, logs)
	}
}

// TestBuildLogsOnceAcrossKills SIGKILLs the server twice while a build's phase prints
// numbered lines, each time after the log has gained lines since the last start: a server
// killed between appending lines and recording how far it copied must not copy them again, so
// GetLogEvents ends with every number once, in order, and the engine's own lines ("Entering
// phase …") once each.
func TestBuildLogsOnceAcrossKills(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const lines = 120
	c := launchCrashing(t, filepath.Join(t.TempDir(), "data"), launchOptions{listen: "127.0.0.1:" + strconv.Itoa(freePort(t))})
	cfg := c.config("data-science")
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("counter"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	spec := `version: 0.2
phases:
  build:
    commands:
      - i=1; while [ $i -le ` + strconv.Itoa(lines) + ` ]; do echo "n=$i"; i=$((i+1)); sleep 0.03; done
`
	_, err = codebuild.NewFromConfig(cfg).CreateProject(ctx, &codebuild.CreateProjectInput{Name: aws.String("counter"),
		Source:    &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts: &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
		Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"),
			ComputeType: cbtypes.ComputeTypeBuildGeneral1Small},
		ServiceRole: role.Role.Arn})
	if err != nil {
		t.Fatal(err)
	}
	st, err := codebuild.NewFromConfig(cfg).StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("counter")})
	if err != nil {
		t.Fatal(err)
	}
	_, stream, _ := strings.Cut(aws.ToString(st.Build.Id), ":")
	group := "/aws/codebuild/counter"
	// read returns the stream's messages, every page of them (nil while the stream is missing).
	read := func() []string {
		lc := cloudwatchlogs.NewFromConfig(c.config("data-science"))
		var msgs []string
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
		for {
			out, err := lc.GetLogEvents(ctx, in)
			if err != nil {
				return nil
			}
			for _, e := range out.Events {
				msgs = append(msgs, aws.ToString(e.Message))
			}
			if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
				return msgs
			}
			in.NextToken = out.NextForwardToken
		}
	}
	numbered := func(msgs []string) int {
		n := 0
		for _, m := range msgs {
			if strings.HasPrefix(m, "n=") {
				n++
			}
		}
		return n
	}
	// Kill after the log gained lines under this server: the copier appended, and its saved
	// offset (written every few seconds) lags behind.
	for _, after := range []int{15, 60} {
		waitFor(t, ctx, func() bool { return numbered(read()) >= after })
		c.crash()
	}
	var b cbtypes.Build
	waitFor(t, ctx, func() bool {
		out, err := codebuild.NewFromConfig(c.config("data-science")).BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{*st.Build.Id}})
		if err != nil || len(out.Builds) != 1 {
			return false
		}
		b = out.Builds[0]
		return b.BuildComplete
	})
	msgs := read()
	all := strings.Join(msgs, "\n")
	if b.BuildStatus != cbtypes.StatusTypeSucceeded {
		t.Fatalf("the build ended %s after %d kills; logs:\n%s", b.BuildStatus, c.kills, all)
	}
	var got []int
	for _, m := range msgs {
		if v, ok := strings.CutPrefix(m, "n="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("log line %q", m)
			}
			got = append(got, n)
		}
	}
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("the numbered lines are %v, want 1 … %d each once, in order", got, lines)
		}
	}
	if len(got) != lines {
		t.Fatalf("the log has %d numbered lines, want %d:\n%s", len(got), lines, all)
	}
	// The engine's own lines: "Phase complete: BUILD" ends the BUILD phase and the build.
	for line, want := range map[string]int{"Entering phase BUILD": 1, "Phase complete: BUILD State: SUCCEEDED": 2} {
		if n := strings.Count(all, line); n != want {
			t.Errorf("%q is in the log %d times, want %d:\n%s", line, n, want, all)
		}
	}
}
