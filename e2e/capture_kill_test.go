package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/slipway-ml/slipway/internal/algorithms/linear"
)

// TestDataCaptureSurvivesServerKill invokes an endpoint that captures every invocation from
// four clients and SIGKILLs the server while they run — twice, the second time right after the
// restart, while the first kill's spool may still be uploading — then invokes once more and
// lets the last server live. Every invocation a client saw answered has its record, found by
// its InferenceId, in the capture destination exactly once; no record is there twice.
func TestDataCaptureSurvivesServerKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := launchCrashing(t, filepath.Join(t.TempDir(), "data"), launchOptions{})
	cfg := s.config("data-science")
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	const bucket = "capture-kill"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("model/model.tar.gz"),
		Body: bytes.NewReader(captureKillModel(t))}); err != nil {
		t.Fatal(err)
	}
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("capture"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("capture"), PolicyName: aws.String("rw"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::capture-kill/model/*"},
			{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::capture-kill/dc/*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	sm := sagemaker.NewFromConfig(cfg)
	if _, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("captured"), ExecutionRoleArn: role.Role.Arn,
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("slipway/linear"), ModelDataUrl: aws.String("s3://capture-kill/model/model.tar.gz")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("captured"),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String("captured"),
			InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}},
		DataCaptureConfig: &smtypes.DataCaptureConfig{EnableCapture: aws.Bool(true), InitialSamplingPercentage: aws.Int32(100),
			DestinationS3Uri: aws.String("s3://capture-kill/dc"), CaptureOptions: []smtypes.CaptureOption{{CaptureMode: smtypes.CaptureModeInput}, {CaptureMode: smtypes.CaptureModeOutput}},
			CaptureContentTypeHeader: &smtypes.CaptureContentTypeHeader{CsvContentTypes: []string{"text/csv"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("captured"), EndpointConfigName: aws.String("captured")}); err != nil {
		t.Fatal(err)
	}

	var acked []string // InferenceIds of the invocations answered
	for round := range 3 {
		// Four clients invoke until round's invocations are answered (the restarted server
		// deploys the endpoint again first: until then invocations are refused and retried).
		rt := sagemakerruntime.NewFromConfig(s.config("data-science"))
		var mu sync.Mutex
		var got []string
		var n, failures atomic.Int64
		enough := make(chan struct{})
		var once sync.Once
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("r%d-c%d-%d", round, c, i)
					_, err := rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("captured"),
						ContentType: aws.String("text/csv"), InferenceId: aws.String(id), Body: fmt.Appendf(nil, "%d,1\n", i)})
					if err != nil {
						failures.Add(1)
						time.Sleep(20 * time.Millisecond)
						continue
					}
					mu.Lock()
					got = append(got, id)
					mu.Unlock()
					if n.Add(1) >= 60 {
						once.Do(func() { close(enough) })
					}
				}
			}()
		}
		select {
		case <-enough:
		case <-ctx.Done():
			t.Fatalf("round %d: %d invocations answered before the deadline (%d failed)", round, n.Load(), failures.Load())
		}
		if round < 2 {
			s.crash() // while the clients still invoke: whatever is in flight is cut off
		}
		close(stop)
		wg.Wait()
		mu.Lock()
		acked = append(acked, got...)
		mu.Unlock()
		t.Logf("round %d: %d invocations answered, %d failed", round, len(got), failures.Load())
	}

	// The last server uploads what the killed ones left, and what it captured itself.
	s3c = s3.NewFromConfig(s.config("data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	var seen map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		seen = captureKillRecords(ctx, t, s3c, bucket, "dc/captured/AllTraffic/")
		missing := 0
		for _, id := range acked {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answered invocations have no captured record after 60 s", missing, len(acked))
		}
	}
	var doubled []string
	for id, k := range seen {
		if k > 1 {
			doubled = append(doubled, fmt.Sprintf("%s×%d", id, k))
		}
	}
	sort.Strings(doubled)
	if len(doubled) > 0 {
		t.Errorf("records captured more than once: %v", doubled)
	}
	t.Logf("%d invocations answered across two kills; %d records in the destination, each answered one there once", len(acked), len(seen))
}

// captureKillRecords reads every capture object under prefix and counts its records by
// InferenceId.
func captureKillRecords(ctx context.Context, t *testing.T, s3c *s3.Client, bucket, prefix string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(obj.Body)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var r struct {
					EventMetadata struct {
						InferenceID string `json:"inferenceId"`
					} `json:"eventMetadata"`
				}
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("%s: a line that is not a capture record: %v", aws.ToString(o.Key), err)
				}
				seen[r.EventMetadata.InferenceID]++
			}
			obj.Body.Close()
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return seen
}

// captureKillModel is a model.tar.gz of a linear model of two features.
func captureKillModel(t *testing.T) []byte {
	var m bytes.Buffer
	lm := &linear.Model{Format: linear.Format, Version: linear.Version, PredictorType: linear.Regressor, Weights: []float64{1, 2}, Intercept: 1, Iterations: 1}
	if err := lm.WriteJSON(&m); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: linear.ModelFile, Mode: 0o644, Size: int64(m.Len())}); err != nil {
		t.Fatal(err)
	}
	tw.Write(m.Bytes())
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
