package cli

import (
	"context"
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

var serverHelp = helpText{
	usage: "slipway server [flags]",
	desc: `Runs the control plane: the AWS-compatible API (SageMaker model registry, IAM, STS,
Organizations), /healthz and /metrics, until interrupted (SIGINT or SIGTERM: in-flight requests
finish, then it stops).

On an empty data directory the first start creates an organization (the default one, or the
--org file: read on the first start only) and writes DATA_DIR/credentials, one AWS profile per
account. Several servers may share one PostgreSQL database: give each its own data directory
and all the same master key.`,
	extra: `environment (a flag wins over its variable, which wins over the default):
  SLIPWAY_DATA_DIR, SLIPWAY_LISTEN, SLIPWAY_DATABASE, SLIPWAY_ORG, SLIPWAY_REGION,
  SLIPWAY_LOG_LEVEL, SLIPWAY_MASTER_KEY_FILE   the flags of the same names
  SLIPWAY_MASTER_KEY   the master key itself (hex or base64), instead of a file; no flag, so
                       the key never shows in the process list`,
	example: `slipway server --data-dir ./slipway-data     # API on 127.0.0.1:9330
export AWS_SHARED_CREDENTIALS_FILE=$PWD/slipway-data/credentials
aws --endpoint-url http://127.0.0.1:9330 --profile data-science sts get-caller-identity`,
}

// runServer runs the control plane until interrupted.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway server", serverHelp, stdout, stderr)
	cfg := config.Default()
	cfg.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
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
