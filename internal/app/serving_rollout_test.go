package app_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/images"
	"github.com/slipway-ml/slipway/internal/serving"
)

// variantConfig makes a model of the linear artifact and a configuration of one variant of
// that name with n instances; it returns the configuration's name.
func (e *authzEnv) variantConfig(variant string, n int32) string {
	m := e.model()
	name := e.name("cfg-" + strings.ToLower(variant))
	_, err := e.admin.sm.CreateEndpointConfig(context.Background(), &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String(variant), ModelName: aws.String(m["ModelName"]),
			InitialInstanceCount: aws.Int32(n), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
	e.must(err)
	return name
}

// load invokes an endpoint from clients goroutines until stopped, counting successes and
// failures and the variants that answered in each period (set by period.Store).
type load struct {
	ok, failed atomic.Int64
	period     atomic.Int64
	mu         sync.Mutex
	seen       map[int64]map[string]int
	firstErr   error
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(rt *sagemakerruntime.Client, endpoint string, clients int) *load {
	l := &load{seen: map[int64]map[string]int{}, stop: make(chan struct{})}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				p := l.period.Load()
				out, err := rt.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint),
					ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
				if err == nil && strings.TrimSpace(string(out.Body)) == "" {
					err = errEmptyAnswer
				}
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					if l.firstErr == nil {
						l.firstErr = err
					}
				} else {
					l.ok.Add(1)
					if l.seen[p] == nil {
						l.seen[p] = map[string]int{}
					}
					l.seen[p][aws.ToString(out.InvokedProductionVariant)]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

type emptyAnswer struct{}

func (emptyAnswer) Error() string { return "the endpoint answered nothing" }

var errEmptyAnswer error = emptyAnswer{}

func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

func (l *load) variants(p int64) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.seen[p] {
		out[k] = v
	}
	return out
}

// watchUpdate polls DescribeEndpoint until the endpoint is InService again, returning the
// pending variant statuses it saw on the way and the last description.
func watchUpdate(t *testing.T, sm *sagemaker.Client, name string) (phases []string, last *sagemaker.DescribeEndpointOutput) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := sm.DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		phase := string(d.EndpointStatus)
		if p := d.PendingDeploymentSummary; p != nil {
			for _, v := range p.ProductionVariants {
				for _, st := range v.VariantStatus {
					phase += "/" + string(st.Status)
				}
			}
		}
		if len(phases) == 0 || phases[len(phases)-1] != phase {
			phases = append(phases, phase)
		}
		if d.EndpointStatus == smtypes.EndpointStatusInService {
			return phases, d
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s never came back InService: %v", name, phases)
		}
	}
}

