// Package deps has no code: its test checks the import rules between Slipway's packages (see
// deps_test.go), so a dependency that breaks the architecture fails the build's tests.
package deps
