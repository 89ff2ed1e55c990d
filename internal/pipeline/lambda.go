package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

// Lambda steps. This server has no Lambda: a Lambda step's FunctionArn is mapped, in the
// server's configuration, to a local command. The command gets the step's resolved Arguments
// as a JSON object on stdin and writes a JSON object on stdout (what the function returns);
// each of the step's OutputParameters is the member of that name. A nonzero exit, output that
// is not a JSON object, or a declared output missing or of the wrong type fails the step; an
// ARN with no mapping fails the step when it runs, naming the configuration to add. The
// command runs at least once per attempt: a server killed while it runs runs it again.

// DefaultLambdaTimeout bounds one run of a Lambda step's command (Lambda's own maximum).
const DefaultLambdaTimeout = 15 * time.Minute

// maxLambdaOutput bounds what a Lambda command may write on stdout (Lambda's response limit).
const maxLambdaOutput = 6 << 20

// LambdaCommand is the local command a Lambda function ARN runs: an absolute program and its
// arguments, and environment variables added to the server's.
type LambdaCommand struct {
	Command []string
	Env     map[string]string
}

func (r *run) runLambda(ctx context.Context, s Step, sd *definition.Step) error {
	fn := sd.FunctionArn
	md := map[string]any{"Lambda": map[string]any{"Arn": fn}}
	cmd, ok := r.e.c.Lambdas[fn]
	if !ok || len(cmd.Command) == 0 {
		return r.end(ctx, s, StepFailed, fmt.Sprintf(
			"Lambda function %s has no local command on this server: map it under `lambdas:` in the server's --lambdas file (see docs/pipelines.md).", fn), md, nil)
	}
	args, err := r.arguments(ctx, sd, "")
	if err != nil {
		return r.end(ctx, s, StepFailed, err.Error(), md, nil)
	}
	in, err := json.Marshal(args)
	if err != nil {
		return r.end(ctx, s, StepFailed, "the step's arguments do not encode as JSON: "+err.Error(), md, nil)
	}
	out, err := r.e.invoke(ctx, cmd, in)
	if ctx.Err() != nil {
		return ctx.Err() // the reconcile was cancelled: run the step again later
	}
	if err != nil {
		return r.end(ctx, s, StepFailed, fmt.Sprintf("Lambda function %s: %s", fn, err.Error()), md, nil)
	}
	outs, err := lambdaOutputs(sd, out)
	if err != nil {
		return r.end(ctx, s, StepFailed, fmt.Sprintf("Lambda function %s: %s", fn, err.Error()), md, nil)
	}
	md["Lambda"].(map[string]any)["OutputParameters"] = outs
	return r.end(ctx, s, StepSucceeded, "", md, outputProperties(sd, outs))
}

// invoke runs a Lambda command with the input on stdin and returns its stdout.
func (e *Engine) invoke(ctx context.Context, lc LambdaCommand, input []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.c.LambdaTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, lc.Command[0], lc.Command[1:]...)
	c.Stdin = bytes.NewReader(input)
	env := os.Environ()
	keys := make([]string, 0, len(lc.Env))
	for k := range lc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+lc.Env[k])
	}
	c.Env = env
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = maxLambdaOutput, 4096
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("the command ran longer than %s", e.c.LambdaTimeout)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("the command failed (%s): %s", ee.ProcessState, bytes.TrimSpace(stderr.Bytes()))
		}
		return nil, fmt.Errorf("the command could not run: %v", err)
	}
	if stdout.over {
		return nil, fmt.Errorf("the command wrote more than %d bytes", maxLambdaOutput)
	}
	return stdout.Bytes(), nil
}

// lambdaOutputs reads a Lambda command's stdout, a JSON object, into the step's declared
// OutputParameters (values as strings, as SageMaker shows them).
func lambdaOutputs(sd *definition.Step, stdout []byte) ([]Parameter, error) {
	d := json.NewDecoder(bytes.NewReader(stdout))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil || obj == nil {
		return nil, fmt.Errorf("the command's output is not a JSON object: %q", truncate(string(stdout), 200))
	}
	if d.More() {
		return nil, fmt.Errorf("the command's output has more than one JSON value")
	}
	outs := make([]Parameter, 0, len(sd.Outputs))
	for _, o := range sd.Outputs {
		v, ok := obj[o.Name]
		if !ok {
			return nil, fmt.Errorf("the output has no member %q (an OutputParameter of step %s)", o.Name, sd.Name)
		}
		var sv string
		switch t := v.(type) {
		case string:
			sv = t
		case json.Number:
			sv = t.String()
		case bool:
			sv = strconv.FormatBool(t)
		default:
			sv = string(mustJSON(t))
		}
		outs = append(outs, Parameter{Name: o.Name, Value: sv})
	}
	if err := checkOutputs(sd, outs); err != nil {
		return nil, err
	}
	return outs, nil
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	limit int
	over  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room < len(p) {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