// TestServingRolloutsUnderLoad: canary, linear, all-at-once and rolling updates under a steady
// loopback load fail no request; while the traffic is split both fleets answer, and
// DescribeEndpoint shows each step in PendingDeploymentSummary.
func TestServingRolloutsUnderLoad(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	first := e.variantConfig("Blue", 2)
	const name = "rollouts"
	if _, err := e.admin.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	waitInService(t, e.admin.sm, name)
	l := startLoad(e.admin.rt, name, 4)
	defer l.end()
	bg := func(typ smtypes.TrafficRoutingConfigType, wait, term int32, canary, linear *smtypes.CapacitySize) *smtypes.DeploymentConfig {
		return &smtypes.DeploymentConfig{BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
			TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: typ, WaitIntervalInSeconds: aws.Int32(wait), CanarySize: canary, LinearStepSize: linear},
			TerminationWaitInSeconds:    aws.Int32(term), MaximumExecutionTimeoutInSeconds: aws.Int32(600)}}
	}
	for i, u := range []struct {
		name, old, variant string
		dc                 *smtypes.DeploymentConfig
		split              bool   // both fleets answer during the update
		phase              string // a pending status DescribeEndpoint must show
	}{
		{"canary", "Blue", "Green", bg(smtypes.TrafficRoutingConfigTypeCanary, 1, 0, &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeInstanceCount, Value: aws.Int32(1)}, nil), true, "Updating/ActivatingTraffic"},
		{"linear", "Green", "Red", bg(smtypes.TrafficRoutingConfigTypeLinear, 1, 0, nil, &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeCapacityPercent, Value: aws.Int32(34)}), true, "Updating/ActivatingTraffic"},
		{"all at once", "Red", "Gold", bg(smtypes.TrafficRoutingConfigTypeAllAtOnce, 0, 1, nil, nil), false, "Updating/Baking"},
		{"rolling", "Gold", "Teal", &smtypes.DeploymentConfig{RollingUpdatePolicy: &smtypes.RollingUpdatePolicy{
			MaximumBatchSize: &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeInstanceCount, Value: aws.Int32(1)}, WaitIntervalInSeconds: aws.Int32(1)}}, true, "Updating/ActivatingTraffic"},
	} {
		cfg := e.variantConfig(u.variant, 2)
		l.period.Store(int64(i + 1))
		okBefore, failedBefore := l.ok.Load(), l.failed.Load()
		began := time.Now()
		if _, err := e.admin.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(cfg), DeploymentConfig: u.dc}); err != nil {
			t.Fatalf("%s: %v", u.name, err)
		}
		phases, d := watchUpdate(t, e.admin.sm, name)
		l.period.Store(int64(-i - 1))
		took := time.Since(began)
		seen := l.variants(int64(i + 1))
		t.Logf("%s: %v, %d requests (%d failed) during the update; answers by variant %v; statuses %v", u.name, took.Round(time.Millisecond),
			l.ok.Load()-okBefore, l.failed.Load()-failedBefore, seen, phases)
		if aws.ToString(d.EndpointConfigName) != cfg || aws.ToString(d.FailureReason) != "" || *d.ProductionVariants[0].VariantName != u.variant {
			t.Errorf("%s: ended on %s (%s), variant %s", u.name, aws.ToString(d.EndpointConfigName), aws.ToString(d.FailureReason), *d.ProductionVariants[0].VariantName)
		}
		if !strings.Contains(strings.Join(phases, " "), u.phase) {
			t.Errorf("%s: DescribeEndpoint never showed %s: %v", u.name, u.phase, phases)
		}
		if u.split && (seen[u.old] == 0 || seen[u.variant] == 0) {
			t.Errorf("%s: while the traffic was split, answers came from %v; want both %s and %s", u.name, seen, u.old, u.variant)
		}
		for l.ok.Load() < okBefore+20 { // some load between updates
			time.Sleep(5 * time.Millisecond)
		}
	}
	l.end()
	l.stop = make(chan struct{}) // the deferred end finds nothing to stop
	t.Logf("%d invocations during and between the four updates, %d failed", l.ok.Load()+l.failed.Load(), l.failed.Load())
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d invocations failed; the first: %v", n, l.firstErr)
	}
}

