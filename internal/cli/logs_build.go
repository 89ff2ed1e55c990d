package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
)

// runBuildLogs prints (and follows) a build's log stream: /aws/codebuild/PROJECT, the stream
// named by the id's part after the colon, as CodeBuild names them; a build has ended when
// BatchGetBuilds says buildComplete.
func runBuildLogs(ctx context.Context, cf clientFlags, id string, follow bool, poll time.Duration, stdout io.Writer) error {
	project, stream, ok := strings.Cut(id, ":")
	if !ok || project == "" || stream == "" {
		return fmt.Errorf("%w: a build id is PROJECT:ID, not %q", errUsage, id)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	t := &tail{logs: cloudwatchlogs.NewFromConfig(cfg), group: "/aws/codebuild/" + project, prefix: stream, out: stdout, tokens: map[string]string{}}
	if !follow {
		n, err := t.once(ctx)
		if err == nil && n == 0 {
			err = fmt.Errorf("no log stream of build %s in %s", id, t.group)
		}
		return err
	}
	cb := codebuild.NewFromConfig(cfg)
	for {
		_, err := t.once(ctx)
		done := false
		if err == nil || keepFollowing(err) {
			var out *codebuild.BatchGetBuildsOutput
			out, err = cb.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
			if err == nil {
				if len(out.Builds) == 0 {
					return fmt.Errorf("no build %s", id)
				}
				done = out.Builds[0].BuildComplete
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !keepFollowing(err) {
			return err
		}
		if done {
			_, err := t.once(ctx)
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
