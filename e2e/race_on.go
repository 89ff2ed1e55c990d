//go:build race

package e2e

// raceEnabled: the tests run under the race detector, so the slipway binary they start is built
// with it too.
const raceEnabled = true

// slowdown scales the time limits of the story scripts: a race-built server answers several
// times slower.
const slowdown = 3
