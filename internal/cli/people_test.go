package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// peopleServer is an in-process Slipway on a loopback port that the CLI reaches over HTTP
// with the profiles of a credentials file.
type peopleServer struct {
	url, creds string
	account    string // data-science's
}

func startPeopleServer(t *testing.T) *peopleServer {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	t.Cleanup(func() { hs.Close(); a.Close() })
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	return &peopleServer{url: hs.URL, creds: a.CredentialsPath(), account: profiles["data-science"].Account}
}

// cfg is an SDK configuration for a profile of the server's credentials file.
func (s *peopleServer) cfg(t *testing.T, profile string) aws.Config {
	profiles, err := credfile.ReadFile(s.creds)
	if err != nil {
		t.Fatal(err)
	}
	p := profiles[profile]
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")}
}

// run runs the CLI against the server with the credentials file and returns its exit code,
// stdout and stderr.
func (s *peopleServer) run(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	args = append(args, "--endpoint", s.url, "--credentials", s.creds)
	code := Run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// user adds a user of data-science with one inline policy to the credentials file as a profile.
func (s *peopleServer) user(t *testing.T, name, policy string) {
	ctx := context.Background()
	c := iam.NewFromConfig(s.cfg(t, "data-science"))
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	must(t, err)
	_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
	must(t, err)
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	must(t, err)
	f, err := os.OpenFile(s.creds, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	fmt.Fprintf(f, "\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", name, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey)
	must(t, f.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantRun(t *testing.T, code int, stdout, stderr string, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, wantCode, stdout, stderr)
	}
	for _, w := range wants {
		if !strings.Contains(stdout+stderr, w) {
			t.Errorf("output lacks %q; stdout:\n%s\nstderr:\n%s", w, stdout, stderr)
		}
	}
}

// TestModelsCommands registers two versions with metrics and drives the registry from the CLI:
// list, show, approve, reject; a reviewer without sagemaker:UpdateModelPackage is refused and
// nothing changes; every --output json parses.
func TestModelsCommands(t *testing.T) {
	s := startPeopleServer(t)
	ctx := context.Background()
	sm := sagemaker.NewFromConfig(s.cfg(t, "data-science"))
	s3c := s3.NewFromConfig(s.cfg(t, "data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "eval-" + s.account
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must(t, err)
	_, err = sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")})
	must(t, err)
	var arns []string
	for i, mse := range []float64{4.25, 3.5} {
		key := fmt.Sprintf("v%d/evaluation.json", i+1)
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: strings.NewReader(fmt.Sprintf(`{"regression_metrics":{"mse":{"value":%g,"standard_deviation":0.1},"r2":{"value":0.5}}}`, mse))})
		must(t, err)
		p, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone"),
			InferenceSpecification: &smtypes.InferenceSpecification{Containers: []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost:1.7"),
				ModelDataUrl: aws.String("s3://" + bucket + "/model.tar.gz")}}, SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}},
			ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{ContentType: aws.String("application/json"),
				S3Uri: aws.String("s3://" + bucket + "/" + key)}}}})
		must(t, err)
		arns = append(arns, *p.ModelPackageArn)
	}
	approval := func(arn string) (string, string) {
		d, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
		must(t, err)
		return string(d.ModelApprovalStatus), aws.ToString(d.ApprovalDescription)
	}

	code, out, errOut := s.run(ctx, "models", "list")
	wantRun(t, code, out, errOut, 0, "GROUP", "abalone")
	if !strings.Contains(out, "abalone  2 ") {
		t.Errorf("the groups table lacks abalone with 2 versions:\n%s", out)
	}
	code, out, errOut = s.run(ctx, "models", "list", "abalone")
	wantRun(t, code, out, errOut, 0, "VERSION", "mse 4.25", "mse 3.5", "PendingManualApproval", "just now")

	code, out, errOut = s.run(ctx, "models", "approve", "abalone/1", "--comment", "mse 4.25 on the held-out set")
	wantRun(t, code, out, errOut, 0, "abalone/1: PendingManualApproval → Approved by arn:aws:iam::"+s.account)
	if st, c := approval(arns[0]); st != "Approved" || c != "mse 4.25 on the held-out set" {
		t.Errorf("after approve: %s %q", st, c)
	}
	code, out, errOut = s.run(ctx, "models", "show", "abalone/1")
	wantRun(t, code, out, errOut, 0, arns[0], "Approved, set by arn:aws:iam::", "comment        mse 4.25 on the held-out set",
		"metrics        mse 4.25  r2 0.5", "lineage        (not registered by a pipeline)", "deployed       (no endpoint of this account serves it)")
	code, out, errOut = s.run(ctx, "models", "reject", "abalone/1", "--comment", "drifted")
	wantRun(t, code, out, errOut, 0, "abalone/1: Approved → Rejected")
	if st, c := approval(arns[0]); st != "Rejected" || c != "drifted" {
		t.Errorf("after reject: %s %q", st, c)
	}

	// A reviewer who may read but not update is refused with the reason; nothing changes.
	s.user(t, "viewer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*"],"Resource":"*"}]}`)
	code, out, errOut = s.run(ctx, "models", "approve", "abalone/2", "--comment", "lgtm", "--profile", "viewer")
	wantRun(t, code, out, errOut, 1, "slipway models: you are not allowed to approve abalone/2: ", "sagemaker:UpdateModelPackage")
	if st, c := approval(arns[1]); st != "PendingManualApproval" || c != "" {
		t.Errorf("a refused approval changed the version: %s %q", st, c)
	}

	// Scripts: every --output json parses, with the fields they need.
	code, out, errOut = s.run(ctx, "models", "list", "--output", "json")
	wantRun(t, code, out, errOut, 0)
	var groups []groupJSON
	if err := json.Unmarshal([]byte(out), &groups); err != nil || len(groups) != 1 || groups[0].Versions != 2 || groups[0].LatestApproval != "PendingManualApproval" {
		t.Errorf("models list --output json: %v %+v\n%s", err, groups, out)
	}
	code, out, errOut = s.run(ctx, "models", "list", "abalone", "--output", "json")
	wantRun(t, code, out, errOut, 0)
	var versions []versionJSON
	if err := json.Unmarshal([]byte(out), &versions); err != nil || len(versions) != 2 || versions[0].Approval != "Rejected" ||
		versions[1].KeyMetric == nil || versions[1].KeyMetric.Value != 3.5 {
		t.Errorf("models list abalone --output json: %v %+v\n%s", err, versions, out)
	}
	code, out, errOut = s.run(ctx, "models", "show", "abalone/2", "--output", "json")
	wantRun(t, code, out, errOut, 0)
	var shown map[string]any
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown["arn"] != arns[1] || len(shown["metrics"].([]any)) != 2 {
		t.Errorf("models show --output json: %v %v\n%s", err, shown, out)
	}
	code, out, errOut = s.run(ctx, "models", "approve", "abalone/2", "--output", "json")
	wantRun(t, code, out, errOut, 0)
	var decided modelsDecision
	if err := json.Unmarshal([]byte(out), &decided); err != nil || decided.Previous != "PendingManualApproval" || decided.Approval != "Approved" {
		t.Errorf("models approve --output json: %v %+v\n%s", err, decided, out)
	}

	// Bad command lines are usage errors (2); an unknown version is a failure (1).
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"models", "approve"}, 2, "want one model version"},
		{[]string{"models", "approve", "abalone"}, 2, `"abalone" is not GROUP/VERSION`},
		{[]string{"models", "show", "abalone/0"}, 2, "is not GROUP/VERSION"},
		{[]string{"models", "list", "--output", "yaml"}, 2, `--output "yaml": want text or json`},
		{[]string{"models", "promote", "abalone/1"}, 2, `unknown subcommand "promote"`},
		{[]string{"models", "approve", "abalone/9"}, 1, "model package group abalone has no version 9"},
	} {
		code, out, errOut := s.run(ctx, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q (stdout %q); want exit %d and %q", strings.Join(tc.args, " "), code, errOut, out, tc.code, tc.want)
		}
	}
}

// TestDeploymentsCommands runs a deploy pipeline (Source from S3, then a manual approval) and
// drives it from the CLI: watched live, listed while the approval waits, a principal without
// codepipeline:PutApprovalResult refused, approved; a second execution rejected (watch exits
// 1); approving when nothing waits is a clear error.
func TestDeploymentsCommands(t *testing.T) {
	s := startPeopleServer(t)
	ctx := context.Background()
	ds := s.cfg(t, "data-science")
	ic, s3c, cp := iam.NewFromConfig(ds), s3.NewFromConfig(ds, func(o *s3.Options) { o.UsePathStyle = true }), codepipeline.NewFromConfig(ds)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must(t, err)
	_, err = ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	must(t, err)
	artifacts, source := "artifacts-"+s.account, "source-"+s.account
	for _, b := range []string{artifacts, source} {
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		must(t, err)
	}
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(source), Key: aws.String("deploy/config.json"), Body: strings.NewReader(`{"instances":1}`)})
	must(t, err)
	s.user(t, "scientist", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`)
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: &cptypes.PipelineDeclaration{Name: aws.String("model-deploy"), RoleArn: role.Role.Arn,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(artifacts)},
		Stages: []cptypes.StageDeclaration{
			{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Config"),
				ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
				Configuration:   map[string]string{"S3Bucket": source, "S3ObjectKey": "deploy/config.json", "PollForSourceChanges": "false"},
				OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("SourceOutput")}}}}},
			{Name: aws.String("ApproveDeployment"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Approve"),
				ActionTypeId:  &cptypes.ActionTypeId{Category: cptypes.ActionCategoryApproval, Owner: cptypes.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")},
				Configuration: map[string]string{"CustomData": "Check staging first", "ExternalEntityLink": "https://example.com/staging"}}}},
		}}})
	must(t, err)

	// The watch starts with the execution CreatePipeline started and follows it to its end.
	type result struct {
		code        int
		out, errOut string
	}
	// The watch's output so far, readable while it runs: the approval is given only once the
	// watch has shown the wait (on a busy machine one poll can outlast a quick approval).
	var liveMu sync.Mutex
	var live bytes.Buffer
	watch := func(args ...string) chan result {
		ch := make(chan result, 1)
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		liveMu.Lock()
		live.Reset()
		liveMu.Unlock()
		go func() {
			defer cancel()
			var errb bytes.Buffer
			code := Run(wctx, append([]string{"deployments", "watch", "model-deploy", "--poll", "20ms"}, append(args, "--endpoint", s.url, "--credentials", s.creds)...),
				peopleLiveWriter{&liveMu, &live}, &errb)
			liveMu.Lock()
			defer liveMu.Unlock()
			ch <- result{code, live.String(), errb.String()}
		}()
		return ch
	}
	watchShows := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			liveMu.Lock()
			got := live.String()
			liveMu.Unlock()
			if strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the watch never showed %q; it showed:\n%s", want, got)
			}
		}
	}
	watched := watch()
	waitWaiting(t, cp, "model-deploy")
	watchShows("waiting for approval")
	code, out, errOut := s.run(ctx, "deployments", "list")
	wantRun(t, code, out, errOut, 0, "PIPELINE", "model-deploy", "Succeeded", "WaitingForApproval (Approve)")

	code, out, errOut = s.run(ctx, "deployments", "approve", "model-deploy", "--summary", "fine by me", "--profile", "scientist")
	wantRun(t, code, out, errOut, 1, "slipway deployments: you are not allowed to approve ApproveDeployment/Approve of pipeline model-deploy: ", "codepipeline:PutApprovalResult")
	if !stillWaiting(t, cp, "model-deploy") {
		t.Fatal("a refused approval ended the wait")
	}
	code, out, errOut = s.run(ctx, "deployments", "approve", "model-deploy", "--stage", "Source")
	wantRun(t, code, out, errOut, 1, "nothing waits for approval in pipeline model-deploy (Source)")
	code, out, errOut = s.run(ctx, "deployments", "approve", "model-deploy", "--summary", "staging looks good")
	wantRun(t, code, out, errOut, 0, "approved ApproveDeployment/Approve of model-deploy, execution ", "by arn:aws:iam::"+s.account, ": staging looks good")
	r := <-watched
	wantRun(t, r.code, r.out, r.errOut, 0, "pipeline model-deploy, execution ", "Source/Config", "Succeeded",
		"waiting for approval: Check staging first (https://example.com/staging)",
		"approved by arn:aws:iam::"+s.account, ": staging looks good", "execution Succeeded in ")
	code, out, errOut = s.run(ctx, "deployments", "approve", "model-deploy")
	wantRun(t, code, out, errOut, 1, "nothing waits for approval in pipeline model-deploy")

	// A second execution, rejected: the watch (by id, in json) reports the failure and exits 1.
	started, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("model-deploy")})
	must(t, err)
	watched = watch(*started.PipelineExecutionId, "--output", "json")
	waitWaiting(t, cp, "model-deploy")
	code, out, errOut = s.run(ctx, "deployments", "list", "--output", "json")
	wantRun(t, code, out, errOut, 0)
	var listed []deployPipeline
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 || len(listed[0].Stages) != 2 ||
		listed[0].Stages[1].Waiting != "Approve" || listed[0].Stages[1].ExecutionID != *started.PipelineExecutionId {
		t.Errorf("deployments list --output json: %v %+v\n%s", err, listed, out)
	}
	code, out, errOut = s.run(ctx, "deployments", "reject", "model-deploy", "--summary", "latency doubled", "--output", "json")
	wantRun(t, code, out, errOut, 0)
	var decision deploymentDecision
	if err := json.Unmarshal([]byte(out), &decision); err != nil || decision.Status != "Rejected" || decision.ExecutionID != *started.PipelineExecutionId {
		t.Errorf("deployments reject --output json: %v %+v\n%s", err, decision, out)
	}
	r = <-watched
	wantRun(t, r.code, r.out, r.errOut, 1, "slipway deployments: the execution failed")
	var x deployExecution
	if err := json.Unmarshal([]byte(r.out), &x); err != nil || x.Status != "Failed" || len(x.Actions) != 2 ||
		x.Actions[1].Status != "Failed" || x.Actions[1].Summary != "latency doubled" || !strings.HasPrefix(x.Actions[1].UpdatedBy, "arn:aws:iam::"+s.account) {
		t.Errorf("deployments watch --output json: %v %+v\n%s", err, x, r.out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deployments", "watch"}, 2, "want a pipeline name"},
		{[]string{"deployments", "approve"}, 2, "want one pipeline name"},
		{[]string{"deployments", "list", "extra"}, 2, "takes no arguments"},
		{[]string{"deployments", "watch", "nope"}, 1, "nope"},
	} {
		code, out, errOut := s.run(ctx, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q (stdout %q); want exit %d and %q", strings.Join(tc.args, " "), code, errOut, out, tc.code, tc.want)
		}
	}
}

// waitWaiting polls until an action of pipeline waits for approval.
func waitWaiting(t *testing.T, cp *codepipeline.Client, pipeline string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if stillWaiting(t, cp, pipeline) {
			return
		}
	}
	t.Fatalf("nothing of %s waited for approval", pipeline)
}

func stillWaiting(t *testing.T, cp *codepipeline.Client, pipeline string) bool {
	st, err := cp.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String(pipeline)})
	must(t, err)
	for _, s := range st.StageStates {
		for _, a := range s.ActionStates {
			if x := a.LatestExecution; x != nil && x.Status == cptypes.ActionExecutionStatusInProgress && aws.ToString(x.Token) != "" {
				return true
			}
		}
	}
	return false
}

// peopleLiveWriter is a writer the test reads while the command still writes to it.
type peopleLiveWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w peopleLiveWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
