// Package sample ships the data sets the demo and the tests use, embedded in the binary so the
// demo runs on a machine with nothing but slipway. See ATTRIBUTION.md for their origin and
// licence.
package sample

import _ "embed"

//go:embed abalone.csv
var abalone []byte

// Abalone returns the UCI abalone data set as CSV with a header (sex, seven measurements, rings).
func Abalone() []byte { return abalone }
