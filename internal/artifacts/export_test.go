package artifacts

import "time"

// SetMinPartSize lets tests complete uploads of small parts.
func (s *Service) SetMinPartSize(n int64) { s.minPartSize = n }

// AfterBlob makes f run once a write's bytes are stored, before its row commits.
func (s *Service) AfterBlob(f func(key string)) { s.hooks.afterBlob = f }

// NextPrefix is nextPrefix, for tests.
var NextPrefix = nextPrefix

// Resolve is Range.resolve, for tests: offset and length.
func Resolve(r *Range, size int64) ([2]int64, error) {
	off, n, err := r.resolve(size)
	return [2]int64{off, n}, err
}

// SetClock replaces the service's clock.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// NewBlobKey is newBlobKey, for tests.
var NewBlobKey = newBlobKey
