package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/internal/executor/local"
)

// runExecutorShim is the hidden subcommand the server starts to supervise one job (see
// internal/executor/local). It outlives the server; it is not meant to be run by hand.
func runExecutorShim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch local.RunShim(args) {
	case 0:
		return nil
	case 2:
		return fmt.Errorf("%w: slipway %s <job state directory>", errUsage, local.ShimArg)
	default:
		return errors.New("the job could not be started; the server reported why")
	}
}
