package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-ml/slipway/internal/algorithms/container"
	"github.com/slipway-ml/slipway/internal/images"
)

const containerUsage = `usage: slipway container <entrypoint> [flags]

The built-in images' entrypoints, run by the server inside jobs (see docs/images.md). They follow
SageMaker's container contract under /opt/ml, or under --root, $JOB_OPT_ML and the SM_* variables.

entrypoints:
  xgboost    SageMaker's XGBoost image in algorithm mode: train, write model/xgboost-model
  linear     the slipway/linear image: train the linear learner, write model/linear-model.json
  script     script mode: unpack sagemaker_submit_directory into code/, run sagemaker_program
  exec       run a processing ContainerEntrypoint, python/python3 mapped to $SLIPWAY_PYTHON
  transform  batch transform of input/data/* with the model in model/ into output/data/
             (settings: $SLIPWAY_TRANSFORM_PARAMS, JSON of SplitType, BatchStrategy, …)
`

// runContainer runs a built-in image's entrypoint. Hidden from the command list: users run these
// through jobs, or by hand as docs/images.md shows.
func runContainer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, containerUsage)
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		io.WriteString(stderr, containerUsage)
		return flag.ErrHelp
	}
	if name == "exec" {
		return containerExec(args[1:], os.Getenv(images.EnvPython), syscall.Exec)
	}
	fs := newFlags("container "+name, "slipway container "+name+" [--root DIR]", stderr)
	root := fs.String("root", "", "the directory to use as /opt/ml (default $JOB_OPT_ML, else /opt/ml)")
	var version, format *string
	if name == "xgboost" {
		version = fs.String("image-version", os.Getenv(images.EnvImageVersion), "the SageMaker XGBoost image version (1.0-1, 1.7-1, …): chooses the model format")
		format = fs.String("model-format", "", "pickle, binary or json (default: the image version's)")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	paths := container.PathsFromEnv(*root, os.Getenv)
	script := container.Script{
		Paths: paths, Python: os.Getenv(images.EnvPython), Fetch: fetchS3,
		Stdout: stdout, Stderr: stderr, Environ: os.Environ(),
	}
	switch name {
	case "xgboost":
		if yes, err := container.ScriptModeRequested(paths); err != nil || yes {
			if err != nil {
				_ = paths.WriteFailure("ClientError: " + err.Error())
				return err
			}
			return container.RunScript(ctx, script) // the image in script mode, as SageMaker's does
		}
		f, err := container.XGBoostModelFormat(*version)
		if err == nil && *format != "" {
			f, err = container.ParseModelFormat(*format)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return container.RunXGBoost(ctx, paths, f, stdout)
	case "linear":
		return container.RunLinear(ctx, paths, stdout)
	case "script":
		return container.RunScript(ctx, script)
	case "transform":
		return runContainerTransform(ctx, paths)
	}
	return fmt.Errorf("%w: unknown container entrypoint %q\n\n%s", errUsage, name, containerUsage)
}

// containerExec replaces this process (execve: syscall.Exec) with a processing job's entrypoint,
// python mapped to the configured interpreter, so signals and the exit status are the script's own.
func containerExec(argv []string, python string, execve func(path string, argv, env []string) error) error {
	if len(argv) == 0 {
		return fmt.Errorf("%w: the image needs a ContainerEntrypoint (e.g. [\"python3\", \"/opt/ml/processing/input/code/script.py\"])", errUsage)
	}
	if python == "" {
		python = images.DefaultPython
	}
	argv = images.Interpreter(python, argv)
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("entrypoint %s: %w", argv[0], err)
	}
	return execve(path, argv, os.Environ())
}

// fetchS3 copies s3://bucket/key to w as the job's role: the SDK's default chain reads the
// container credentials, the region and AWS_ENDPOINT_URL the job's environment holds.
func fetchS3(ctx context.Context, uri string, w io.Writer) error {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if !ok || bucket == "" || key == "" {
		return fmt.Errorf("%q is not s3://bucket/key", uri)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	_, err = io.Copy(w, out.Body)
	return err
}

// runContainerTransform runs a transform job's data path with the settings the engine put in
// SLIPWAY_TRANSFORM_PARAMS.
func runContainerTransform(ctx context.Context, paths container.Paths) error {
	p, err := container.TransformParamsFromEnv(os.Getenv(container.EnvTransformParams))
	if err != nil {
		return err
	}
	return container.RunTransformJob(ctx, paths, p)
}
