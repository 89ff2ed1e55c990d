//go:build race

package app_test

// raceEnabled: the tests run under the race detector, which makes every byte copied several
// times dearer; the tests that move many megabytes move fewer then.
const raceEnabled = true