// TestServingRolloutResumesAfterRestart: a linear update stopped by a server shutdown after its
// first step goes on, after the restart, from that step (not from the start) to the end.
func TestServingRolloutResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, c, stop := startAt(t, dir)
	e := &authzEnv{t: t, admin: c, account: accountOf(t, a)}
	first, next := e.variantConfig("Blue", 1), e.variantConfig("Green", 1)
	const name = "resumes"
	if _, err := c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	waitInService(t, c.sm, name)
	_, err := c.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(next),
		DeploymentConfig: &smtypes.DeploymentConfig{BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
			TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: smtypes.TrafficRoutingConfigTypeLinear, WaitIntervalInSeconds: aws.Int32(2),
				LinearStepSize: &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeCapacityPercent, Value: aws.Int32(50)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	stepOf := func(d *sagemaker.DescribeEndpointOutput) string {
		if p := d.PendingDeploymentSummary; p != nil && len(p.ProductionVariants) > 0 && len(p.ProductionVariants[0].VariantStatus) > 0 {
			return aws.ToString(p.ProductionVariants[0].VariantStatus[0].StatusMessage)
		}
		return ""
	}
	var before string
	for deadline := time.Now().Add(30 * time.Second); !strings.HasPrefix(before, "Step 1 of 2"); time.Sleep(10 * time.Millisecond) {
		d, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if before = stepOf(d); time.Now().After(deadline) {
			t.Fatalf("the update never reached its first step: %s %q", d.EndpointStatus, before)
		}
	}
	stop()

	_, c2, _ := startAt(t, dir)
	d, err := c2.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != smtypes.EndpointStatusUpdating || !strings.HasPrefix(stepOf(d), "Step 1 of 2") {
		t.Fatalf("after the restart: %s %q, want Updating at step 1 of 2", d.EndpointStatus, stepOf(d))
	}
	l := startLoad(c2.rt, name, 2)
	phases, d := watchUpdate(t, c2.sm, name)
	l.end()
	t.Logf("after the restart: %v; %d invocations, %d failed", phases, l.ok.Load()+l.failed.Load(), l.failed.Load())
	if aws.ToString(d.EndpointConfigName) != next || *d.ProductionVariants[0].VariantName != "Green" {
		t.Errorf("ended on %s variant %s, want %s Green", aws.ToString(d.EndpointConfigName), *d.ProductionVariants[0].VariantName, next)
	}
	if strings.Contains(strings.Join(phases, " "), "Creating") {
		t.Errorf("the update started over after the restart: %v", phases)
	}
	if l.ok.Load() == 0 {
		t.Errorf("no invocation succeeded after the restart (first error %v)", l.firstErr)
	}

	// DescribeEndpoint names the policy as LastDeploymentConfig; RetainDeploymentConfig reuses it.
	bg := d.LastDeploymentConfig
	if bg == nil || bg.BlueGreenUpdatePolicy == nil || bg.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type != smtypes.TrafficRoutingConfigTypeLinear ||
		aws.ToInt32(bg.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.LinearStepSize.Value) != 50 {
		t.Fatalf("LastDeploymentConfig = %+v, want the linear policy of 50%%", bg)
	}
	_, err = c2.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(first), RetainDeploymentConfig: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	phases, d = watchUpdate(t, c2.sm, name)
	if aws.ToString(d.EndpointConfigName) != first || !strings.Contains(strings.Join(phases, " "), "Updating/ActivatingTraffic") {
		t.Errorf("the update retaining the deployment config: %v, ended on %s; want linear steps to %s", phases, aws.ToString(d.EndpointConfigName), first)
	}
}

func accountOf(t *testing.T, a *app.App) string {
	t.Helper()
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	return profiles["data-science"].Account
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestServingRolloutRollsBackOnFailedHealthChecks: a canary whose new fleet (an unmodified
// Flask model server) starts failing /ping while it takes its share is rolled back by itself:
// the endpoint ends InService on its old configuration with the reason. Once the sick fleet is
// out of the pool the live one takes its share, so failures are at most the canary's share of
// the requests in the moment it fell sick (in practice none).
func TestServingRolloutRollsBackOnFailedHealthChecks(t *testing.T) {
	sickRollback(t, 1, 1, &smtypes.DeploymentConfig{BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
		TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: smtypes.TrafficRoutingConfigTypeCanary, WaitIntervalInSeconds: aws.Int32(600),
			CanarySize: &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeCapacityPercent, Value: aws.Int32(20)}}}}, 0.35)
}

// TestServingRollingRollbackInBatches: a rolling update of four instances, two replaced when
// the new fleet falls sick, brings the old fleet back one instance at a time
// (RollbackMaximumBatchSize 1): each batch is committed (Restored 0.75, then 1) before the old
// fleet grows, and only then is the new fleet dropped.
func TestServingRollingRollbackInBatches(t *testing.T) {
	logs := sickRollback(t, 4, 4, &smtypes.DeploymentConfig{RollingUpdatePolicy: &smtypes.RollingUpdatePolicy{
		MaximumBatchSize:         &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeInstanceCount, Value: aws.Int32(2)},
		RollbackMaximumBatchSize: &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeInstanceCount, Value: aws.Int32(1)},
		WaitIntervalInSeconds:    aws.Int32(600)}}, 0.6)
	var batches []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "endpoint rollback batch") {
			batches = append(batches, line[strings.Index(line, "restored="):])
		}
	}
	if got, want := strings.Join(batches, " "), "restored=0.75 restored=1"; got != want {
		t.Errorf("rollback batches %q, want %q", got, want)
	}
}

