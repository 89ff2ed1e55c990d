package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
)

// captureEndpoint makes an endpoint of the linear model whose configuration captures to dest.
func (e *authzEnv) captureEndpoint(dc *smtypes.DataCaptureConfig) string {
	ctx := context.Background()
	v := e.model()
	cfg, name := e.name("capconfig"), e.name("capendpoint")
	_, err := e.admin.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(cfg), DataCaptureConfig: dc,
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(v["ModelName"]),
			InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
	e.must(err)
	_, err = e.admin.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(cfg)})
	e.must(err)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		e.must(err)
		if d.EndpointStatus == smtypes.EndpointStatusInService {
			return name
		}
		if d.EndpointStatus == smtypes.EndpointStatusFailed || time.Now().After(deadline) {
			e.t.Fatalf("endpoint %s: %s %s", name, d.EndpointStatus, aws.ToString(d.FailureReason))
		}
	}
}

func captureConfig(dest string, pct int32, modes ...smtypes.CaptureMode) *smtypes.DataCaptureConfig {
	dc := &smtypes.DataCaptureConfig{EnableCapture: aws.Bool(true), InitialSamplingPercentage: aws.Int32(pct), DestinationS3Uri: aws.String(dest),
		CaptureContentTypeHeader: &smtypes.CaptureContentTypeHeader{CsvContentTypes: []string{"text/csv"}}}
	for _, m := range modes {
		dc.CaptureOptions = append(dc.CaptureOptions, smtypes.CaptureOption{CaptureMode: m})
	}
	return dc
}

type captureLine struct {
	CaptureData struct {
		EndpointInput, EndpointOutput *struct{ ObservedContentType, Mode, Data, Encoding string }
	} `json:"captureData"`
	EventMetadata struct{ EventID, InferenceID, InferenceTime, CustomAttributes string } `json:"eventMetadata"`
	EventVersion  string                                                                 `json:"eventVersion"`
}

