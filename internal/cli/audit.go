package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/store"
)

// runAudit inspects the audit trail of a data directory.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: slipway audit verify [--data-dir DIR] [--database postgres://…]", errUsage)
	}
	fs := flag.NewFlagSet("slipway audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Default()
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseDSN(), nil)
	if err != nil {
		return err
	}
	defer st.Close()
	n, problem, err := audit.Verify(ctx, st.Audit())
	if err != nil {
		return err
	}
	if problem != nil {
		return fmt.Errorf("the audit chain is broken at %s (%d records before it are intact)", problem, n)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d records\n", n)
	return nil
}
