//go:build race

package inference

// raceEnabled: the race detector makes sync.Pool drop items at random, so a pooled buffer is sometimes
// grown afresh.
const raceEnabled = true
