package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

var pipelinesWatchHelp = helpText{
	usage: "slipway pipelines watch PIPELINE [flags]",
	desc: `Follows an execution of a pipeline (its latest, or --execution) through the server's
SageMaker API: prints a line each time a step starts or changes status — its status, how long
it has run, its attempt, a cache hit and the failure reason — and a last line with the
execution's status when it ends. Exit status 1 when the execution failed or was stopped.`,
	example: `slipway pipelines watch abalone-build --profile data-science
slipway pipelines watch abalone-build --execution arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone-build/execution/abc123`,
}

// runPipelines runs slipway pipelines SUBCOMMAND.
func runPipelines(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want a subcommand: watch or explain-cache", errUsage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		args = []string{"watch", "-h"}
	}
	if args[0] == "explain-cache" {
		return runPipelinesExplainCache(ctx, args[1:], stdout, stderr)
	}
	if args[0] != "watch" {
		return fmt.Errorf("%w: unknown subcommand %q: want watch or explain-cache", errUsage, args[0])
	}
	fs := newCommand("pipelines watch", pipelinesWatchHelp, stdout, stderr)
	var cf clientFlags
	cf.register(fs)
	execution := fs.String("execution", "", "the execution to follow (default: the pipeline's latest)")
	poll := fs.Duration("poll", time.Second, "how often to look at the execution")
	var pos []string
	for rest := args[1:]; ; {
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
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one pipeline name", errUsage)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	sm := sagemaker.NewFromConfig(cfg)
	arn := *execution
	if arn == "" {
		out, err := sm.ListPipelineExecutions(ctx, &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String(pos[0]),
			SortBy: smtypes.SortPipelineExecutionsByCreationTime, SortOrder: smtypes.SortOrderDescending, MaxResults: aws.Int32(1)})
		if err != nil {
			return err
		}
		if len(out.PipelineExecutionSummaries) == 0 {
			return fmt.Errorf("pipeline %s has no executions", pos[0])
		}
		arn = aws.ToString(out.PipelineExecutionSummaries[0].PipelineExecutionArn)
	}
	fmt.Fprintf(stdout, "execution %s\n", arn)
	w := &watcher{sm: sm, arn: arn, out: stdout, seen: map[string]string{}}
	for {
		status, reason, err := w.once(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch status {
		case smtypes.PipelineExecutionStatusSucceeded:
			fmt.Fprintf(stdout, "execution %s\n", status)
			return nil
		case smtypes.PipelineExecutionStatusFailed, smtypes.PipelineExecutionStatusStopped:
			fmt.Fprintf(stdout, "execution %s: %s\n", status, reason)
			return fmt.Errorf("the execution %s", strings.ToLower(string(status)))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*poll):
		}
	}
}

// watcher prints the steps of one execution as they change.
type watcher struct {
	sm   *sagemaker.Client
	arn  string
	out  io.Writer
	seen map[string]string // step → what was printed last
}

// once prints what changed since the last look and returns the execution's status. The steps
// are read after the status, so an ended execution's last steps are printed before it ends.
func (w *watcher) once(ctx context.Context) (smtypes.PipelineExecutionStatus, string, error) {
	d, err := w.sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(w.arn)})
	if err != nil {
		return "", "", err
	}
	var steps []smtypes.PipelineExecutionStep
	p := sagemaker.NewListPipelineExecutionStepsPaginator(w.sm, &sagemaker.ListPipelineExecutionStepsInput{
		PipelineExecutionArn: aws.String(w.arn), SortOrder: smtypes.SortOrderAscending})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", "", err
		}
		steps = append(steps, page.PipelineExecutionSteps...)
	}
	sort.SliceStable(steps, func(i, j int) bool { return aws.ToTime(steps[i].StartTime).Before(aws.ToTime(steps[j].StartTime)) })
	for _, s := range steps {
		line := stepLine(s)
		name := aws.ToString(s.StepName)
		if w.seen[name] == line {
			continue
		}
		w.seen[name] = line
		fmt.Fprintln(w.out, line)
	}
	return d.PipelineExecutionStatus, aws.ToString(d.FailureReason), nil
}

// stepLine is how a step is shown: name, status, attempt, duration (once ended), cache hit,
// failure reason.
func stepLine(s smtypes.PipelineExecutionStep) string {
	parts := []string{fmt.Sprintf("  %-28s %-10s attempt %d", aws.ToString(s.StepName), s.StepStatus, aws.ToInt32(s.AttemptCount))}
	if s.EndTime != nil && s.StartTime != nil {
		parts = append(parts, s.EndTime.Sub(*s.StartTime).Round(100*time.Millisecond).String())
	}
	if s.CacheHitResult != nil {
		parts = append(parts, "cache hit of "+aws.ToString(s.CacheHitResult.SourcePipelineExecutionArn))
	}
	if r := aws.ToString(s.FailureReason); r != "" {
		parts = append(parts, "— "+r)
	}
	return strings.Join(parts, "  ")
}
