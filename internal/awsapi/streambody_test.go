package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// pattern is a body of n bytes generated as it is read, so a test can send or receive
// hundreds of MiB without holding them.
type pattern struct{ n, off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	for i := range b {
		b[i] = byte((p.off + int64(i)) * 7 % 251)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSHA(n int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, &pattern{n: n})
	return hex.EncodeToString(h.Sum(nil))
}

// streamEnv is a server with S3's PutObject and GetObject whose handlers stream: PutObject
// reads the payload to its end, hashing it, and records what it got; GetObject answers with a
// generated body of the size asked for in the key.
type streamEnv struct {
	url string
	mu  sync.Mutex
	got struct {
		n   int64
		sha string
		err error
	}
	stored int // PutObjects that committed
}

func newStreamEnv(t *testing.T, tune func(*Config)) *streamEnv {
	t.Helper()
	env := &streamEnv{}
	const getSize = 128 << 20
	svc := &Service{Name: "s3", Model: s3TestModel(t), Handlers: map[string]Handler{
		"PutObject": func(_ context.Context, r *Request) (any, error) {
			h := sha256.New()
			n, err := io.Copy(h, r.BodyStream)
			env.mu.Lock()
			defer env.mu.Unlock()
			env.got.n, env.got.sha, env.got.err = n, hex.EncodeToString(h.Sum(nil)), err
			if err != nil {
				return nil, err // nothing committed
			}
			env.stored++
			return map[string]any{"ETag": `"x"`}, nil
		},
		"GetObject": func(_ context.Context, r *Request) (any, error) {
			return map[string]any{"Body": io.Reader(&pattern{n: getSize}), "ContentLength": getSize}, nil
		},
	}}
	cfg := Config{Services: []*Service{svc}, Auth: testKeys(time.Now()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry()}
	if tune != nil {
		tune(&cfg)
	}
	hs := httptest.NewServer(NewServer(cfg))
	t.Cleanup(hs.Close)
	env.url = hs.URL
	return env
}

// putHex sends PutObject with a body of n bytes signed by its SHA-256 (declared, as S3 clients
// do over HTTP). declared overrides the digest when not empty.
func (env *streamEnv) putHex(t *testing.T, n int64, declared string) (*http.Response, []byte) {
	t.Helper()
	if declared == "" {
		declared = patternSHA(n)
	}
	r, err := http.NewRequest("PUT", env.url+"/ds-data/big/object.bin", io.NopCloser(&pattern{n: n}))
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = n
	r.Header.Set("X-Amz-Content-Sha256", declared)
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, declared, "s3", "us-east-1", time.Now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func s3ErrCode(b []byte) string {
	var e struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(b, &e)
	return e.Code
}

// A 256 MiB PutObject streams through the server: the handler sees every byte, verified
// against the declared SHA-256, and the server's allocations stay a small fraction of the body.
func TestStreamedPutBoundedMemory(t *testing.T) {
	env := newStreamEnv(t, nil)
	const n = 256 << 20
	want := patternSHA(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, b := env.putHex(t, n, want)
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if env.got.n != n || env.got.sha != want || env.got.err != nil {
		t.Errorf("handler got %d bytes sha %s err %v", env.got.n, env.got.sha, env.got.err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("PutObject of %d MiB: %.1f MiB allocated in the process (client and server)", n>>20, float64(alloc)/(1<<20))
	if alloc > 32<<20 {
		t.Errorf("%d MiB allocated for a %d MiB body: the payload is being buffered", alloc>>20, n>>20)
	}
}

// A body that does not match its declared SHA-256 fails when the handler reaches its end: the
// handler commits nothing and the client gets S3's XAmzContentSHA256Mismatch.
func TestStreamedPutWrongDigest(t *testing.T) {
	env := newStreamEnv(t, nil)
	resp, b := env.putHex(t, 1<<20, patternSHA(1<<20-1))
	if resp.StatusCode != 400 || s3ErrCode(b) != "XAmzContentSHA256Mismatch" {
		t.Errorf("status %d %s, want 400 XAmzContentSHA256Mismatch", resp.StatusCode, b)
	}
	if env.stored != 0 {
		t.Errorf("%d objects stored from a body that did not verify", env.stored)
	}
}

// aws-chunked PutObject bodies stream through the chunk verifier: a good one arrives whole, a
// flipped byte fails at its chunk and nothing is committed.
func TestStreamedPutChunked(t *testing.T) {
	env := newStreamEnv(t, nil)
	payload := bytes.Repeat([]byte("abcdefgh"), 300_000) // 2.4 MB in 64 KiB chunks
	good := streamingCallMethod(t, "PUT", env.url+"/ds-data/k", "s3", "application/octet-stream", sigv4.StreamingSignedPayload, payload, 64<<10, nil)
	resp, err := http.DefaultClient.Do(good)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(payload)
	if resp.StatusCode != 200 || env.got.sha != hex.EncodeToString(sum[:]) {
		t.Fatalf("good chunked body: status %d %s, handler sha %s err %v", resp.StatusCode, b, env.got.sha, env.got.err)
	}
	bad := streamingCallMethod(t, "PUT", env.url+"/ds-data/k", "s3", "application/octet-stream", sigv4.StreamingSignedPayload, payload, 64<<10,
		func(w []byte) []byte { w[len(w)/2] ^= 1; return w })
	resp, err = http.DefaultClient.Do(bad)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || s3ErrCode(b) != "SignatureDoesNotMatch" {
		t.Errorf("flipped chunk byte: status %d %s, want 403 SignatureDoesNotMatch", resp.StatusCode, b)
	}
	if env.stored != 1 {
		t.Errorf("stored %d objects, want only the good one", env.stored)
	}
}

// A payload over the server's stream limit is refused with EntityTooLarge, whether its
// Content-Length says so up front or not.
func TestStreamedPutTooLarge(t *testing.T) {
	env := newStreamEnv(t, func(c *Config) { c.MaxStreamBytes = 1 << 20 })
	resp, b := env.putHex(t, 2<<20, "")
	if resp.StatusCode != 413 || s3ErrCode(b) != "EntityTooLarge" {
		t.Errorf("status %d %s, want 413 EntityTooLarge", resp.StatusCode, b)
	}
	if env.stored != 0 {
		t.Errorf("%d objects stored over the limit", env.stored)
	}
}

// A 128 MiB GetObject streams from the handler's reader to the client without being buffered.
func TestStreamedGetBoundedMemory(t *testing.T) {
	env := newStreamEnv(t, nil)
	r, _ := http.NewRequest("GET", env.url+"/ds-data/k", nil)
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	r.Header.Set("X-Amz-Content-Sha256", sigv4.HashHex(nil))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.HashHex(nil), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || resp.StatusCode != 200 || n != 128<<20 || resp.ContentLength != 128<<20 {
		t.Fatalf("status %d, %d bytes (Content-Length %d), err %v", resp.StatusCode, n, resp.ContentLength, err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), patternSHA(128<<20); got != want {
		t.Errorf("body sha %s, want %s", got, want)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("GetObject of 128 MiB: %.1f MiB allocated in the process (client and server)", float64(alloc)/(1<<20))
	if alloc > 32<<20 {
		t.Errorf("%d MiB allocated for a 128 MiB body: the payload is being buffered", alloc>>20)
	}
}
