//go:build !race

package app_test

// raceEnabled: the tests run without the race detector.
const raceEnabled = false
