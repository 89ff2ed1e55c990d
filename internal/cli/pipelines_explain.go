package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/internal/slipwayclient"
)

var pipelinesExplainHelp = helpText{
	usage: "slipway pipelines explain-cache EXECUTION-ARN STEP [flags]",
	desc: `Explains why a step of a pipeline execution hit or missed the step cache, with the
server's SlipwayExplainPipelineStepCache operation (authorized as DescribePipelineExecution):
the step's cache key, the execution it is compared with (the one whose result it reused, or on
a miss the most recent earlier execution in which the step succeeded with caching on), and
each argument path whose value differs, before and after.`,
	example: `slipway pipelines explain-cache arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone-build/execution/abc123 Train`,
}

func runPipelinesExplainCache(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("pipelines explain-cache", pipelinesExplainHelp, stdout, stderr)
	var cf clientFlags
	cf.register(fs)
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want an execution ARN and a step name", errUsage)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	x, err := slipwayclient.New(cfg).ExplainPipelineStepCache(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	printExplanation(stdout, x)
	return nil
}

// printExplanation writes an explanation for people.
func printExplanation(w io.Writer, x slipwayclient.CacheExplanation) {
	fmt.Fprintf(w, "step %s of %s\n", x.StepName, x.PipelineExecutionArn)
	if x.CacheKey == "" {
		fmt.Fprintln(w, "no cache key: caching is not enabled for this step (CacheConfig), or it is not a job step")
		return
	}
	fmt.Fprintf(w, "cache key  %s\n", x.CacheKey)
	switch {
	case x.CacheHitResult != nil:
		fmt.Fprintf(w, "cache HIT  reused %s\n", x.CacheHitResult.SourcePipelineExecutionArn)
	case x.ComparedPipelineExecutionArn == "":
		fmt.Fprintln(w, "cache MISS no earlier execution ran this step with caching on")
		return
	case x.Expired:
		fmt.Fprintf(w, "cache MISS the arguments equal those of %s, whose entry had expired (CacheConfig.ExpireAfter)\n", x.ComparedPipelineExecutionArn)
		return
	default:
		fmt.Fprintf(w, "cache MISS compared with %s (key %s)\n", x.ComparedPipelineExecutionArn, x.ComparedCacheKey)
	}
	if len(x.Differences) == 0 {
		fmt.Fprintln(w, "no argument differs")
		return
	}
	fmt.Fprintf(w, "%d argument path(s) differ:\n", len(x.Differences))
	for _, d := range x.Differences {
		before, after := d.Before, d.After
		if before == "" {
			before = "(absent)"
		}
		if after == "" {
			after = "(absent)"
		}
		fmt.Fprintf(w, "  %s: %s -> %s\n", d.Path, before, after)
	}
}
