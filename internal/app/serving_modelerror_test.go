package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/images"
)

// TestServingModelErrorsByStatus: a model server that answers 400 and one that answers 500 are
// both a ModelError (424) to the SDK, with the model's own status in OriginalStatusCode and its
// body in OriginalMessage; the first counts in AWS/SageMaker's Invocation4XXErrors, the second
// in Invocation5XXErrors, as SageMaker counts them. A request the platform refuses (a variant
// the endpoint does not have) is a ValidationError and counts in neither, nor as an invocation.
// The Go SDK and boto3 both read the error so.
func TestServingModelErrorsByStatus(t *testing.T) {
	ctx := context.Background()
	s, e := startWithFailingModels(t)

	statuses := []int{400, 500}
	name := func(status int) string { return fmt.Sprintf("answers-%d", status) }
	for _, status := range statuses {
		e.failingModel(name(status), status)
		_, err := e.admin.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name(status)),
			ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(name(status)),
				InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
		e.must(err)
		_, err = e.admin.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name(status)), EndpointConfigName: aws.String(name(status))})
		e.must(err)
	}
	for _, status := range statuses {
		waitInService(t, e.admin.sm, name(status))
	}

	for _, status := range statuses {
		_, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name(status)),
			ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
		var me *rttypes.ModelError
		var re *awshttp.ResponseError
		if !errors.As(err, &me) || !errors.As(err, &re) {
			t.Fatalf("the model answering %d: %v, want a ModelError", status, err)
		}
		if re.HTTPStatusCode() != 424 || aws.ToInt32(me.OriginalStatusCode) != int32(status) || aws.ToString(me.OriginalMessage) != "the model failed\n" ||
			!strings.Contains(me.ErrorMessage(), fmt.Sprintf("(%d) from primary", status)) {
			t.Errorf("the model answering %d: HTTP %d, OriginalStatusCode %d, OriginalMessage %q, message %q; want 424, %d, the model's body and a message naming the status",
				status, re.HTTPStatusCode(), aws.ToInt32(me.OriginalStatusCode), aws.ToString(me.OriginalMessage), me.ErrorMessage(), status)
		}
	}
	// boto3 (Debian's 1.26) reads the same shape: ClientError ModelError, the model's status and body.
	creds := s.profile["data-science"]
	cmd := exec.Command("/usr/bin/python3", "-c", `
import json, sys, boto3, botocore
rt = boto3.client("sagemaker-runtime", endpoint_url=sys.argv[1], region_name="us-east-1")
out = {}
for name in sys.argv[2:]:
    try:
        rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,2\n")
    except botocore.exceptions.ClientError as e:
        r = e.response
        out[name] = [r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r.get("OriginalStatusCode"), r.get("OriginalMessage")]
print(json.dumps(out))
`, s.url, name(400), name(500))
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, b)
	}
	want := fmt.Sprintf(`{"%s": ["ModelError", 424, 400, "the model failed\n"], "%s": ["ModelError", 424, 500, "the model failed\n"]}`, name(400), name(500))
	if got := strings.TrimSpace(string(b)); got != want {
		t.Errorf("boto3 sees\n %s\nwant\n %s", got, want)
	}

	// Refused by the platform: not the model's error, not an invocation of it.
	_, err = e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name(400)),
		ContentType: aws.String("text/csv"), TargetVariant: aws.String("Nope"), Body: []byte("1,2\n")})
	var ae smithy.APIError
	var me *rttypes.ModelError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || errors.As(err, &me) {
		t.Errorf("a variant the endpoint does not have: %v, want a ValidationError", err)
	}

	sum := func(endpoint, metric string) float64 {
		now := time.Now()
		var out struct{ Datapoints []struct{ Sum float64 } }
		e.must(alarmCall(ctx, e.admin.sm, "GetMetricStatistics", map[string]any{"Namespace": "AWS/SageMaker", "MetricName": metric,
			"Dimensions": []any{map[string]any{"Name": "EndpointName", "Value": endpoint}, map[string]any{"Name": "VariantName", "Value": "AllTraffic"}},
			"StartTime":  now.Add(-time.Hour).Unix(), "EndTime": now.Add(time.Hour).Unix(), "Period": 7200, "Statistics": []string{"Sum"}}, &out))
		total := 0.0
		for _, d := range out.Datapoints {
			total += d.Sum
		}
		return total
	}
	for _, c := range []struct {
		status                        int
		invocations, errors4, errors5 float64
	}{{400, 2, 2, 0}, {500, 2, 0, 2}} { // once through each SDK
		got := []float64{sum(name(c.status), "Invocations"), sum(name(c.status), "Invocation4XXErrors"), sum(name(c.status), "Invocation5XXErrors")}
		if want := []float64{c.invocations, c.errors4, c.errors5}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the model answering %d: Invocations, Invocation4XXErrors, Invocation5XXErrors = %v, want %v", c.status, got, want)
		}
	}
}

// startWithFailingModels starts a server on which images example.com/failing-model:* run
// testdata/failing_serve.py, a model server that answers every inference with the HTTP status
// its artifact names, and answers it with an authzEnv of its data-science account.
func startWithFailingModels(t *testing.T) (*server, *authzEnv) {
	t.Helper()
	script, err := filepath.Abs("testdata/failing_serve.py")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Images = []images.Mapping{{Image: "example.com/failing-model:*", Command: []string{"/usr/bin/python3", script}, Env: map[string]string{"PYTHONUNBUFFERED": "1"}}}
	s := startConfig(t, cfg, testWriter{t})
	return s, &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
}

// failingModel makes the model name of image example.com/failing-model:1, whose artifact makes
// it answer every inference with status.
func (e *authzEnv) failingModel(name string, status int) {
	e.t.Helper()
	ctx := context.Background()
	_, role := e.servingArtifact()
	key := "failing/" + name + "/model.tar.gz"
	_, err := e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("authz-serving"), Key: aws.String(key),
		Body: bytes.NewReader(tarGz(e.t, map[string]string{"status.txt": fmt.Sprintf("%d\n", status)}))})
	e.must(err)
	_, err = e.admin.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(name), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("example.com/failing-model:1"), ModelDataUrl: aws.String("s3://authz-serving/" + key)}})
	e.must(err)
}
