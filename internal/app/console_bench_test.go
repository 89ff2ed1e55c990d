package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// BenchmarkConsoleRegistryPage is the group page of a group of 1,000 versions (the issue's
// target: under 200 ms of server time): go test ./internal/app -run XXX -bench ConsoleRegistryPage
func BenchmarkConsoleRegistryPage(b *testing.B) {
	s := startConsole(b)
	ctx := context.Background()
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	_, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("big")})
	mustDo(b, err)
	for i := 0; i < 1000; i++ {
		_, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("big"),
			ModelPackageDescription: aws.String("a version"), ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval,
			InferenceSpecification: &smtypes.InferenceSpecification{
				Containers:            []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost")}},
				SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"},
			}})
		mustDo(b, err)
	}
	ds := s.profile["data-science"]
	br := signedIn(b, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := br.get("/console/registry/big"); p.status != http.StatusOK {
			b.Fatalf("group page: %d", p.status)
		}
	}
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
