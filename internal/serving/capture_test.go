package serving

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
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

func newTestCapturer(t testing.TB, o CaptureOptions) *Capturer {
	t.Helper()
	if o.Spool == "" {
		o.Spool = t.TempDir()
	}
	if o.Sessions == nil {
		o.Sessions = fakeSessions{}
	}
	c, err := NewCapturer(o)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func captureRecord(cfg *CaptureConfig, variant string, at time.Time, body string) *capture {
	return &capture{account: "1", endpoint: "Ep", variant: variant, role: "arn:role/" + variant, cfg: cfg, at: at,
		req:  inference.Request{ContentType: "application/json; charset=utf-8", Body: []byte(body), InferenceID: "id"},
		resp: inference.Response{ContentType: "text/csv", Body: []byte("1\n")}}
}

func spoolLineOf(r *capture) []byte {
	var b bytes.Buffer
	r.spoolLine(&b)
	return b.Bytes()
}

// captureLines returns the records of every object written, by event id.
func captureLines(t testing.TB, w *memWriter) map[string]map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]map[string]any{}
	for k, b := range w.files {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var l map[string]any
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			id := l["eventMetadata"].(map[string]any)["eventId"].(string)
			if _, dup := out[id]; dup {
				t.Errorf("record %s is written twice", id)
			}
			l["object"] = k
			out[id] = l
		}
	}
	return out
}

