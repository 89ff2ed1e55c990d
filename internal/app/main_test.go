package app_test

import (
	"context"
	"os"
	"testing"

	"github.com/slipway-ml/slipway/internal/cli"
	"github.com/slipway-ml/slipway/internal/executor/local"
)

// TestMain lets the test binary stand in for the slipway binary where jobs need it: as the
// jobs' supervisor (`executor-shim`) and as the built-in images' entrypoint (`container …`, `algo …`),
// so the jobs tests run real workers without building the binary first.
func TestMain(m *testing.M) {
	local.MaybeRunShim()
	if len(os.Args) > 1 && (os.Args[1] == "container" || os.Args[1] == "algo" || os.Args[1] == "build") {
		os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
