package serving

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/inference"
)

type fakeSessions struct{}

func (fakeSessions) EngineSession(_ context.Context, role, _ string) (identity.Caller, error) {
	return identity.Caller{ARN: role + "/session"}, nil
}

// memWriter keeps what is written; deny names buckets it refuses; block, when set, holds
// every write until it is closed.
type memWriter struct {
	mu    sync.Mutex
	files map[string][]byte
	as    map[string]string
	deny  string
	block chan struct{}
}

func (w *memWriter) PutObject(_ context.Context, c identity.Caller, bucket, key string, body []byte) error {
	if w.block != nil {
		<-w.block
	}
	if bucket == w.deny {
		return errs.E(errs.AccessDenied, "not allowed to write %s", bucket)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.files == nil {
		w.files, w.as = map[string][]byte{}, map[string]string{}
	}
	w.files[bucket+"/"+key] = bytes.Clone(body)
	w.as[bucket+"/"+key] = c.ARN
	return nil
}

func mustCapture(t testing.TB, raw string) *CaptureConfig {
	c, err := ParseCaptureConfig(json.RawMessage(raw))
	if err != nil || c == nil {
		t.Fatalf("ParseCaptureConfig(%s) = %v, %v", raw, c, err)
	}
	return c
}

// TestCapturer: records are grouped into one file per endpoint, variant and hour, written as
// the variant's role in SageMaker's format; a refused write is counted and dropped; a full
// queue drops records instead of waiting.
func TestCapturer(t *testing.T) {
	w := &memWriter{deny: "nope"}
	c := NewCapturer(CaptureOptions{Writer: w, Sessions: fakeSessions{}, Interval: time.Hour})
	cfg := mustCapture(t, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b/p/q/","CaptureOptions":[{"CaptureMode":"Input"},{"CaptureMode":"Output"}],
		"CaptureContentTypeHeader":{"JsonContentTypes":["application/json"]}}`)
	at := time.Date(2026, 12, 3, 8, 59, 59, 0, time.UTC)
	rec := func(variant string, at time.Time, body string) capture {
		return capture{account: "1", endpoint: "Ep", variant: variant, role: "arn:role/" + variant, cfg: cfg, at: at,
			req:  inference.Request{ContentType: "application/json; charset=utf-8", Body: []byte(body), InferenceID: "id"},
			resp: inference.Response{ContentType: "text/csv", Body: []byte("1\n")}}
	}
	c.offer(rec("A", at, `{"x":1}`))
	c.offer(rec("A", at, `{"x":2}`))
	c.offer(rec("A", at.Add(time.Second), `{"x":3}`)) // the next hour: another file
	c.offer(rec("B", at, `{"x":4}`))
	denied := *cfg
	denied.bucket = "nope"
	r := rec("A", at, "{}")
	r.cfg = &denied
	c.offer(r)
	c.Flush()
	st := c.Stats()
	if st.Captured != 5 || st.Written != 4 || st.Failed != 1 || st.Files != 3 || !strings.Contains(st.LastError, "s3://nope/p/q/Ep/A/2026/12/03/08/") {
		t.Errorf("stats %+v", st)
	}
	counts := map[string]int{}
	for k, b := range w.files {
		dir := k[:strings.LastIndexByte(k, '/')]
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			counts[dir]++
			var l map[string]any
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			cd := l["captureData"].(map[string]any)
			in, out := cd["endpointInput"].(map[string]any), cd["endpointOutput"].(map[string]any)
			if in["encoding"] != "JSON" || !strings.HasPrefix(in["data"].(string), `{"x":`) || out["encoding"] != "BASE64" || out["data"] != "MQo=" ||
				l["eventVersion"] != "0" || l["eventMetadata"].(map[string]any)["inferenceId"] != "id" {
				t.Errorf("line %s", sc.Text())
			}
		}
		if want := "arn:role/" + strings.Split(k, "/")[4] + "/session"; w.as[k] != want {
			t.Errorf("%s written as %s, want %s", k, w.as[k], want)
		}
	}
	want := map[string]int{"b/p/q/Ep/A/2026/12/03/08": 2, "b/p/q/Ep/A/2026/12/03/09": 1, "b/p/q/Ep/B/2026/12/03/08": 1}
	if len(counts) != len(want) {
		t.Errorf("files %v, want %v", counts, want)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("files %v, want %v", counts, want)
		}
	}

	// A writer that does not answer: the queue fills, then records are dropped, not waited for.
	w2 := &memWriter{block: make(chan struct{})}
	c2 := NewCapturer(CaptureOptions{Writer: w2, Sessions: fakeSessions{}, Queue: 2, MaxFileBytes: 1})
	began := time.Now()
	for range 10 {
		c2.offer(rec("A", at, "{}"))
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("offering 10 records took %v", d)
	}
	if st := c2.Stats(); st.Dropped < 10-2-1 || st.Captured+st.Dropped != 10 {
		t.Errorf("blocked writer: stats %+v", st)
	}
	close(w2.block)
	c2.Close()
	if st := c2.Stats(); st.Written != st.Captured {
		t.Errorf("after Close: %+v", st)
	}
}

// FuzzParseCaptureConfig: a DataCaptureConfig is refused or gives a configuration whose every
// field is in range, and any payload captured under it encodes to one line of valid JSON.
func FuzzParseCaptureConfig(f *testing.F) {
	for _, s := range []string{
		`{"EnableCapture":true,"InitialSamplingPercentage":20,"DestinationS3Uri":"s3://b/p","CaptureOptions":[{"CaptureMode":"Input"}]}`,
		`{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b","CaptureOptions":[{"CaptureMode":"Output"}],"CaptureContentTypeHeader":{"CsvContentTypes":["text/csv"]}}`,
		`{"InitialSamplingPercentage":101}`, `{"KmsKeyId":"k"}`, `null`, `[]`, `{"DestinationS3Uri":"s3:///x"}`,
	} {
		f.Add(s, []byte("1,2\n"), "text/csv")
	}
	f.Fuzz(func(t *testing.T, raw string, body []byte, ct string) {
		c, err := ParseCaptureConfig(json.RawMessage(raw))
		if err != nil || c == nil {
			return
		}
		if c.InitialSamplingPercentage < 0 || c.InitialSamplingPercentage > 100 || c.bucket == "" || !(c.input || c.output) || c.KmsKeyId != "" {
			t.Fatalf("accepted %s as %+v", raw, c)
		}
		r := capture{endpoint: "e", variant: "v", cfg: c, req: inference.Request{ContentType: ct, Body: body}, resp: inference.Response{ContentType: ct, Body: body}}
		var b bytes.Buffer
		r.encode(&b)
		line := b.Bytes()
		if bytes.Count(line, []byte("\n")) != 1 || !json.Valid(line) {
			t.Fatalf("record %q is not one line of JSON", line)
		}
	})
}

// BenchmarkCapture is what data capture adds to an invocation on its goroutine: sampling, copying
// the payloads and queueing the record (the file is written by the background writer). Reported
// beside an invocation that samples nothing.
func BenchmarkCapture(b *testing.B) {
	for _, pct := range []int{0, 100} {
		b.Run(map[int]string{0: "off", 100: "all"}[pct], func(b *testing.B) {
			cp := NewCapturer(CaptureOptions{Writer: discard{}, Sessions: fakeSessions{}, Queue: 1 << 16})
			defer cp.Close()
			s := &Service{capturer: cp}
			cfg := mustCapture(b, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b/p","CaptureOptions":[{"CaptureMode":"Input"},{"CaptureMode":"Output"}],"CaptureContentTypeHeader":{"CsvContentTypes":["text/csv"]}}`)
			cfg.InitialSamplingPercentage = pct
			e := Endpoint{Account: "1", Name: "ep", ARN: "arn:ep", ConfigName: "c", Deployment: 1}
			s.captures.Store(e.ARN, &captureState{config: "c", deployment: 1, cfg: cfg, roles: map[string]string{"A": "role"}})
			req := inference.Request{ContentType: "text/csv", Body: []byte("0.455,0.365,0.095,0.514,0.2245,0.101,0.15,1,0,0\n")}
			resp := inference.Response{ContentType: "text/csv", Body: []byte("9.8765\n")}
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.capture(ctx, e, "A", req, resp)
				}
			})
			b.StopTimer()
			cp.Flush()
			st := cp.Stats()
			b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
		})
	}
}

type discard struct{}

func (discard) PutObject(context.Context, identity.Caller, string, string, []byte) error { return nil }
