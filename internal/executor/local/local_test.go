//go:build linux

package local

import (
	"os"
	"testing"

	"github.com/slipway-ml/slipway/internal/executor"
	"github.com/slipway-ml/slipway/internal/executor/executortest"
)

func TestMain(m *testing.M) {
	MaybeRunShim()
	os.Exit(m.Run())
}

func newLocal(t *testing.T, cfg Config) *Local {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConformance(t *testing.T) {
	for _, mode := range []Mode{ModeNamespace, ModeFallback} {
		t.Run(string(mode), func(t *testing.T) {
			state := t.TempDir()
			executortest.Run(t, func(t *testing.T) executor.Executor {
				l := newLocal(t, Config{StateDir: state, Mode: mode})
				if l.Mode() != mode {
					t.Fatalf("mode %s, want %s", l.Mode(), mode)
				}
				return l
			})
		})
	}
}
