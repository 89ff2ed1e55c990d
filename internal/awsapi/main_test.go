package awsapi_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/cfnapi"
	"github.com/slipway-ml/slipway/internal/awsapi/cloudwatchapi"
	"github.com/slipway-ml/slipway/internal/awsapi/codebuildapi"
	"github.com/slipway-ml/slipway/internal/awsapi/codepipelineapi"
	"github.com/slipway-ml/slipway/internal/awsapi/eventsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/iamapi"
	"github.com/slipway-ml/slipway/internal/awsapi/logsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/orgsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/runtimeapi"
	"github.com/slipway-ml/slipway/internal/awsapi/s3api"
	"github.com/slipway-ml/slipway/internal/awsapi/sagemakerapi"
)

// TestMain gives the tests the error codes every service package declares, so that the wire
// tests assert the codes the server really sends. The services' dependencies stay nil: only
// their declarations are used, the tests bring their own handlers.
func TestMain(m *testing.M) {
	codes := map[string]awsapi.ErrorCodes{}
	for _, build := range []func() (*awsapi.Service, error){
		(&sagemakerapi.API{}).Service,
		(&iamapi.API{}).IAMService,
		(&iamapi.API{}).STSService,
		(&orgsapi.API{}).Service,
		(&runtimeapi.API{}).Service,
		(&logsapi.API{}).Service,
		(&cloudwatchapi.API{}).Service,
		(&eventsapi.API{}).Service,
		(&s3api.API{}).Service,
		(&cfnapi.API{}).Service,
		(&codepipelineapi.API{}).Service,
		(&codebuildapi.API{}).Service,
	} {
		svc, err := build()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		codes[svc.Name] = svc.Errors
	}
	for _, name := range awsapi.ModelNames() {
		if _, ok := codes[name]; !ok {
			fmt.Fprintf(os.Stderr, "no service package declares the error codes of %s: add its constructor to TestMain\n", name)
			os.Exit(1)
		}
	}
	awsapi.SetServiceErrors(codes)
	os.Exit(m.Run())
}
