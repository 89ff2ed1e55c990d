//go:build !race

package e2e

// raceEnabled: the tests run without the race detector.
const raceEnabled = false

// slowdown scales the time limits of the story scripts.
const slowdown = 1
