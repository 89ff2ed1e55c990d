package awsapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// syncBuffer is a log sink safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// newHardeningServer is a Server serving SageMaker's model with a Describe handler, logging at
// debug level into logs, configured by cfg's body limits.
func newHardeningServer(t *testing.T, logs io.Writer, audit *auditLog, tune func(*Config)) *Server {
	t.Helper()
	m := mustModel(t, "sagemaker")
	svc := &Service{Name: "sagemaker", Model: m, Handlers: map[string]Handler{
		"DescribeModelPackageGroup": func(ctx context.Context, req *Request) (any, error) {
			return map[string]any{"ModelPackageGroupName": "g"}, nil
		},
	}}
	cfg := Config{Services: []*Service{svc}, Auth: testKeys(time.Now()), Audit: audit,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: prometheus.NewRegistry()}
	if tune != nil {
		tune(&cfg)
	}
	return NewServer(cfg)
}

// Unauthenticated input must not grow the audit trail or the log without bound: a 900 KB
// User-Agent and a 900 KB access key id are cut before anything records them.
func TestClientStringsAreBounded(t *testing.T) {
	logs, audit := &syncBuffer{}, &auditLog{}
	srv := httptest.NewServer(newHardeningServer(t, logs, audit, nil))
	defer srv.Close()
	huge := strings.Repeat("A", 900<<10)
	cases := []struct {
		name   string
		mutate func(r *http.Request)
	}{
		{"user agent", func(r *http.Request) { r.Header.Set("User-Agent", huge) }},
		{"access key id", func(r *http.Request) {
			auth := r.Header.Get("Authorization")
			r.Header.Set("Authorization", strings.Replace(auth, "Credential="+testAKID, "Credential="+huge, 1))
		}},
		{"target", func(r *http.Request) { r.Header.Set("X-Amz-Target", "SageMaker."+huge) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := logs.Len()
			body := `{"ModelPackageGroupName":"g"}`
			r, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(body))
			for k, v := range smJSON("DescribeModelPackageGroup") {
				r.Header.Set(k, v)
			}
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashHex([]byte(body)), "sagemaker", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			tc.mutate(r)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(answer) > 4<<10 {
				t.Errorf("error answer is %d bytes, want it bounded", len(answer))
			}
			rec := audit.last()
			total := len(rec.UserAgent) + len(rec.AccessKeyID) + len(rec.Operation) + len(rec.Reason) + len(rec.Resource)
			if total > 1<<10 {
				t.Errorf("audit record holds %d bytes of client strings (UA %d, key %d, op %d)", total, len(rec.UserAgent), len(rec.AccessKeyID), len(rec.Operation))
			}
			if grew := logs.Len() - before; grew > 8<<10 {
				t.Errorf("one request grew the log by %d bytes", grew)
			}
		})
	}
	if rec := audit.recs[1]; !strings.HasSuffix(rec.AccessKeyID, "(unverified)") || len(rec.AccessKeyID) > 32 {
		t.Errorf("unknown key recorded as %q, want a short prefix marked unverified", rec.AccessKeyID)
	}
}

// countingReader counts the bytes a server reads from a request body.
type countingReader struct {
	n atomic.Int64
	r io.Reader
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A request that is not signed, or signed with a key the server does not know, is refused
// before its body is read.
func TestBodyNotReadBeforeAuthentication(t *testing.T) {
	srv := newHardeningServer(t, io.Discard, &auditLog{}, nil)
	for _, tc := range []struct {
		name string
		sign func(r *http.Request)
		code string
	}{
		{"unsigned", func(*http.Request) {}, "MissingAuthenticationTokenException"},
		{"unknown key", func(r *http.Request) {
			creds := aws.Credentials{AccessKeyID: "AKIDNOBODY", SecretAccessKey: "x"}
			_ = v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashHex(nil), "sagemaker", "us-east-1", time.Now())
		}, "UnrecognizedClientException"},
		{"expired signature", func(r *http.Request) {
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			_ = v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashHex(nil), "sagemaker", "us-east-1", time.Now().Add(-time.Hour))
		}, "InvalidSignatureException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(make([]byte, 8<<20))}
			r := httptest.NewRequest("POST", "/", body)
			r.ContentLength = 8 << 20
			for k, v := range smJSON("DescribeModelPackageGroup") {
				r.Header.Set(k, v)
			}
			tc.sign(r)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if got := w.Header().Get("X-Amzn-ErrorType"); got != tc.code {
				t.Errorf("error = %q, want %q", got, tc.code)
			}
			if n := body.n.Load(); n != 0 {
				t.Errorf("server read %d body bytes before authenticating", n)
			}
		})
	}
}

