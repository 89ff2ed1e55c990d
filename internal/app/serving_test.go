package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/serving"
)

// TestServingWithBoto3AndTheCLI is the serving story through clients nobody here wrote: boto3
// (Debian's /usr/bin/python3, with the real XGBoost training the model) creates, deploys,
// invokes, updates and shares across accounts (testdata/serving_boto3.py); the aws CLI waits
// and invokes.
func TestServingWithBoto3AndTheCLI(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds, st := s.profile["data-science"], s.profile["staging"]
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/serving_boto3.py", s.url, ds.AccessKeyID, ds.SecretAccessKey,
		st.AccessKeyID, st.SecretAccessKey, s.account["staging"])
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	began := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("boto3 took %v:\n%s", time.Since(began), out)
	if err != nil {
		t.Fatalf("boto3: %v", err)
	}
	for _, want := range []string{"in service InService AllTraffic 2", "invoked AllTraffic", "bad input refused",
		"failed update InService abalone-v1 | ClientError: the model data", "weights {'Blue': 0.0, 'Green': 1.0}",
		"broken Failed | ClientError: the model data", "denied before the grant", "explicit deny wins",
		"staging serves the package", "endpoints ['abalone']"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q", want)
		}
	}

	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+ds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ds.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	aws := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "/usr/bin/aws", append([]string{"--endpoint-url", s.url}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := aws("sagemaker", "wait", "endpoint-in-service", "--endpoint-name", "abalone"); err != nil {
		t.Errorf("aws sagemaker wait endpoint-in-service: %v\n%s", err, out)
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/row.csv", []byte("0.1,0.2,0.3,0.4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out2, err := aws("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "abalone", "--content-type", "text/csv",
		"--body", "fileb://"+dir+"/row.csv", dir+"/out.txt")
	if err != nil || !strings.Contains(out2, `"InvokedProductionVariant": "Green"`) {
		t.Errorf("aws sagemaker-runtime invoke-endpoint: %v\n%s", err, out2)
	}
	if b, _ := os.ReadFile(dir + "/out.txt"); len(strings.TrimSpace(string(b))) == 0 {
		t.Errorf("invoke-endpoint wrote no prediction")
	}
	if out, err := aws("sagemaker", "delete-endpoint", "--endpoint-name", "abalone"); err != nil {
		t.Errorf("delete-endpoint: %v\n%s", err, out)
	}
	if out, err := aws("sagemaker", "wait", "endpoint-deleted", "--endpoint-name", "abalone"); err != nil {
		t.Errorf("aws sagemaker wait endpoint-deleted: %v\n%s", err, out)
	}

	// Every status change sent its event, from the committed transactions.
	evs, err := s.app.Store.Events().EventsAfter(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, ev := range evs {
		if ev.DetailType != serving.EventDetailType {
			continue
		}
		var d struct{ EndpointName, EndpointStatus string }
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d.EndpointName == "abalone" {
			statuses = append(statuses, d.EndpointStatus)
		}
	}
	want := "Creating InService Updating InService Updating InService Updating InService Deleting"
	if got := strings.Join(statuses, " "); got != want {
		t.Errorf("abalone's events: %s\nwant %s", got, want)
	}
}

// startAt starts a server on dataDir (a second start finds the first one's state), returning
// it with a client of the data-science account and a stop function.
func startAt(t *testing.T, dataDir string) (*app.App, clients, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["data-science"]
	c := clientsOf(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, ""),
		BaseEndpoint: aws.String(hs.URL), Retryer: connRetryer})
	var once sync.Once
	stop := func() { once.Do(func() { hs.Close(); a.Close() }) }
	t.Cleanup(stop)
	return a, c, stop
}

// TestServingResumesAfterRestart: an endpoint InService before a restart serves again after
// it (its fleet lived in the stopped process), and one whose creation was in flight when the
// server stopped is brought InService by the next.
func TestServingResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, c, stop := startAt(t, dir)
	e := &authzEnv{t: t, admin: c}
	acct, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	e.account = *acct.Account
	v := e.endpoint()
	invoke := func(c clients, name string) error {
		out, err := c.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
		if err == nil && strings.TrimSpace(string(out.Body)) != "6" {
			err = fmt.Errorf("answer %q, want 6", out.Body)
		}
		return err
	}
	if err := invoke(c, v["EndpointName"]); err != nil {
		t.Fatal(err)
	}
	_, err = c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("inflight"), EndpointConfigName: aws.String(v["EndpointConfigName"])})
	if err != nil {
		t.Fatal(err)
	}
	stop()

	_, c2, _ := startAt(t, dir)
	for _, name := range []string{v["EndpointName"], "inflight"} {
		var last error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if last = invoke(c2, name); last == nil {
				break
			}
		}
		if last != nil {
			t.Errorf("endpoint %s after the restart: %v", name, last)
		}
		d, err := c2.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil || d.EndpointStatus != smtypes.EndpointStatusInService {
			t.Errorf("DescribeEndpoint(%s) after the restart: %v, %v", name, d, err)
		}
	}
}

// TestServingUpdateUnderLoad: an all-at-once update and a capacity change under a steady load
// of invocations fail no request — the old instances serve until the new ones are healthy.
func TestServingUpdateUnderLoad(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	v := e.endpoint()
	next := e.endpointConfig() // another model and configuration, same artifact
	name := aws.String(v["EndpointName"])

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok int
	var failures []error
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: name, ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					ok++
				}
				mu.Unlock()
			}
		}()
	}
	waitFor := func(what string, cond func(d *sagemaker.DescribeEndpointOutput) bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			d, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: name})
			if err != nil {
				t.Fatal(err)
			}
			if cond(d) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the endpoint is %s on %s (%s)", what, d.EndpointStatus, *d.EndpointConfigName, aws.ToString(d.FailureReason))
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := e.admin.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: name, EndpointConfigName: aws.String(next["EndpointConfigName"])}); err != nil {
		t.Fatal(err)
	}
	waitFor("update", func(d *sagemaker.DescribeEndpointOutput) bool {
		return d.EndpointStatus == smtypes.EndpointStatusInService && *d.EndpointConfigName == next["EndpointConfigName"]
	})
	time.Sleep(200 * time.Millisecond)
	if _, err := e.admin.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: name,
		DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"), DesiredInstanceCount: aws.Int32(3)}}}); err != nil {
		t.Fatal(err)
	}
	waitFor("scale", func(d *sagemaker.DescribeEndpointOutput) bool {
		return d.EndpointStatus == smtypes.EndpointStatusInService && *d.ProductionVariants[0].CurrentInstanceCount == 3
	})
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d invocations succeeded during the update and the scale-out", ok)
	if len(failures) > 0 || ok < 50 {
		t.Errorf("%d invocations failed (first: %v); %d succeeded", len(failures), failures, ok)
	}
}
