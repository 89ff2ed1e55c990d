package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
