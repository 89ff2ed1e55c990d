package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
)

var auditHelp = helpText{
	usage: "slipway audit verify [flags]",
	desc: `Verifies the audit trail's hash chain: every record of every API call, in order, each hash
chained to the one before. An offline command: it reads the database of a data directory (or
the PostgreSQL database --database names) directly, without a running server, and changes
nothing in it (beyond the schema migrations a server's start would apply). Exit status 1 when
the chain is broken, naming the first record that does not verify.`,
	extra:   `environment: SLIPWAY_DATA_DIR, SLIPWAY_DATABASE (the flags of the same names)`,
	example: `slipway audit verify --data-dir ./slipway-data`,
}

// runAudit inspects the audit trail of a data directory, offline.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway audit verify", auditHelp, stdout, stderr)
	cfg := config.Default()
	cfg.RegisterDataFlags(fs)
	if wantsHelp(args) {
		auditHelp.format(stdout, fs)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: want \"slipway audit verify [flags]\" (see slipway audit -h)", errUsage)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
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
