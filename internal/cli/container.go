package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/slipway-ml/slipway/internal/algorithms/container"
)

const containerUsage = `usage: slipway container <entrypoint> [flags]

The built-in images' entrypoints, run by the server inside jobs (see docs/images.md). They follow
SageMaker's container contract under /opt/ml, or under --root, $JOB_OPT_ML and the SM_* variables.

entrypoints:
  xgboost    SageMaker's XGBoost image in algorithm mode: train, write model/xgboost-model
  script     script mode: unpack sagemaker_submit_directory into code/, run sagemaker_program
  transform  batch transform of input/data/* with the model in model/
`

// runContainer runs a built-in image's entrypoint. Hidden from the command list: users run these
// through jobs, or by hand as docs/images.md shows.
func runContainer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, containerUsage)
	}
	switch args[0] {
	case "xgboost":
		fs := newFlags("container xgboost", "slipway container xgboost [--root DIR] [--image-version V]", stderr)
		root := fs.String("root", "", "the directory to use as /opt/ml (default $JOB_OPT_ML, else /opt/ml)")
		version := fs.String("image-version", os.Getenv("SLIPWAY_IMAGE_VERSION"), "the SageMaker XGBoost image version (1.0-1, 1.7-1, …): chooses the model format")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		return container.RunXGBoost(ctx, container.PathsFromEnv(*root, os.Getenv), *version, stdout)
	case "-h", "--help", "help":
		io.WriteString(stderr, containerUsage)
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: unknown container entrypoint %q\n\n%s", errUsage, args[0], containerUsage)
}
