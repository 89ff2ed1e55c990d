package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
)

const auditUsage = `usage: slipway audit verify [--data-dir DIR] [--database postgres://…]

Verifies the audit trail's hash chain. An offline command: it reads the database of a data
directory (or the PostgreSQL database --database names) directly, without a running server,
and changes nothing in it (beyond the schema migrations a server's start would apply).`

// runAudit inspects the audit trail of a data directory, offline.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: %s", errUsage, auditUsage)
	}
	fs := flag.NewFlagSet("slipway audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, auditUsage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	cfg := config.Default()
	cfg.RegisterDataFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := openOffline(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, problem, err := audit.Verify(ctx, st)
	if err != nil {
		return err
	}
	if problem != nil {
		return fmt.Errorf("the audit chain is broken at %s (%d records before it are intact)", problem, n)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d records\n", n)
	return nil
}
