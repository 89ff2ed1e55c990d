package artifacts

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Orphaned blobs. A write stores its bytes under a fresh blob key before it commits the row
// that refers to them; a crash in between, or a failed delete after a row let go of its blobs,
// leaves a blob nothing refers to. Such blobs are invisible (no object reads them) but hold
// disk, so SweepOrphans deletes them.
//
// Telling an orphan from the blob of a write still in flight: every blob key starts with the
// time its write began (objects/20061102T150405Z-<uuid>), and a write whose bytes took longer
// than MaxWriteTime to store gives up instead of committing. A blob older than OrphanAge (far
// beyond MaxWriteTime) that no row refers to can therefore never be referred to again. Keys of
// the earlier form (objects/<uuid>, no time) are never swept: their age cannot be told.
const (
	blobPrefix = "objects/"
	// MaxWriteTime bounds the time from a write's start to the moment its bytes are stored.
	MaxWriteTime = 6 * time.Hour
	// OrphanAge is the age past which an unreferenced blob is an orphan.
	OrphanAge = 24 * time.Hour
	keyTime   = "20060102T150405Z"
)

// newBlobKey is a fresh blob key for a write that began at start.
func newBlobKey(start time.Time) string {
	return blobPrefix + start.UTC().Format(keyTime) + "-" + randid.UUID()
}

// blobKeyTime is the time a blob's write began, from its key; false for keys without one.
func blobKeyTime(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, blobPrefix)
	if !ok || len(rest) < len(keyTime)+1 || rest[len(keyTime)] != '-' {
		return time.Time{}, false
	}
	t, err := time.Parse(keyTime, rest[:len(keyTime)])
	return t, err == nil
}

// writeTimedOut is the error of a write whose bytes took longer than MaxWriteTime to store.
func writeTimedOut() error {
	return errs.E(errs.Invalid, "Your socket connection to the server was not read from or written to within the timeout period.").WithCode("RequestTimeout")
}

// SweepOrphans deletes the blobs older than OrphanAge that no object and no upload part refers
// to, and reports how many it deleted. It is safe to run at any time, on several servers at
// once: see the comment on MaxWriteTime.
func (s *Service) SweepOrphans(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-OrphanAge)
	var candidates []string
	err := s.blobs.List(ctx, blobPrefix, func(key string, _ int64) error {
		if t, ok := blobKeyTime(key); ok && t.Before(cutoff) {
			candidates = append(candidates, key)
		}
		return nil
	})
	if err != nil || len(candidates) == 0 {
		return 0, err
	}
	// The references are read after the candidates were listed: a candidate is too old to be
	// committed by a write in flight, so what no row refers to now stays unreferenced.
	referenced := map[string]bool{}
	if err := s.store.ReferencedBlobs(ctx, func(key string) error { referenced[key] = true; return nil }); err != nil {
		return 0, err
	}
	n := 0
	for _, key := range candidates {
		if referenced[key] {
			continue
		}
		if err := s.blobs.Delete(ctx, key); err != nil {
			return n, errs.E(errs.KindOf(err), "cannot delete orphaned blob %s", key, err)
		}
		n++
	}
	if n > 0 {
		s.log.Info("deleted orphaned blobs", "count", n)
	}
	return n, nil
}