// TestCapturer: records are grouped into one file per endpoint, variant and hour, written as
// the variant's role in SageMaker's format; a refused write is counted and dropped; the spool
// is empty once everything is written.
func TestCapturer(t *testing.T) {
	w := &memWriter{deny: "nope"}
	dir := t.TempDir()
	c := newTestCapturer(t, CaptureOptions{Writer: w, Spool: dir, Interval: time.Hour})
	cfg := mustCapture(t, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b/p/q/","CaptureOptions":[{"CaptureMode":"Input"},{"CaptureMode":"Output"}],
		"CaptureContentTypeHeader":{"JsonContentTypes":["application/json"]}}`)
	at := time.Date(2026, 12, 3, 8, 59, 59, 0, time.UTC)
	c.offer(captureRecord(cfg, "A", at, `{"x":1}`))
	c.offer(captureRecord(cfg, "A", at, `{"x":2}`))
	c.offer(captureRecord(cfg, "A", at.Add(time.Second), `{"x":3}`)) // the next hour: another file
	c.offer(captureRecord(cfg, "B", at, `{"x":4}`))
	denied := *cfg
	denied.bucket = "nope"
	c.offer(captureRecord(&denied, "A", at, "{}"))
	c.Flush()
	st := c.Stats()
	if st.Captured != 5 || st.Written != 4 || st.Failed != 1 || st.Files != 3 || st.Spooled != 0 || !strings.Contains(st.LastError, "s3://nope/p/q/Ep/A/2026/12/03/08/") {
		t.Errorf("stats %+v", st)
	}
	counts := map[string]int{}
	for _, l := range captureLines(t, w) {
		k := l["object"].(string)
		counts[k[:strings.LastIndexByte(k, '/')]]++
		cd := l["captureData"].(map[string]any)
		in, out := cd["endpointInput"].(map[string]any), cd["endpointOutput"].(map[string]any)
		if in["encoding"] != "JSON" || !strings.HasPrefix(in["data"].(string), `{"x":`) || out["encoding"] != "BASE64" || out["data"] != "MQo=" ||
			l["eventVersion"] != "0" || l["eventMetadata"].(map[string]any)["inferenceId"] != "id" {
			t.Errorf("line %v", l)
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
	if segs, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix)); len(segs) != 1 {
		t.Errorf("the spool holds %v after the upload, want only the open segment", segs)
	}

	// A writer that does not answer: invocations do not wait for it, nor drop records; a
	// spool at its limit drops them.
	w2 := &memWriter{block: make(chan struct{})}
	c2 := newTestCapturer(t, CaptureOptions{Writer: w2, MaxFileBytes: 1, MaxSpoolBytes: 4 << 10})
	began := time.Now()
	for range 30 {
		c2.offer(captureRecord(cfg, "A", at, "{}"))
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("offering 30 records took %v", d)
	}
	if st := c2.Stats(); st.Dropped == 0 || st.Captured == 0 || st.Captured+st.Dropped != 30 {
		t.Errorf("blocked writer and a 4 KiB spool: stats %+v, want some captured and the rest dropped", st)
	}
	close(w2.block)
	c2.Close()
	if st := c2.Stats(); st.Written != st.Captured || st.Spooled != 0 {
		t.Errorf("after Close: %+v", st)
	}
}

// flakyWriter fails with Unavailable once it has written after objects (0: never fails).
type flakyWriter struct {
	memWriter
	after, n int
}

func (w *flakyWriter) PutObject(ctx context.Context, c identity.Caller, bucket, key string, body []byte) error {
	if w.after > 0 && w.n >= w.after {
		return errs.E(errs.Unavailable, "the store is away")
	}
	w.n++
	return w.memWriter.PutObject(ctx, c, bucket, key, body)
}

// TestCaptureSpoolReplay: what a killed process left in the spool is uploaded by the next, each
// record once: a line the kill cut short is skipped; a segment whose upload stopped halfway
// (the store went away) is uploaded again to the same objects, so nothing is doubled.
func TestCaptureSpoolReplay(t *testing.T) {
	dir := t.TempDir()
	cfg := mustCapture(t, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b/p","CaptureOptions":[{"CaptureMode":"Input"}]}`)
	at := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	// A process that spooled 40 records, in 4 files, then was killed in its 41st write(2).
	sp, left, err := openSpool(dir)
	if err != nil || len(left) != 0 {
		t.Fatalf("openSpool: %v, %v", left, err)
	}
	for i := range 40 {
		if _, err := sp.append(spoolLineOf(captureRecord(cfg, fmt.Sprint("V", i%4), at, fmt.Sprintf(`{"i":%d}`, i))), 1<<30, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	torn := spoolLineOf(captureRecord(cfg, "V0", at, `{"i":40}`))
	if _, err := sp.f.Write(torn[:len(torn)/2]); err != nil {
		t.Fatal(err)
	}
	sp.f.Close() // the kill: the open segment is left as it is

	// The next process uploads two objects, then the store goes away; it stops.
	w := &flakyWriter{after: 2}
	c := newTestCapturer(t, CaptureOptions{Writer: w, Spool: dir, Interval: time.Hour})
	c.Flush()
	c.Close()
	if st := c.Stats(); st.Written != 20 || st.Damaged != 1 || st.Spooled == 0 {
		t.Errorf("first replay: %+v, want 20 written, 1 damaged and the segment kept", st)
	}
	// The one after uploads everything, the two objects again among it.
	w.after = 0
	c = newTestCapturer(t, CaptureOptions{Writer: w, Spool: dir, Interval: time.Hour})
	c.Flush()
	if st := c.Stats(); st.Written != 40 || st.Spooled != 0 || st.Files != 4 {
		t.Errorf("second replay: %+v, want 40 written in 4 files and an empty spool", st)
	}
	lines := captureLines(t, &w.memWriter)
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l["captureData"].(map[string]any)["endpointInput"].(map[string]any)["data"].(string)] = true
	}
	if len(lines) != 40 || len(seen) != 40 || len(w.files) != 4 {
		t.Errorf("the destination holds %d records (%d distinct payloads) in %d objects, want 40 in 4", len(lines), len(seen), len(w.files))
	}
	if seen[`{"i":40}`] {
		t.Error("the record cut short by the kill was uploaded")
	}
}

