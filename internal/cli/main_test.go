package cli

import (
	"context"
	"os"
	"testing"

	"github.com/slipway-ml/slipway/internal/executor/local"
)

// TestMain lets the test binary stand in for the slipway binary where the servers the tests
// start need it (the demo's jobs and builds): as the jobs' supervisor (`executor-shim`), as the
// built-in images' entrypoint (`container …`, `algo …`) and as the builds' `slipway build …`.
func TestMain(m *testing.M) {
	local.MaybeRunShim()
	if len(os.Args) > 1 && (os.Args[1] == "container" || os.Args[1] == "algo" || os.Args[1] == "build") {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
