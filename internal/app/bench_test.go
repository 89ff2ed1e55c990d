package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// BenchmarkDescribeModelPackage measures one signed DescribeModelPackage through the whole
// server (SigV4, decoding, authentication, authorization with identity policy and SCPs, the
// registry read, encoding, the audit record's group commit) without the network, beside the
// same request answered by a handler that returns a fixed body: the floor of net/http's
// recorder and the signing this benchmark does per request. 32 requests are in flight at once,
// so the audit log's group commit batches as it does under load.
func BenchmarkDescribeModelPackage(b *testing.B) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	a.Start(ctx)
	defer a.Close()
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		b.Fatal(err)
	}
	p := profiles["data-science"]
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	sm := sagemaker.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })})
	if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	out, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"ModelPackageName":%q}`, *out.ModelPackageArn))
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	signer := v4.NewSigner()
	request := func() *http.Request {
		r := httptest.NewRequest("POST", "http://127.0.0.1/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", "SageMaker.DescribeModelPackage")
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if err := signer.SignHTTP(ctx, creds, r, payloadHash, "sagemaker", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		return r
	}
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		b.SetParallelism(16) // 32 concurrent requests on 2 cores, as the bench/server load

		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, request())
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				io.Copy(io.Discard, w.Body)
			}
		})
	}
	fixed := []byte(`{"ModelPackageName":"bench","ModelPackageStatus":"Completed"}`)
	b.Run("slipway", func(b *testing.B) { run(b, a.Handler()) })
	b.Run("reference=fixed-body", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Write(fixed)
		}))
	})
}
