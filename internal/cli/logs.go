package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"

	"github.com/slipway-ml/slipway/internal/credfile"
)

const logsUsage = `usage: slipway logs training-job|processing-job|transform-job|build NAME [flags]

Prints the log lines of a job: every stream of it (NAME/...) in the job kind's log group
(/aws/sagemaker/TrainingJobs, /aws/sagemaker/ProcessingJobs, /aws/sagemaker/TransformJobs), read
through the server's CloudWatch Logs API; for a build (NAME is its id, PROJECT:ID), its stream
in /aws/codebuild/PROJECT. With --follow it keeps printing new lines until the job or build ends
or it is interrupted.

flags:
`

// jobKinds maps the subcommand's job kind to its log group and the DescribeXJob that says when
// it ended.
var jobKinds = map[string]struct {
	group    string
	terminal func(ctx context.Context, sm *sagemaker.Client, name string) (bool, error)
}{
	"training-job": {"/aws/sagemaker/TrainingJobs", func(ctx context.Context, sm *sagemaker.Client, name string) (bool, error) {
		out, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		if err != nil {
			return false, err
		}
		s := string(out.TrainingJobStatus)
		return s == "Completed" || s == "Failed" || s == "Stopped", nil
	}},
	"processing-job": {"/aws/sagemaker/ProcessingJobs", func(ctx context.Context, sm *sagemaker.Client, name string) (bool, error) {
		out, err := sm.DescribeProcessingJob(ctx, &sagemaker.DescribeProcessingJobInput{ProcessingJobName: aws.String(name)})
		if err != nil {
			return false, err
		}
		s := string(out.ProcessingJobStatus)
		return s == "Completed" || s == "Failed" || s == "Stopped", nil
	}},
	"transform-job": {"/aws/sagemaker/TransformJobs", func(ctx context.Context, sm *sagemaker.Client, name string) (bool, error) {
		out, err := sm.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(name)})
		if err != nil {
			return false, err
		}
		s := string(out.TransformJobStatus)
		return s == "Completed" || s == "Failed" || s == "Stopped", nil
	}},
}

// clientFlags are the flags of the subcommands that call a server's API.
type clientFlags struct {
	endpoint, profile, credentials, region string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.endpoint, "endpoint", firstSet(os.Getenv("SLIPWAY_ENDPOINT"), os.Getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:9330"),
		"the server's API URL (default $SLIPWAY_ENDPOINT, $AWS_ENDPOINT_URL)")
	fs.StringVar(&c.endpoint, "endpoint-url", c.endpoint, "the same as --endpoint (the aws CLI's name for it)")
	fs.StringVar(&c.profile, "profile", os.Getenv("AWS_PROFILE"), "the credentials profile (default $AWS_PROFILE; without one, $AWS_ACCESS_KEY_ID… or the profile data-science)")
	fs.StringVar(&c.credentials, "credentials", os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), "the shared credentials file (default $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)")
	fs.StringVar(&c.region, "region", firstSet(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1"), "the region")
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// config returns the SDK configuration the flags describe.
func (c *clientFlags) config() (aws.Config, error) {
	cfg := aws.Config{Region: c.region, BaseEndpoint: aws.String(c.endpoint), RetryMaxAttempts: 3}
	if c.profile == "" && os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
		return cfg, nil
	}
	path := c.credentials
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return cfg, fmt.Errorf("no credentials: set --credentials or AWS_SHARED_CREDENTIALS_FILE: %w", err)
		}
		path = filepath.Join(home, ".aws", "credentials")
	}
	profiles, err := credfile.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("cannot read the credentials file: %w", err)
	}
	name := firstSet(c.profile, "data-science")
	p, ok := profiles[name]
	if !ok {
		return cfg, fmt.Errorf("the credentials file %s has no profile %q", path, name)
	}
	cfg.Credentials = credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
	return cfg, nil
}

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, logsUsage); fs.PrintDefaults() }
	var cf clientFlags
	cf.register(fs)
	follow := fs.Bool("follow", false, "keep printing new lines until the job ends or the command is interrupted")
	poll := fs.Duration("poll", time.Second, "with --follow, how often to look for new lines")
	// Flags may come before or after KIND NAME.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("%w: want a job kind and a job name", errUsage)
	}
	kind, ok := jobKinds[pos[0]]
	if pos[0] == "build" {
		return runBuildLogs(ctx, cf, pos[1], *follow, *poll, stdout)
	}
	if !ok {
		return fmt.Errorf("%w: unknown job kind %q: want training-job, processing-job or transform-job", errUsage, pos[0])
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	t := &tail{
		logs: cloudwatchlogs.NewFromConfig(cfg), group: kind.group, prefix: pos[1] + "/", out: stdout,
		tokens: map[string]string{},
	}
	if !*follow {
		n, err := t.once(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no log streams of %s %s in %s", pos[0], pos[1], kind.group)
		}
		return nil
	}
	sm := sagemaker.NewFromConfig(cfg)
	for {
		_, err := t.once(ctx)
		var done bool
		if err == nil || keepFollowing(err) {
			done, err = kind.terminal(ctx, sm, pos[1])
		}
		if ctx.Err() != nil {
			return nil // interrupted: what was printed is what there was
		}
		if err != nil && !keepFollowing(err) {
			return err
		}
		if done {
			_, err := t.once(ctx) // what the job wrote before it ended
			return err
		}
		select {
		case <-ctx.Done():
			return nil // interrupted: what was printed is what there was
		case <-time.After(*poll):
		}
	}
}

// keepFollowing reports whether an error only means "not there yet": a job or log group not
// created yet, or a server whose jobs API is not there.
func keepFollowing(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "UnknownOperationException", "ValidationException", "ResourceNotFoundException", "ResourceNotFound":
		return true
	}
	return false
}

// tail reads a job's streams onward, each from where it stopped.
type tail struct {
	logs   *cloudwatchlogs.Client
	group  string
	prefix string
	out    io.Writer
	tokens map[string]string // stream → the forward token to read on from
}

// once prints what every stream of the job holds beyond what was printed already; it returns
// how many streams the job has.
func (t *tail) once(ctx context.Context) (int, error) {
	var names []string
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(t.logs, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(t.group), LogStreamNamePrefix: aws.String(t.prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, s := range page.LogStreams {
			names = append(names, aws.ToString(s.LogStreamName))
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := t.stream(ctx, name, len(names) > 1); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// stream prints a stream's events after its token until a read returns the token it was given
// (CloudWatch's end of the stream, for now).
func (t *tail) stream(ctx context.Context, name string, prefixed bool) error {
	for {
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(t.group), LogStreamName: aws.String(name), StartFromHead: aws.Bool(true)}
		tok, seen := t.tokens[name]
		if seen {
			in.NextToken = aws.String(tok)
		}
		out, err := t.logs.GetLogEvents(ctx, in)
		if err != nil {
			return err
		}
		printEvents(t.out, name, out.Events, prefixed)
		next := aws.ToString(out.NextForwardToken)
		t.tokens[name] = next
		if next == tok || len(out.Events) == 0 {
			return nil
		}
	}
}

func printEvents(w io.Writer, stream string, evs []cwtypes.OutputLogEvent, prefixed bool) {
	var b strings.Builder
	for _, e := range evs {
		if prefixed {
			b.WriteString(stream)
			b.WriteString(" | ")
		}
		b.WriteString(strings.TrimSuffix(aws.ToString(e.Message), "\n"))
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}