// sickRollback updates an endpoint of oldN instances to newN instances of an unmodified Flask
// model server under policy, makes the new fleet fail /ping once it answers, and checks that
// the update rolls back by itself: InService on the old configuration with the reason, the
// rollback committed before it acted, at most about maxFailed of the requests failing while
// the new fleet was sick and none after. It returns the server's log.
func sickRollback(t *testing.T, oldN, newN int32, policy *smtypes.DeploymentConfig, maxFailed float64) string {
	ctx := context.Background()
	script, err := filepath.Abs("../serving/fleet/testdata/serve.py")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Images = []images.Mapping{{Image: "example.com/flask-model:*", Command: []string{"/usr/bin/python3", script}, Env: map[string]string{"PYTHONUNBUFFERED": "1"}}}
	logs := &lockedBuffer{}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	t.Cleanup(func() { hs.Close(); a.Close() })
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["data-science"]
	c := clientsOf(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, ""),
		BaseEndpoint: aws.String(hs.URL), Retryer: connRetryer})
	e := &authzEnv{t: t, admin: c, account: p.Account}
	first := e.variantConfig("Blue", oldN)
	_, role := e.servingArtifact()
	_, err = c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("authz-serving"), Key: aws.String("flask/model.tar.gz"), Body: bytes.NewReader(tarGz(t, map[string]string{"coef.txt": "2\n"}))})
	e.must(err)
	_, err = c.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("flask"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("example.com/flask-model:1"), ModelDataUrl: aws.String("s3://authz-serving/flask/model.tar.gz")}})
	e.must(err)
	_, err = c.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("flask"),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("Green"), ModelName: aws.String("flask"),
			InitialInstanceCount: aws.Int32(newN), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
	e.must(err)
	const name = "sickly"
	_, err = c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(first)})
	e.must(err)
	waitInService(t, c.sm, name)
	l := startLoad(c.rt, name, 2)
	defer l.end()
	_, err = c.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String("flask"),
		DeploymentConfig: policy})
	e.must(err)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if l.variants(0)["Green"] > 0 {
			break // the new fleet answers
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new fleet never answered: %v", l.variants(0))
		}
	}
	okBefore, failedBefore := l.ok.Load(), l.failed.Load()
	// Deployment 2 of the endpoint; the model's directory as the engine extracted it.
	sick := filepath.Join(cfg.DataDir, "serving", p.Account, name, "2", "flask", "sick")
	if err := os.WriteFile(sick, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	phases, d := watchUpdate(t, c.sm, name)
	sickOK, sickFailed := l.ok.Load()-okBefore, l.failed.Load()-failedBefore
	t.Logf("rolled back: %v; while the new fleet was sick %d invocations succeeded and %d failed; reason %q", phases, sickOK, sickFailed, aws.ToString(d.FailureReason))
	if aws.ToString(d.EndpointConfigName) != first || *d.ProductionVariants[0].VariantName != "Blue" ||
		aws.ToInt32(d.ProductionVariants[0].CurrentInstanceCount) != oldN ||
		!strings.Contains(aws.ToString(d.FailureReason), "health checks") {
		t.Errorf("after the rollback: config %s variant %s × %d reason %q; want %s Blue × %d and a reason naming the health checks",
			aws.ToString(d.EndpointConfigName), *d.ProductionVariants[0].VariantName, aws.ToInt32(d.ProductionVariants[0].CurrentInstanceCount),
			aws.ToString(d.FailureReason), first, oldN)
	}
	// The rollback was committed (RollingBack, its own state change event) before it acted.
	evs, err := a.Store.Events().EventsAfter(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, ev := range evs {
		var d struct{ EndpointName, EndpointStatus string }
		if ev.DetailType == serving.EventDetailType && json.Unmarshal(ev.Detail, &d) == nil && d.EndpointName == name {
			statuses = append(statuses, d.EndpointStatus)
		}
	}
	if got, want := strings.Join(statuses, " "), "Creating InService Updating RollingBack InService"; got != want {
		t.Errorf("the endpoint's events: %s, want %s", got, want)
	}
	// The new fleet took its share of the requests: at most about that share may have failed.
	if total := sickOK + sickFailed; float64(sickFailed) > maxFailed*float64(total)+2 {
		t.Errorf("%d of %d invocations failed while the new fleet was sick; want at most about its share", sickFailed, total)
	}
	failedAfter := l.failed.Load()
	time.Sleep(300 * time.Millisecond)
	if n := l.failed.Load() - failedAfter; n > 0 {
		t.Errorf("%d invocations failed after the rollback", n)
	}
	return logs.String()
}

// TestServingUpdateRefusesBadDeploymentConfigs: a DeploymentConfig that cannot be honoured is
// refused with a ValidationException naming the member, and the endpoint is left as it was.
func TestServingUpdateRefusesBadDeploymentConfigs(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	v := e.endpoint()
	next := e.variantConfig("Green", 1)
	name := aws.String(v["EndpointName"])
	before, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: name})
	if err != nil {
		t.Fatal(err)
	}
	size := func(typ smtypes.CapacitySizeType, n int32) *smtypes.CapacitySize {
		return &smtypes.CapacitySize{Type: typ, Value: aws.Int32(n)}
	}
	routing := func(typ smtypes.TrafficRoutingConfigType, canary, linear *smtypes.CapacitySize) *smtypes.BlueGreenUpdatePolicy {
		return &smtypes.BlueGreenUpdatePolicy{TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: typ, WaitIntervalInSeconds: aws.Int32(1), CanarySize: canary, LinearStepSize: linear}}
	}
	rolling := &smtypes.RollingUpdatePolicy{MaximumBatchSize: size(smtypes.CapacitySizeTypeInstanceCount, 1), WaitIntervalInSeconds: aws.Int32(1)}
	for _, c := range []struct {
		name string
		dc   smtypes.DeploymentConfig
		want string
	}{
		{"alarms without a policy to watch", smtypes.DeploymentConfig{
			AutoRollbackConfiguration: &smtypes.AutoRollbackConfig{Alarms: []smtypes.Alarm{{AlarmName: aws.String("errors")}}}}, "AutoRollbackConfiguration needs"},
		{"a canary without its size", smtypes.DeploymentConfig{BlueGreenUpdatePolicy: routing(smtypes.TrafficRoutingConfigTypeCanary, nil, nil)}, "CanarySize is required"},
		{"a linear step sized as a canary", smtypes.DeploymentConfig{BlueGreenUpdatePolicy: routing(smtypes.TrafficRoutingConfigTypeLinear, size(smtypes.CapacitySizeTypeInstanceCount, 1), nil)}, "CanarySize goes with Type CANARY"},
		{"a step over 100 percent", smtypes.DeploymentConfig{BlueGreenUpdatePolicy: routing(smtypes.TrafficRoutingConfigTypeLinear, nil, size(smtypes.CapacitySizeTypeCapacityPercent, 150))}, "more than 100"},
		{"an unknown routing type", smtypes.DeploymentConfig{BlueGreenUpdatePolicy: routing("SOMETIMES", nil, nil)}, "SOMETIMES"},
		{"both policies", smtypes.DeploymentConfig{BlueGreenUpdatePolicy: routing(smtypes.TrafficRoutingConfigTypeAllAtOnce, nil, nil), RollingUpdatePolicy: rolling}, "exactly one"},
		{"a timeout under SageMaker's minimum", smtypes.DeploymentConfig{RollingUpdatePolicy: &smtypes.RollingUpdatePolicy{
			MaximumBatchSize: size(smtypes.CapacitySizeTypeInstanceCount, 1), WaitIntervalInSeconds: aws.Int32(1), MaximumExecutionTimeoutInSeconds: aws.Int32(10)}}, "greater than or equal to 600"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dc := c.dc
			_, err := e.admin.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: name, EndpointConfigName: aws.String(next), DeploymentConfig: &dc})
			if code(err) != "ValidationException" || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("UpdateEndpoint = %v, want a ValidationException naming %q", err, c.want)
			}
			d, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: name})
			if err != nil {
				t.Fatal(err)
			}
			if d.EndpointStatus != smtypes.EndpointStatusInService || *d.EndpointConfigName != *before.EndpointConfigName ||
				!d.LastModifiedTime.Equal(*before.LastModifiedTime) || d.PendingDeploymentSummary != nil {
				t.Errorf("the refused update changed the endpoint: %s on %s, modified %v (was %v)", d.EndpointStatus, *d.EndpointConfigName, d.LastModifiedTime, before.LastModifiedTime)
			}
		})
	}
}
