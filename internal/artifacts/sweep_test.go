package artifacts_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
)

// TestSweepOrphans: blobs nothing refers to (a crash between storing a write's bytes and
// committing its row) are deleted once older than OrphanAge; the blobs of objects and of upload
// parts, young orphans (maybe a write in flight) and keys without a time stay.
func TestSweepOrphans(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		f.svc.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		f.svc.SetMinPartSize(1)

		f.put(t, "kept", "object bytes")
		u, err := f.svc.CreateUpload(ctx, f.ds, "ds-data", "pending", artifacts.Object{}, "")
		if err != nil {
			t.Fatal(err)
		}
		part, err := f.svc.UploadPart(ctx, f.ds, artifacts.PartInput{Bucket: "ds-data", Key: "pending", UploadID: u.ID, Number: 1, Body: strings.NewReader("part")})
		if err != nil {
			t.Fatal(err)
		}
		// What a crash leaves: bytes stored, no row.
		old := artifacts.NewBlobKey(now)
		for _, k := range []string{old, "objects/0b0e9a57-1c33-4c5e-9d0a-3f9f8e2e2f10", "elsewhere/x"} {
			if _, err := f.blobs.Put(ctx, k, strings.NewReader("orphan")); err != nil {
				t.Fatal(err)
			}
		}
		advance(20 * time.Hour)
		young := artifacts.NewBlobKey(now)
		if _, err := f.blobs.Put(ctx, young, strings.NewReader("in flight?")); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.SweepOrphans(ctx); err != nil || n != 0 {
			t.Fatalf("sweep at 20 h: %d %v, want nothing (the orphan is younger than %v)", n, err, artifacts.OrphanAge)
		}
		advance(5 * time.Hour)
		before := f.keys(t)
		if n, err := f.svc.SweepOrphans(ctx); err != nil || n != 1 {
			t.Fatalf("sweep at 25 h: %d %v, want the one old orphan", n, err)
		}
		after := f.keys(t)
		if len(after) != len(before)-1 || contains(after, old) || !contains(before, old) || !contains(after, young) {
			t.Errorf("blobs before %v, after %v; only %s should have gone", before, after, old)
		}
		if got, err := f.read(t, f.ds, "kept", nil); err != nil || got != "object bytes" {
			t.Errorf("the object after the sweep: %q %v", got, err)
		}
		if _, err := f.svc.CompleteUpload(ctx, f.ds, "ds-data", "pending", u.ID, []artifacts.CompletedPart{{Number: 1, ETag: part.ETag}}, nil); err != nil {
			t.Errorf("completing the upload whose part is older than the sweep's cut: %v", err)
		}
		if got, err := f.read(t, f.ds, "pending", nil); err != nil || got != "part" {
			t.Errorf("the completed upload: %q %v", got, err)
		}

		// A write whose bytes took longer than MaxWriteTime to store gives up: a sweeper may
		// already have taken its blob for an orphan.
		f.svc.AfterBlob(func(string) { advance(artifacts.MaxWriteTime + time.Minute) })
		defer f.svc.AfterBlob(nil)
		n := len(f.keys(t))
		_, err = f.svc.PutObject(ctx, f.ds, artifacts.PutInput{Bucket: "ds-data", Key: "slow", Body: strings.NewReader("slow bytes")})
		if errs.CodeOf(err) != "RequestTimeout" {
			t.Errorf("a write slower than %v: %v, want RequestTimeout", artifacts.MaxWriteTime, err)
		}
		if _, _, err := f.svc.Get(ctx, f.ds, artifacts.GetInput{Bucket: "ds-data", Key: "slow"}); errs.CodeOf(err) != "NoSuchKey" {
			t.Errorf("the slow write left an object: %v", err)
		}
		if got := len(f.keys(t)); got != n {
			t.Errorf("the slow write left %d blobs behind", got-n)
		}
	})
}

// keys lists the stored blobs' keys.
func (f *fixture) keys(t *testing.T) []string {
	var out []string
	if err := f.blobs.List(context.Background(), "", func(k string, _ int64) error { out = append(out, k); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
