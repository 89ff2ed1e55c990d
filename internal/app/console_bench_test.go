package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// BenchmarkConsoleRegistryPage is the group page of a group of 1,000 versions, each with a
// metrics report (the page reads the newest 50 and charts them), the target: under
// 200 ms of server time: go test ./internal/app -run XXX -bench ConsoleRegistryPage
func BenchmarkConsoleRegistryPage(b *testing.B) {
	s := startConsole(b)
	ctx := context.Background()
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	s3c := clientsOf(s.cfg("data-science")).s3
	bucket := "metrics-" + s.account["data-science"]
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	mustDo(b, err)
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("evaluation.json"),
		Body: strings.NewReader(`{"regression_metrics":{"mse":{"value":4.5,"standard_deviation":0.5},"r2":{"value":0.8}}}`)})
	mustDo(b, err)
	_, err = sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("big")})
	mustDo(b, err)
	for i := 0; i < 1000; i++ {
		_, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("big"),
			ModelPackageDescription: aws.String("a version"), ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval,
			InferenceSpecification: &smtypes.InferenceSpecification{
				Containers:            []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost")}},
				SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"},
			},
			ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{
				ContentType: aws.String("application/json"), S3Uri: aws.String("s3://" + bucket + "/evaluation.json")}}}})
		mustDo(b, err)
	}
	ds := s.profile["data-science"]
	br := signedIn(b, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	consoleBenchPage(b, br, "/console/registry/big", `href="/console/registry/big/1000"`)
	b.StopTimer()
	if p := br.get("/console/registry/big"); !strings.Contains(p.body, "<figcaption>mse</figcaption>") {
		b.Fatalf("the group page charts no metric:\n%.2000s", p.body)
	}
}

// BenchmarkConsoleExecutionPage100 is the page of an execution of a 100-step pipeline (each
// step depends on the two before it), all its steps succeeded: the execution, its steps, its
// definition and the DAG drawn (the target: under 200 ms of server time):
// go test ./internal/app -run XXX -bench ConsoleExecutionPage100
func BenchmarkConsoleExecutionPage100(b *testing.B) {
	s := startConsole(b)
	ctx := context.Background()
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	c := iam.NewFromConfig(s.cfg("data-science"))
	r, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipelines"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	mustDo(b, err)
	var steps []string
	for i := 0; i < 100; i++ {
		deps := ""
		if i > 1 {
			deps = fmt.Sprintf(`,"DependsOn":["S%d","S%d"]`, i-1, i-2)
		} else if i == 1 {
			deps = `,"DependsOn":["S0"]`
		}
		steps = append(steps, fmt.Sprintf(`{"Name":"S%d","Type":"Condition","Arguments":{"Conditions":[{"Type":"Equals","LeftValue":1,"RightValue":1}],"IfSteps":[],"ElseSteps":[]}%s}`, i, deps))
	}
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("big"), RoleArn: r.Role.Arn, ClientRequestToken: token(),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Steps":[` + strings.Join(steps, ",") + `]}`)})
	mustDo(b, err)
	out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("big"), ClientRequestToken: token()})
	mustDo(b, err)
	if d := waitExecution(b, sm, *out.PipelineExecutionArn, 120*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		b.Fatalf("the 100-step execution: %s", d.PipelineExecutionStatus)
	}
	arn := *out.PipelineExecutionArn
	ds := s.profile["data-science"]
	br := signedIn(b, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	consoleBenchPage(b, br, "/console/pipelines/big/executions/"+arn[strings.LastIndex(arn, "/")+1:], `data-state-of="step:S99" data-state="Succeeded"`)
}

// consoleBenchPage gets a page b.N times: ns/op is a request to its last byte; ttfb-ms/op
// the time to its first byte; full-ms/op the page and then what a browser loads with it
// (the stylesheet, the script and the icon), one after the other.
func consoleBenchPage(b *testing.B, br *browser, path, want string) {
	b.Helper()
	var first, full time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, br.base+path, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotFirstResponseByte: func() { first += time.Since(start) }}))
		if p := br.do(req); p.status != http.StatusOK || !strings.Contains(p.body, want) {
			b.Fatalf("GET %s: %d, want 200 with %q", path, p.status, want)
		}
		b.StopTimer() // ns/op is the page alone
		for _, asset := range []string{"/console/static/console.css", "/console/static/console.js", "/console/static/favicon.svg"} {
			if p := br.get(asset); p.status != http.StatusOK {
				b.Fatalf("GET %s: %d", asset, p.status)
			}
		}
		full += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(first.Seconds()*1000/float64(b.N), "ttfb-ms/op")
	b.ReportMetric(full.Seconds()*1000/float64(b.N), "full-ms/op")
}

// BenchmarkConsoleVersionPage is a version's page with its whole lineage: the version, its
// metrics, the execution, its steps and definition, the training and processing jobs, and the
// "where" view's reads across the organization's three accounts (role sessions reused):
// go test ./internal/app -run XXX -bench ConsoleVersionPage
func BenchmarkConsoleVersionPage(b *testing.B) {
	s := startConsole(b)
	ctx := context.Background()
	e := &authzEnv{admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	sm := e.admin.sm
	bucket := "lineage-" + e.account
	r, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bench-pipelines"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	mustDo(b, err)
	role := *r.Role.Arn
	_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("bench-pipelines"), PolicyName: aws.String("run"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:*","s3:*","iam:PassRole"],"Resource":"*"}]}`)})
	mustDo(b, err)
	_, err = e.admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	mustDo(b, err)
	_, err = sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("traced")})
	mustDo(b, err)
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("lineagebuild"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(lineageDefinition(role, bucket, "traced")), ClientRequestToken: token()})
	mustDo(b, err)
	out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("lineagebuild"), ClientRequestToken: token()})
	mustDo(b, err)
	if d := waitExecution(b, sm, *out.PipelineExecutionArn, 120*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		b.Fatalf("the build: %s", d.PipelineExecutionStatus)
	}
	ds := s.profile["data-science"]
	br := signedIn(b, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	br.get("/console/registry/traced/1") // assumes the where view's role sessions once
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := br.get("/console/registry/traced/1"); p.status != http.StatusOK || !strings.Contains(p.body, `data-lineage="training"`) {
			b.Fatalf("version page: %d", p.status)
		}
	}
}