// blockingBody hands out a few bytes, then blocks until released: a slow client.
type blockingBody struct {
	release chan struct{}
	sent    bool
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		p[0] = '{'
		return 1, nil
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// Bodies in flight share a memory budget: when slow clients hold it, the next request waits,
// then is refused with 503 (which SDKs retry) instead of growing the server's memory.
func TestInFlightBodyMemoryIsCapped(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := newHardeningServer(t, io.Discard, &auditLog{}, func(c *Config) {
		c.MaxBodyBytes = 1 << 20
		c.MaxInFlightBodyBytes = 2 << 20
		c.BodyWaitTimeout = 100 * time.Millisecond
		c.Metrics = reg
	})
	signed := func(body io.Reader, length int64) *http.Request {
		r := httptest.NewRequest("POST", "/", body)
		r.ContentLength = length
		for k, v := range smJSON("DescribeModelPackageGroup") {
			r.Header.Set(k, v)
		}
		hash := sigv4.HashHex(nil) // the slow bodies never verify; only their headers matter
		if s, ok := body.(*strings.Reader); ok {
			b, _ := io.ReadAll(s)
			_, _ = s.Seek(0, io.SeekStart)
			hash = sigv4.HashHex(b)
		}
		creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hash, "sagemaker", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 { // two slow clients, each announcing a 1 MiB body: the whole budget
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.ServeHTTP(httptest.NewRecorder(), signed(&blockingBody{release: release}, 1<<20))
		}()
	}
	// Wait until both hold their share, then a third request must be refused.
	deadline := time.Now().Add(5 * time.Second)
	for srv.bodyMem.TryAcquire(1) {
		srv.bodyMem.Release(1)
		if time.Now().After(deadline) {
			t.Fatal("the slow clients never took the body budget")
		}
		time.Sleep(5 * time.Millisecond)
	}
	w := httptest.NewRecorder()
	body := `{"ModelPackageGroupName":"g"}`
	srv.ServeHTTP(w, signed(strings.NewReader(body), int64(len(body))))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("third request: status %d (%s), want 503", w.Code, w.Body)
	}
	if got := testutil.ToFloat64(srv.metrics.bodyWaitRejected); got != 1 {
		t.Errorf("rejections counted = %v, want 1", got)
	}
	close(release)
	wg.Wait()
	// The budget is whole again: the same request now succeeds.
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, signed(strings.NewReader(body), int64(len(body))))
	if w.Code != http.StatusOK {
		t.Errorf("after the slow clients left: status %d (%s), want 200", w.Code, w.Body)
	}
}

// A client that sends its headers and then trickles the body is cut off by the body deadline.
func TestSlowBodyIsCutOff(t *testing.T) {
	h := newHardeningServer(t, io.Discard, &auditLog{}, func(c *Config) {
		c.BodyReadTimeout = 200 * time.Millisecond
		c.MinBodyRate = 1 << 30
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	r, _ := http.NewRequest("POST", srv.URL+"/", pr)
	r.ContentLength = 1000
	for k, v := range smJSON("DescribeModelPackageGroup") {
		r.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashHex(nil), "sagemaker", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = pw.Write([]byte("{")) }() // one byte, then nothing
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		resp, err := http.DefaultClient.Do(r)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 {
				err = io.EOF
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == io.EOF {
			t.Error("a trickled body was accepted")
		}
		t.Logf("cut off after %v (%v)", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(10 * time.Second):
		t.Fatal("the server still holds a connection whose body stopped 10 s ago")
	}
}
