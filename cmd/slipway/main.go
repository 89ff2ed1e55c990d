// Command slipway is the Slipway MLOps control plane: the server and its command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-ml/slipway/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
