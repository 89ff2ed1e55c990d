package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// captured is one request as a server received it, with its body.
type captured struct {
	r    *http.Request
	body []byte
}

// captureServer answers every request 200 (with an ETag, as PutObject does) and keeps it.
func captureServer(t *testing.T, tls bool) (*httptest.Server, func() []captured) {
	var mu sync.Mutex
	var got []captured
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		mu.Lock()
		got = append(got, captured{r: r.Clone(r.Context()), body: b})
		mu.Unlock()
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, func() []captured { mu.Lock(); defer mu.Unlock(); return append([]captured(nil), got...) }
}

// TestCLIUpload uploads a file with two AWS CLIs to a capturing server over HTTP and HTTPS, then
// verifies what they sent: Parse, CheckTime, Verify and, for an aws-chunked body, ChunkReader must
// accept it and decode the file. The CLIs: Debian's AWS CLI v2.9 (/usr/bin/aws, apt-get install
// awscli), which sends a plain body (its SHA-256 over HTTP, UNSIGNED-PAYLOAD over HTTPS); and the
// AWS CLI v1 of the python3 on PATH (pip's awscli with botocore ≥ 1.36), which over HTTPS sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32 trailer.
func TestCLIUpload(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Fatalf("/usr/bin/aws is required (apt-get install awscli): %v", err)
	}
	out, err := exec.Command("python3", "-c", "import sys, awscli; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3 with awscli (v1) is required on PATH: %v", err)
	}
	clis := []struct {
		name string
		argv []string
	}{
		{"cli-v2", []string{"/usr/bin/aws"}},
		{"cli-v1", []string{strings.TrimSpace(string(out)), "-m", "awscli"}},
	}
	for _, cli := range clis {
		for _, tls := range []bool{false, true} {
			name := cli.name + map[bool]string{false: "/http", true: "/https"}[tls]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv, got := captureServer(t, tls)
				payload := payloadOf(200_000)
				file := filepath.Join(t.TempDir(), "model.tar.gz")
				if err := os.WriteFile(file, payload, 0o600); err != nil {
					t.Fatal(err)
				}
				args := append(cli.argv[1:], "s3api", "put-object", "--endpoint-url", srv.URL, "--no-verify-ssl",
					"--bucket", "artifacts", "--key", "models/model.tar.gz", "--body", file)
				cmd := exec.Command(cli.argv[0], args...)
				cmd.Env = []string{"AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=cli-secret", "AWS_DEFAULT_REGION=us-east-1",
					"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", cli.name, err, out)
				}
				reqs := got()
				if len(reqs) != 1 {
					t.Fatalf("captured %d requests, want 1", len(reqs))
				}
				c := reqs[0]
				mode := c.r.Header.Get("X-Amz-Content-Sha256")
				t.Logf("%s %s: x-amz-content-sha256=%s content-encoding=%q x-amz-trailer=%q x-amz-decoded-content-length=%q content-length=%d",
					c.r.Method, c.r.RequestURI, mode, c.r.Header.Get("Content-Encoding"), c.r.Header.Get("X-Amz-Trailer"),
					c.r.Header.Get("X-Amz-Decoded-Content-Length"), len(c.body))
				s, err := Parse(c.r)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.CheckTime(time.Now()); err != nil {
					t.Fatal(err)
				}
				if err := s.Verify(c.r, c.body, "cli-secret", Options{S3: true}); err != nil {
					t.Fatal(err)
				}
				decoded := c.body
				if IsStreaming(mode) {
					cr, err := s.ChunkReader(bytes.NewReader(c.body), c.r.Header, "cli-secret")
					if err != nil {
						t.Fatal(err)
					}
					if decoded, err = io.ReadAll(cr); err != nil {
						t.Fatal(err)
					}
				}
				if !bytes.Equal(decoded, payload) {
					t.Errorf("decoded %d bytes, want the file's %d", len(decoded), len(payload))
				}
				if IsStreaming(mode) {
					// The same body with one payload byte changed fails its checksum trailer.
					bad := bytes.Clone(c.body)
					bad[bytes.Index(bad, []byte("\r\n"))+100] ^= 1
					cr, err := s.ChunkReader(bytes.NewReader(bad), c.r.Header, "cli-secret")
					if err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadAll(cr); reasonOf(err) != BadDigest {
						t.Errorf("a changed byte: got %v, want BadDigest", err)
					}
				}
			})
		}
	}
}