// TestServingDataCapture: an endpoint whose configuration captures input and output writes
// every invocation, as the model's execution role, in SageMaker's capture JSON Lines under
// prefix/EndpointName/VariantName/yyyy/mm/dd/hh/; DescribeEndpoint reports the capture. A
// destination the role may not write fails the capture visibly (counted, logged) and no
// invocation; bad DataCaptureConfigs are refused and create nothing; another account cannot
// invoke the endpoint (and so capture nothing into it).
func TestServingDataCapture(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	e.servingArtifact()
	for _, b := range []string{"capture-ok", "capture-denied"} {
		_, err := e.admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		e.must(err)
	}
	_, err := e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("authz-serving"), PolicyName: aws.String("capture"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::capture-ok/*"}]}`)})
	e.must(err)

	name := e.captureEndpoint(captureConfig("s3://capture-ok/dc/", 100, smtypes.CaptureModeInput, smtypes.CaptureModeOutput))
	d, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	e.must(err)
	if dc := d.DataCaptureConfig; dc == nil || !aws.ToBool(dc.EnableCapture) || dc.CaptureStatus != smtypes.CaptureStatusStarted ||
		aws.ToInt32(dc.CurrentSamplingPercentage) != 100 || aws.ToString(dc.DestinationS3Uri) != "s3://capture-ok/dc/" {
		t.Errorf("DescribeEndpoint's DataCaptureConfig = %+v", dc)
	}
	const n = 5
	for i := range n {
		out, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"),
			Body: fmt.Appendf(nil, "%d,1\n", i), InferenceId: aws.String(fmt.Sprintf("inf-%d", i)), CustomAttributes: aws.String("c=1")})
		e.must(err)
		if got, want := strings.TrimSpace(string(out.Body)), fmt.Sprint(i+3); got != want {
			t.Errorf("invocation %d answered %q, want %s", i, got, want)
		}
	}
	s.app.FlushDataCapture()
	objs, err := e.admin.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("capture-ok"), Prefix: aws.String("dc/")})
	e.must(err)
	keyRE := regexp.MustCompile(`^dc/` + name + `/AllTraffic/\d{4}/\d{2}/\d{2}/\d{2}/[0-9a-f-]{36}\.jsonl$`)
	var lines []captureLine
	for _, o := range objs.Contents {
		if !keyRE.MatchString(aws.ToString(o.Key)) {
			t.Errorf("capture object %s is not at prefix/endpoint/variant/yyyy/mm/dd/hh/<uuid>.jsonl", aws.ToString(o.Key))
		}
		g, err := e.admin.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("capture-ok"), Key: o.Key})
		e.must(err)
		b, _ := io.ReadAll(g.Body)
		g.Body.Close()
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var l captureLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("capture line %q: %v", sc.Text(), err)
			}
			lines = append(lines, l)
		}
	}
	if len(lines) != n {
		t.Fatalf("%d capture lines in %d objects, want %d", len(lines), len(objs.Contents), n)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		in, out := l.CaptureData.EndpointInput, l.CaptureData.EndpointOutput
		if in == nil || out == nil || l.EventVersion != "0" || l.EventMetadata.EventID == "" || l.EventMetadata.CustomAttributes != "c=1" {
			t.Fatalf("capture line %+v", l)
		}
		var i int
		if _, err := fmt.Sscanf(l.EventMetadata.InferenceID, "inf-%d", &i); err != nil || in.Data != fmt.Sprintf("%d,1\n", i) ||
			in.Encoding != "CSV" || in.Mode != "INPUT" || in.ObservedContentType != "text/csv" || out.Mode != "OUTPUT" {
			t.Errorf("capture line %d: %+v %+v", i, in, out)
		}
		data := out.Data
		if out.Encoding == "BASE64" {
			b, _ := base64.StdEncoding.DecodeString(data)
			data = string(b)
		}
		if strings.TrimSpace(data) != fmt.Sprint(i+3) {
			t.Errorf("captured output %+v, want %d", out, i+3)
		}
		if _, err := time.Parse(time.RFC3339, l.EventMetadata.InferenceTime); err != nil {
			t.Errorf("inferenceTime %q: %v", l.EventMetadata.InferenceTime, err)
		}
		seen[l.EventMetadata.InferenceID] = true
	}
	if len(seen) != n {
		t.Errorf("inference ids captured: %v", seen)
	}

	// A destination the role may not write: invocations succeed, the capture fails visibly.
	before := s.app.DataCaptureStats()
	denied := e.captureEndpoint(captureConfig("s3://capture-denied/x", 100, smtypes.CaptureModeInput))
	for range 3 {
		_, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(denied), ContentType: aws.String("text/csv"), Body: []byte("1,1\n")})
		e.must(err)
	}
	s.app.FlushDataCapture()
	after := s.app.DataCaptureStats()
	if after.Failed-before.Failed != 3 || after.Written != before.Written || !strings.Contains(after.LastError, "capture-denied") {
		t.Errorf("capture to a bucket the role may not write: stats %+v before, %+v after", before, after)
	}
	if m := scrape(t, s.url, "slipway_endpoint_data_capture_records_total"); m[`slipway_endpoint_data_capture_records_total{outcome="failed"}`] < 3 {
		t.Errorf("/metrics does not count the failed capture: %v", m)
	}
	if objs, err := e.admin.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("capture-denied")}); err != nil || len(objs.Contents) != 0 {
		t.Errorf("capture-denied holds %v (%v)", objs, err)
	}

	// Sampling 0: nothing captured; EnableCapture false: Stopped.
	zero := e.captureEndpoint(captureConfig("s3://capture-ok/zero", 0, smtypes.CaptureModeInput))
	stopped := captureConfig("s3://capture-ok/stopped", 50, smtypes.CaptureModeOutput)
	stopped.EnableCapture = aws.Bool(false)
	off := e.captureEndpoint(stopped)
	before = s.app.DataCaptureStats()
	for _, ep := range []string{zero, off} {
		_, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(ep), ContentType: aws.String("text/csv"), Body: []byte("1,1\n")})
		e.must(err)
	}
	if got := s.app.DataCaptureStats(); got.Captured != before.Captured {
		t.Errorf("sampling 0 or capture off captured: %+v → %+v", before, got)
	}
	d, err = e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(off)})
	e.must(err)
	if d.DataCaptureConfig == nil || d.DataCaptureConfig.CaptureStatus != smtypes.CaptureStatusStopped {
		t.Errorf("capture off: DescribeEndpoint's DataCaptureConfig = %+v", d.DataCaptureConfig)
	}

	// Bad DataCaptureConfigs: ValidationException, no configuration created.
	v := e.model()
	kms := captureConfig("s3://capture-ok/k", 10, smtypes.CaptureModeInput)
	kms.KmsKeyId = aws.String("arn:aws:kms:us-east-1:111122223333:key/x")
	for what, dc := range map[string]*smtypes.DataCaptureConfig{
		"sampling 101": captureConfig("s3://capture-ok/a", 101, smtypes.CaptureModeInput),
		"3 options":    captureConfig("s3://capture-ok/a", 10, smtypes.CaptureModeInput, smtypes.CaptureModeOutput, smtypes.CaptureModeInput),
		"not s3":       captureConfig("https://capture-ok/a", 10, smtypes.CaptureModeInput),
		"no bucket":    captureConfig("s3:///a", 10, smtypes.CaptureModeInput),
		"bad mode":     captureConfig("s3://capture-ok/a", 10, "Both"),
		"KmsKeyId":     kms,
	} {
		cfg := e.name("badcap")
		_, err := e.admin.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(cfg), DataCaptureConfig: dc,
			ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(v["ModelName"]),
				InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
			t.Errorf("%s: CreateEndpointConfig = %v, want ValidationException", what, err)
		}
		if _, err := e.admin.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(cfg)}); err == nil {
			t.Errorf("%s: the refused configuration exists", what)
		}
	}

	// Another account names the endpoint: not its endpoint, nothing captured.
	other := clientsOf(s.cfg("staging"))
	before = s.app.DataCaptureStats()
	if _, err := other.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"), Body: []byte("1,1\n")}); err == nil {
		t.Error("another account invoked the endpoint")
	}
	if got := s.app.DataCaptureStats(); got.Captured != before.Captured {
		t.Errorf("another account's refused invocation was captured")
	}
}
