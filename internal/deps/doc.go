// Package deps has no code: its tests check the architecture's import rules as an allow-list by
// layer (every package classified; domain packages reach neither net/http nor database/sql nor a
// wire adapter) and that the CLI reaches a server only through its API (deps_test.go).
package deps
