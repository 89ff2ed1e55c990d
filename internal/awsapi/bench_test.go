package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// describeModelPackageOutput is a realistic DescribeModelPackage answer (about 1.5 KB on the wire).
func describeModelPackageOutput(now time.Time) map[string]any {
	return map[string]any{
		"ModelPackageName": "churn", "ModelPackageGroupName": "churn", "ModelPackageVersion": 7,
		"ModelPackageArn":         "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/7",
		"ModelPackageDescription": "XGBoost churn model trained by pipeline run p-123",
		"CreationTime":            now, "LastModifiedTime": now,
		"ModelPackageStatus": "Completed", "ModelApprovalStatus": "PendingManualApproval",
		"ModelPackageStatusDetails": map[string]any{"ValidationStatuses": []any{}, "ImageScanStatuses": []any{}},
		"InferenceSpecification": map[string]any{
			"Containers": []map[string]any{{
				"Image":        "111122223333.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
				"ModelDataUrl": "s3://slipway-artifacts/churn/p-123/train/output/model.tar.gz",
				"Environment":  map[string]string{"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_REGION": "us-east-1"},
			}},
			"SupportedContentTypes":                   []string{"text/csv", "application/json"},
			"SupportedResponseMIMETypes":              []string{"text/csv"},
			"SupportedRealtimeInferenceInstanceTypes": []string{"ml.m5.large", "ml.m5.xlarge"},
			"SupportedTransformInstanceTypes":         []string{"ml.m5.large"},
		},
		"ModelMetrics": map[string]any{"ModelQuality": map[string]any{"Statistics": map[string]any{
			"ContentType": "application/json", "S3Uri": "s3://slipway-artifacts/churn/p-123/evaluation/evaluation.json"}}},
		"MetadataProperties":         map[string]any{"GeneratedBy": "arn:aws:sagemaker:us-east-1:111122223333:pipeline/churn/execution/p-123"},
		"CreatedBy":                  map[string]any{"UserProfileArn": "arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-1/alice", "UserProfileName": "alice", "DomainId": "d-1"},
		"CustomerMetadataProperties": map[string]string{"team": "ds", "dataset": "churn-2026-11"},
	}
}

// BenchmarkServeHTTP measures one signed awsJson1_1 DescribeModelPackage through ServeHTTP
// (route, SigV4, decode, validate, handler, encode, metrics, audit), without the network. The
// "reference" sub-benchmark is the floor any server pays: reading the body, decoding the input
// with encoding/json and marshalling the same output with encoding/json.
func BenchmarkServeHTTP(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	out := describeModelPackageOutput(now)
	svc := &Service{Name: "sagemaker", Model: mustModel(b, "sagemaker"), Handlers: map[string]Handler{
		"DescribeModelPackage": func(ctx context.Context, req *Request) (any, error) { return out, nil },
	}}
	srv := NewServer(Config{Services: []*Service{svc}, Auth: testKeys(now), Audit: &discardAudit{}, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()})
	body := []byte(`{"ModelPackageName":"arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/7"}`)
	signed := httptest.NewRequest("POST", "http://localhost:8080/", bytes.NewReader(body))
	signed.Header.Set("X-Amz-Target", "SageMaker.DescribeModelPackage")
	signed.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		signed, sigv4.HashHex(body), "sagemaker", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	newRequest := func() *http.Request {
		r := httptest.NewRequest("POST", "http://localhost:8080/", bytes.NewReader(body))
		r.Header = signed.Header.Clone()
		return r
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, newRequest())
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b.Logf("response %d bytes", w.Body.Len())

	b.Run("ServeHTTP", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &discardWriter{h: http.Header{}}
			srv.ServeHTTP(w, newRequest())
			if w.code != 200 {
				b.Fatal(w.code)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := newRequest()
			in, _ := io.ReadAll(r.Body)
			var v map[string]any
			if err := json.Unmarshal(in, &v); err != nil {
				b.Fatal(err)
			}
			res, _ := json.Marshal(out)
			w := &discardWriter{h: http.Header{}}
			w.WriteHeader(200)
			_, _ = w.Write(res)
		}
	})
}

type discardAudit struct{}

func (discardAudit) RecordCall(context.Context, AuditRecord) error { return nil }

// discardWriter is an http.ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
