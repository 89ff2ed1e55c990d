package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/events/rules"
)

// hit is one request a receiver got.
type hit struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// receiver is a real HTTP server on 127.0.0.1 that records what it gets and answers the
// statuses queued for a path (200 once the queue is empty).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	status map[string][]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: map[string][]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), string(body)})
		code := 200
		if q := r.status[req.URL.Path]; len(q) > 0 {
			code, r.status[req.URL.Path] = q[0], q[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the hits on path once there are n.
func (r *receiver) wait(t *testing.T, path string, n int) []hit {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		var got []hit
		for _, h := range r.hits {
			if h.Path == path {
				got = append(got, h)
			}
		}
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("%s got %d requests, want %d", path, len(got), n)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer collects the server's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const (
	apiKeySecret = "k3y-VALUE-never-shown-7f3a"
	basicSecret  = "pa55-VALUE-never-shown-91c2"
)

// TestAPIDestinationTargets: a rule's API destination target calls a real HTTP receiver with
// the connection's authorization and the target's HttpParameters, retries transient answers,
// dead-letters refusals (a Deny on events:InvokeApiDestination, another account's
// destination, an address off the allow-list, retries exhausted), and no secret shows in any
// answer, log line, audit record or the database file.
func TestAPIDestinationTargets(t *testing.T) {
	ctx := context.Background()
	recv := newReceiver(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.WebhookAllow = "127.0.0.1/32"
	logs := &lockedBuffer{}
	s := startConfig(t, cfg, io.MultiWriter(logs, testWriter{t}))
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	acct := e.account
	eb, lg := eventsOf(e.admin.sm), cloudwatchlogs.NewFromConfig(s.cfg("data-science"))

	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("hooks"), AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &ebtypes.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String(apiKeySecret)}}})
	must(t, err)
	if conn.ConnectionState != ebtypes.ConnectionStateAuthorized {
		t.Errorf("CreateConnection state = %s, want AUTHORIZED", conn.ConnectionState)
	}
	basic, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("basic"), AuthorizationType: ebtypes.ConnectionAuthorizationTypeBasic,
		AuthParameters: &ebtypes.CreateConnectionAuthRequestParameters{BasicAuthParameters: &ebtypes.CreateConnectionBasicAuthRequestParameters{
			Username: aws.String("ops"), Password: aws.String(basicSecret)}}})
	must(t, err)
	dc, err := eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("hooks")})
	must(t, err)
	if dc.AuthParameters == nil || dc.AuthParameters.ApiKeyAuthParameters == nil || *dc.AuthParameters.ApiKeyAuthParameters.ApiKeyName != "x-api-key" {
		t.Errorf("DescribeConnection does not show the key's name: %+v", dc.AuthParameters)
	}

	dest := func(name, connARN, endpoint, method string, rate int32) string {
		out, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String(name), ConnectionArn: aws.String(connARN),
			InvocationEndpoint: aws.String(endpoint), HttpMethod: ebtypes.ApiDestinationHttpMethod(method), InvocationRateLimitPerSecond: aws.Int32(rate)})
		must(t, err)
		return *out.ApiDestinationArn
	}
	hooks := dest("hooks", *conn.ConnectionArn, recv.URL+"/hooks/*/in", "POST", 100)
	flaky := dest("flaky", *basic.ConnectionArn, recv.URL+"/flaky", "PUT", 100)
	broken := dest("broken", *basic.ConnectionArn, recv.URL+"/broken", "POST", 100)
	offList := dest("offlist", *conn.ConnectionArn, "http://127.0.0.2:9/x", "POST", 100)
	paced := dest("paced", *conn.ConnectionArn, recv.URL+"/paced", "POST", 5)

	role := func(name, policy string) string {
		out, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(eventsTrust)})
		must(t, err)
		_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
		must(t, err)
		return *out.Role.Arn
	}
	invoker := role("invoker", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:InvokeApiDestination","Resource":"*"}]}`)
	denied := role("denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:*","Resource":"*"},
		{"Effect":"Deny","Action":"events:InvokeApiDestination","Resource":"`+hooks+`"}]}`)
	_, err = lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/dlq")})
	must(t, err)
	dlq := &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:logs:us-east-1:" + acct + ":log-group:/events/dlq")}

	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("notify"), EventPattern: aws.String(`{"source":["my.app"]}`)})
	must(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("notify"), Targets: []ebtypes.Target{
		{Id: aws.String("a-hooks"), Arn: aws.String(hooks), RoleArn: aws.String(invoker),
			HttpParameters: &ebtypes.HttpParameters{PathParameterValues: []string{"$.detail.group"},
				HeaderParameters: map[string]string{"X-Stage": "staging", "X-Source": "$.source"}, QueryStringParameters: map[string]string{"v": "$.detail.version", "k": "lit"}},
			InputTransformer: &ebtypes.InputTransformer{InputPathsMap: map[string]string{"g": "$.detail.group"}, InputTemplate: aws.String(`{"group":"<g>"}`)}},
		{Id: aws.String("b-denied"), Arn: aws.String(hooks), RoleArn: aws.String(denied), DeadLetterConfig: dlq,
			HttpParameters: &ebtypes.HttpParameters{PathParameterValues: []string{"x"}}},
		{Id: aws.String("c-flaky"), Arn: aws.String(flaky), RoleArn: aws.String(invoker),
			RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(5), MaximumEventAgeInSeconds: aws.Int32(600)}},
		{Id: aws.String("d-broken"), Arn: aws.String(broken), RoleArn: aws.String(invoker), DeadLetterConfig: dlq,
			RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(1), MaximumEventAgeInSeconds: aws.Int32(600)}},
		{Id: aws.String("e-offlist"), Arn: aws.String(offList), RoleArn: aws.String(invoker), DeadLetterConfig: dlq},
	}})
	must(t, err)
	recv.mu.Lock()
	recv.status["/flaky"] = []int{503, 429}
	recv.status["/broken"] = []int{500, 500, 500, 500}
	recv.mu.Unlock()

	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("my.app"), DetailType: aws.String("Model"), Detail: aws.String(`{"group":"abalone","version":3}`)}}})
	must(t, err)

	h := recv.wait(t, "/hooks/abalone/in", 1)[0]
	if h.Method != "POST" || h.Header.Get("X-Api-Key") != apiKeySecret || h.Header.Get("X-Stage") != "staging" || h.Header.Get("X-Source") != "my.app" ||
		h.Query != "k=lit&v=3" || h.Body != `{"group":"abalone"}` || h.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("the receiver got %+v", h)
	}
	fl := recv.wait(t, "/flaky", 3)
	if user, pass, ok := (&http.Request{Header: fl[2].Header}).BasicAuth(); !ok || user != "ops" || pass != basicSecret || fl[2].Method != "PUT" {
		t.Errorf("flaky: %s with basic auth %q/%q (%v)", fl[2].Method, user, pass, ok)
	}
	var eventBody map[string]any
	if err := json.Unmarshal([]byte(fl[2].Body), &eventBody); err != nil || eventBody["detail-type"] != "Model" {
		t.Errorf("flaky got body %q, want the event (%v)", fl[2].Body, err)
	}

	msgs := waitLogs(t, lg, "/events/dlq", 3)
	reasons := map[string]string{}
	for _, m := range msgs {
		var d rules.DeadLetter
		must(t, json.Unmarshal([]byte(m), &d))
		reasons[d.Target] = d.Reason
	}
	for target, want := range map[string]string{"b-denied": "explicit deny", "d-broken": "answered 500", "e-offlist": "allow-list"} {
		if !strings.Contains(strings.ToLower(reasons[target]), want) {
			t.Errorf("dead letter of %s: reason %q, want it to say %q", target, reasons[target], want)
		}
	}
	if n := len(recv.wait(t, "/broken", 2)); n != 2 {
		t.Errorf("broken was called %d times, want 2 (one retry)", n)
	}
	if n := len(recv.wait(t, "/flaky", 3)); n != 3 {
		t.Errorf("flaky was called %d times, want 3", n)
	}

	// Another account's rule cannot use this account's destination.
	stg := eventbridge.NewFromConfig(s.cfg("staging"))
	stgLogs := cloudwatchlogs.NewFromConfig(s.cfg("staging"))
	_, err = stgLogs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/dlq")})
	must(t, err)
	stgIAM := iam.NewFromConfig(s.cfg("staging"))
	r, err := stgIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("invoker"), AssumeRolePolicyDocument: aws.String(eventsTrust)})
	must(t, err)
	_, err = stgIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("invoker"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:InvokeApiDestination","Resource":"*"}]}`)})
	must(t, err)
	_, err = stg.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("steal"), EventPattern: aws.String(`{"source":["my.app"]}`)})
	must(t, err)
	_, err = stg.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("steal"), Targets: []ebtypes.Target{{Id: aws.String("x"), Arn: aws.String(hooks),
		RoleArn: r.Role.Arn, HttpParameters: &ebtypes.HttpParameters{PathParameterValues: []string{"stolen"}},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:logs:us-east-1:" + s.account["staging"] + ":log-group:/events/dlq")}}}})
	must(t, err)
	_, err = stg.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("my.app"), DetailType: aws.String("Model"), Detail: aws.String(`{}`)}}})
	must(t, err)
	stolen := waitLogs(t, stgLogs, "/events/dlq", 1)
	if !strings.Contains(stolen[0], "another account") {
		t.Errorf("another account's destination: dead letter %s", stolen[0])
	}
	recv.mu.Lock()
	for _, x := range recv.hits {
		if strings.Contains(x.Path, "stolen") {
			t.Errorf("another account's rule reached the receiver: %+v", x)
		}
	}
	recv.mu.Unlock()

	// The destination's rate: 5 calls at 5/s take at least 0.8 s.
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("paced"), EventPattern: aws.String(`{"source":["paced"]}`)})
	must(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("paced"), Targets: []ebtypes.Target{{Id: aws.String("p"), Arn: aws.String(paced), RoleArn: aws.String(invoker)}}})
	must(t, err)
	began := time.Now()
	for range 5 {
		_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("paced"), DetailType: aws.String("P"), Detail: aws.String(`{}`)}}})
		must(t, err)
	}
	recv.wait(t, "/paced", 5)
	if took := time.Since(began); took < 750*time.Millisecond {
		t.Errorf("5 calls to a 5/s destination took %v", took)
	}

	// Deauthorized: the secret is gone and calls fail for good.
	_, err = eb.DeauthorizeConnection(ctx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("hooks")})
	must(t, err)
	dc, err = eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("hooks")})
	must(t, err)
	if dc.ConnectionState != ebtypes.ConnectionStateDeauthorized {
		t.Errorf("after DeauthorizeConnection: %s", dc.ConnectionState)
	}

	// No secret anywhere: answers, log, audit trail, the database file.
	lc, err := eb.ListConnections(ctx, &eventbridge.ListConnectionsInput{})
	must(t, err)
	db2, err := eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("basic")})
	must(t, err)
	answers, _ := json.Marshal([]any{dc, db2, lc})
	recs, err := s.app.Store.Audit().AuditRecords(ctx, 0, 100000)
	must(t, err)
	audit, _ := json.Marshal(recs)
	var dbBytes []byte
	for _, f := range []string{"slipway.db", "slipway.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(cfg.DataDir, f))
		dbBytes = append(dbBytes, b...)
	}
	if len(dbBytes) == 0 {
		t.Fatal("the database file was not read")
	}
	for _, secret := range []string{apiKeySecret, basicSecret} {
		for what, text := range map[string]string{"answers": string(answers), "log": logs.String(), "audit trail": string(audit), "database": string(dbBytes)} {
			if strings.Contains(text, secret) {
				t.Errorf("the secret %s shows in the %s", secret, what)
			}
		}
	}
	if !strings.Contains(string(answers), "ops") || !strings.Contains(string(answers), "x-api-key") {
		t.Errorf("the answers lack the non-secret parts: %s", answers)
	}
}
