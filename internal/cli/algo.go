package cli

import (
	"context"
	"fmt"
	"io"
)

// runAlgo is replaced by the algorithms work (issue 3).
func runAlgo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: slipway algo prep|train|evaluate|predict", errUsage)
}