// TestReadSegment: lines are grouped by destination file in the order of their first record
// and cut at the size limit; unreadable lines are counted, wherever they are.
func TestReadSegment(t *testing.T) {
	cfg := mustCapture(t, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b","CaptureOptions":[{"CaptureMode":"Input"}]}`)
	at := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var seg []byte
	for i, v := range []string{"B", "A", "B", "B", "A"} {
		seg = append(seg, spoolLineOf(captureRecord(cfg, v, at, fmt.Sprint(i)))...)
		if i == 1 {
			seg = append(seg, "{not json\n"...)
		}
	}
	files, damaged := readSegment(append(seg, `{"a":"1"`...), 1) // a file is cut after each record
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s:%d", f.dir[3:4], f.records))
	}
	if strings.Join(got, " ") != "B:1 A:1 B:1 B:1 A:1" || damaged != 2 {
		t.Errorf("files %v, damaged %d; want B:1 A:1 B:1 B:1 A:1 and 2 damaged", got, damaged)
	}
	files, _ = readSegment(seg, 1<<20)
	got = nil
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s:%d", f.dir[3:4], f.records))
	}
	if strings.Join(got, " ") != "B:3 A:2" {
		t.Errorf("files %v, want B:3 A:2", got)
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

// FuzzReadSegment: whatever a crash leaves in a segment, reading it does not fail: every line
// is either a record of one object, each of them a line of valid JSON, or counted as damaged.
func FuzzReadSegment(f *testing.F) {
	cfg := mustCapture(f, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b","CaptureOptions":[{"CaptureMode":"Input"}]}`)
	good := spoolLineOf(captureRecord(cfg, "A", time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), "1,2"))
	f.Add(good, 1<<20)
	f.Add(append(append([]byte{}, good...), good[:10]...), 1)
	f.Add([]byte("\x00\x00\x00\n{}\n"), 100)
	f.Add([]byte(`{"a":"1","b":"b","d":"d","l":{}}`+"\n"), 0)
	f.Fuzz(func(t *testing.T, seg []byte, maxBytes int) {
		files, damaged := readSegment(seg, maxBytes)
		records := 0
		for _, f := range files {
			records += f.records
			if f.bucket == "" || f.dir == "" || f.records == 0 || bytes.Count(f.body.Bytes(), []byte("\n")) != f.records {
				t.Fatalf("object %+v", f)
			}
			for _, l := range bytes.Split(bytes.TrimSuffix(f.body.Bytes(), []byte("\n")), []byte("\n")) {
				if !json.Valid(l) {
					t.Fatalf("record %q is not JSON", l)
				}
			}
		}
		if lines := bytes.Count(seg, []byte("\n")) + 1; records+damaged > lines {
			t.Fatalf("%d records and %d damaged lines from %d lines", records, damaged, lines)
		}
	})
}

// BenchmarkCapture is what data capture adds to an invocation on its goroutine: sampling,
// encoding the record and appending it to the spool with write(2). The upload is the background
// writer's and is left out (no segment is sealed while the benchmark runs). Reported beside an
// invocation that samples nothing.
func BenchmarkCapture(b *testing.B) {
	for _, pct := range []int{0, 100} {
		b.Run(map[int]string{0: "off", 100: "all"}[pct], func(b *testing.B) {
			cp := newTestCapturer(b, CaptureOptions{Writer: discard{}, MaxFileBytes: 1 << 30, Interval: time.Hour})
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

// TestCapturerNotStarted: records spooled by a capturer whose uploader never started (a server
// that failed to start) stay in the spool, and the next capturer on it uploads them.
func TestCapturerNotStarted(t *testing.T) {
	dir := t.TempDir()
	cfg := mustCapture(t, `{"InitialSamplingPercentage":100,"DestinationS3Uri":"s3://b","CaptureOptions":[{"CaptureMode":"Input"}]}`)
	w := &memWriter{}
	c, err := NewCapturer(CaptureOptions{Writer: w, Sessions: fakeSessions{}, Spool: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.offer(captureRecord(cfg, "A", time.Now(), fmt.Sprint(i)))
	}
	c.Flush()
	c.Close()
	if len(w.files) != 0 {
		t.Fatalf("a capturer never started wrote %d objects", len(w.files))
	}
	c = newTestCapturer(t, CaptureOptions{Writer: w, Spool: dir})
	c.Flush()
	if st := c.Stats(); st.Written != 3 || len(captureLines(t, w)) != 3 {
		t.Errorf("the next capturer: %+v, want the 3 records written", st)
	}
}
