package e2e

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestSlipwayLogsFollow runs `slipway logs training-job t1 --follow` against a server and
// appends lines after it started, to a stream it already reads and to a stream that appears
// later: it prints them all, in each stream's order, and exits 0 when interrupted. Without
// --follow it prints what there is and exits; a job with no streams is an error.
func TestSlipwayLogsFollow(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), slowdown*120*time.Second)
	defer cancel()
	s := startServer(t)
	cw := cloudwatchlogs.NewFromConfig(sdkConfig(s.URL, readProfile(t, s.Creds, "data-science")))
	const group = "/aws/sagemaker/TrainingJobs"
	put := func(stream string, lines ...string) {
		t.Helper()
		var evs []cwtypes.InputLogEvent
		for _, l := range lines {
			evs = append(evs, cwtypes.InputLogEvent{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(l)})
		}
		if _, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	stream := func(name string) {
		t.Helper()
		if _, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	stream("t1/algo-1-1764000000")
	stream("t10/algo-1-1764000000") // another job whose name starts like t1's: not printed
	put("t1/algo-1-1764000000", "first line", "second line")
	put("t10/algo-1-1764000000", "not t1's")

	args := []string{"logs", "training-job", "t1", "--endpoint", s.URL, "--credentials", s.Creds, "--profile", "data-science"}
	once, err := exec.CommandContext(ctx, slipwayBinary, args...).CombinedOutput()
	if err != nil || string(once) != "first line\nsecond line\n" {
		t.Fatalf("slipway logs (no --follow) = %q, %v; want the two lines", once, err)
	}
	none, err := exec.CommandContext(ctx, slipwayBinary, "logs", "training-job", "nope", "--endpoint", s.URL, "--credentials", s.Creds).CombinedOutput()
	if err == nil || !strings.Contains(string(none), "no log streams") {
		t.Errorf("slipway logs of a job without streams = %q, %v; want an error", none, err)
	}

	cmd := exec.CommandContext(ctx, slipwayBinary, append(args, "--follow", "--poll", "100ms")...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor := func(want string) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			select {
			case err := <-exited:
				t.Fatalf("slipway logs --follow exited (%v) before printing %q; it printed:\n%s", err, want, out.String())
			case <-ctx.Done():
				t.Fatalf("slipway logs --follow did not print %q; it printed:\n%s", want, out.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitFor("second line\n")
	put("t1/algo-1-1764000000", "third line", "fourth line")
	stream("t1/algo-2-1764000000")
	put("t1/algo-2-1764000000", "from the second instance")
	waitFor("from the second instance\n")
	waitFor("fourth line\n")
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("slipway logs --follow exited with %v after SIGINT; want 0", err)
		}
	case <-ctx.Done():
		t.Fatal("slipway logs --follow did not exit after SIGINT")
	}
	got := out.String()
	for _, l := range []string{"first line", "second line", "third line", "fourth line", "from the second instance"} {
		if strings.Count(got, l) != 1 {
			t.Errorf("%q printed %d times; want once. Output:\n%s", l, strings.Count(got, l), got)
		}
	}
	if strings.Contains(got, "not t1's") {
		t.Errorf("another job's line printed:\n%s", got)
	}
	if i, j := strings.Index(got, "third line"), strings.Index(got, "fourth line"); i > j {
		t.Errorf("a stream's lines out of order:\n%s", got)
	}
}
