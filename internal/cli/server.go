package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// runServer runs the control plane until interrupted.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("slipway server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Default()
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: slipway server [--data-dir DIR] [--listen ADDR] [--database postgres://…] [--master-key-file FILE] [--org FILE]")
		fmt.Fprintln(stderr, "Several servers may share one PostgreSQL database: give each its own data directory and all the same master key.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	return a.Serve(ctx, func(addr string) {
		fmt.Fprintf(stdout, "Slipway is listening on http://%s\n", addr)
		if _, err := os.Stat(a.CredentialsPath()); err != nil {
			fmt.Fprintln(stdout, "Credentials: in the data directory of the server that created the organization (this one joined it)")
			return
		}
		fmt.Fprintf(stdout, "Credentials for every account: %s\n", a.CredentialsPath())
		fmt.Fprintf(stdout, "Try: AWS_SHARED_CREDENTIALS_FILE=%s aws --endpoint-url http://%s --profile %s sts get-caller-identity\n",
			a.CredentialsPath(), addr, a.ManagementProfile(ctx))
	})
}
