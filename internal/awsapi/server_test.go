package awsapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/errs"
)

// testAuth is a key store holding a few keys: the test double for the Authenticator only.
type testAuth struct {
	keys map[string]Credential
}

func (a *testAuth) LookupAccessKey(_ context.Context, id string) (Credential, error) {
	c, ok := a.keys[id]
	if !ok {
		return Credential{}, errs.E(errs.Unauthenticated, "unknown access key")
	}
	return c, nil
}

// auditLog keeps the audit records the server hands over.
type auditLog struct {
	mu   sync.Mutex
	recs []AuditRecord
}

func (a *auditLog) RecordCall(_ context.Context, rec AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, rec)
	return nil
}

func (a *auditLog) last() AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.recs) == 0 {
		return AuditRecord{}
	}
	return a.recs[len(a.recs)-1]
}

const (
	testAKID    = "AKIDEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	tempAKID    = "ASIATEMPEXAMPLE"
	tempSecret  = "tempsecret"
	tempToken   = "session-token-123"
	expiredAKID = "ASIAEXPIRED"
)

func testKeys(now time.Time) *testAuth {
	return &testAuth{keys: map[string]Credential{
		testAKID: {Secret: testSecret, Caller: Caller{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice", UserID: "AIDAALICE"}},
		tempAKID: {Secret: tempSecret, SessionToken: tempToken, Expires: now.Add(time.Hour),
			Caller: Caller{Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/Deployer/s1",
				PrincipalARN: "arn:aws:iam::111122223333:role/Deployer", UserID: "AROADEPLOYER:s1"}},
		expiredAKID: {Secret: tempSecret, SessionToken: tempToken, Expires: now.Add(-time.Minute),
			Caller: Caller{Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/Deployer/old"}},
	}}
}

// echo records the canonical input of every call and answers with a function of it.
type echo struct {
	mu    sync.Mutex
	input map[string]json.RawMessage // by operation
	req   map[string]*Request
}

func (e *echo) handler(op string, answer func(req *Request) (any, error)) Handler {
	return func(ctx context.Context, req *Request) (any, error) {
		e.mu.Lock()
		if e.input == nil {
			e.input, e.req = map[string]json.RawMessage{}, map[string]*Request{}
		}
		e.input[op] = req.Input
		e.req[op] = req
		e.mu.Unlock()
		return answer(req)
	}
}

func (e *echo) got(op string) (json.RawMessage, *Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.input[op], e.req[op]
}

type testEnv struct {
	srv   *Server
	http  *httptest.Server
	audit *auditLog
	echo  *echo
	reg   *prometheus.Registry
}

func mustModel(t testing.TB, name string) *Model {
	t.Helper()
	m, err := LoadModel(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newTestEnv starts a Server over loopback HTTP serving every embedded model, with handlers
// given per "service/Operation".
func newTestEnv(t testing.TB, now func() time.Time, handlers map[string]func(*Request) (any, error)) *testEnv {
	t.Helper()
	env := &testEnv{audit: &auditLog{}, echo: &echo{}, reg: prometheus.NewRegistry()}
	var services []*Service
	for _, name := range ModelNames() {
		svc := &Service{Name: name, Model: mustModel(t, name), Handlers: map[string]Handler{}, Errors: serviceErrors[name]}
		for op := range svc.Model.Operations {
			if h, ok := handlers[name+"/"+op]; ok {
				svc.Handlers[op] = env.echo.handler(name+"/"+op, h)
			}
		}
		services = append(services, svc)
	}
	if now == nil {
		now = time.Now
	}
	env.srv = NewServer(Config{
		Services: services, Auth: testKeys(now()), Audit: env.audit, Now: now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: env.reg,
	})
	env.http = httptest.NewServer(env.srv)
	t.Cleanup(env.http.Close)
	return env
}

var _ http.Handler = (*Server)(nil)

// TestEmptyBodyWithExpectGetsContinue: a request with an empty body that asks for "100
// Continue" gets it before its final answer, as old botocore needs to keep its connection in step.
func TestEmptyBodyWithExpectGetsContinue(t *testing.T) {
	env := newTestEnv(t, nil, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	req := "PUT /bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, want HTTP/1.1 100 Continue", first)
	}
	for { // the interim answer's headers
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("an unsigned request answered %s", resp.Status)
	}
}
