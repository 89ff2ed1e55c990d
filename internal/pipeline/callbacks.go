package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Callback steps. SageMaker sends a Callback step's token and inputs to an SQS queue and waits
// for SendPipelineExecutionStepSuccess or SendPipelineExecutionStepFailure. This server has no
// SQS: the engine publishes the message as an event on the outbox (CallbackDetailType), in the
// transaction that moves the step to Executing and records the token in its metadata
// (ListPipelineExecutionSteps shows it as Metadata.Callback.CallbackToken). The answer, or the
// timeout, is recorded on the execution under its lock (Execution.Callbacks): the first to commit
// wins, and the engine ends the step as it says.

// CallbackDetailType is the detail-type of the event that carries a Callback step's message:
// its detail is the body SageMaker sends to the step's queue ({"token", "pipelineExecutionArn",
// "arguments", "status"}) with the step's name and queue URL.
const CallbackDetailType = "SageMaker Model Building Pipeline Execution Step Callback"

// DefaultCallbackTimeout is how long a Callback step waits for its answer unless the server is
// configured otherwise.
const DefaultCallbackTimeout = 7 * 24 * time.Hour

// maxOutputParameters and maxOutputValue are SageMaker's bounds on OutputParameters.
const (
	maxOutputParameters = 50
	maxOutputValue      = 1024
)

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// CallbackOutcome is how a Callback step's wait ended.
type CallbackOutcome struct {
	Step        string
	Status      StepStatus  // Succeeded, Failed or Stopped
	Outputs     []Parameter `json:",omitempty"`
	Reason      string      `json:",omitempty"`
	ClientToken string      `json:",omitempty"`
}

type callbackMetadata struct {
	Callback struct {
		CallbackToken    string
		SqsQueueUrl      string
		OutputParameters []Parameter `json:",omitempty"`
	}
}

// CallbackToken is the token a Callback step published ("" for other steps, and before it
// published one): the store indexes steps by it.
func (s Step) CallbackToken() string {
	if s.Type != string(definition.Callback) || len(s.Metadata) == 0 {
		return ""
	}
	var md callbackMetadata
	_ = json.Unmarshal(s.Metadata, &md)
	return md.Callback.CallbackToken
}

// driveCallback publishes a starting Callback step's message with a new token, then waits for
// its answer, the execution's stop, or its timeout.
func (r *run) driveCallback(ctx context.Context, s Step, sd *definition.Step) (bool, error) {
	if s.Status == StepStarting {
		args, err := r.arguments(ctx, sd, "")
		if err != nil {
			return true, r.end(ctx, s, StepFailed, err.Error(), nil, nil)
		}
		token := randid.String(10, tokenAlphabet)
		var md callbackMetadata
		md.Callback.CallbackToken, md.Callback.SqsQueueUrl = token, sd.SqsQueueURL
		prev := s.Status
		s.Status, s.Metadata = StepExecuting, mustJSON(md)
		err = r.save(ctx, s, prev, func(tx Tx, x Execution) error {
			return r.e.c.Service.appendEvent(ctx, tx, x, CallbackDetailType, r.e.c.Service.now(), map[string]any{
				"token": token, "pipelineExecutionArn": x.ARN, "arguments": args, "status": "Executing",
				"stepName": s.Name, "sqsQueueUrl": sd.SqsQueueURL,
			})
		})
		if err == nil {
			r.wake = earliest(r.wake, s.StartedAt.Add(r.e.c.CallbackTimeout))
		}
		return true, err
	}
	token := s.CallbackToken()
	if out, ok := r.x.Callbacks[token]; ok {
		return true, r.applyCallback(ctx, s, sd, out)
	}
	var closing CallbackOutcome
	deadline := s.StartedAt.Add(r.e.c.CallbackTimeout)
	switch {
	case r.x.Status == Stopping:
		closing = CallbackOutcome{Step: s.Name, Status: StepStopped}
	case !r.e.c.Service.now().Before(deadline):
		closing = CallbackOutcome{Step: s.Name, Status: StepFailed, Reason: fmt.Sprintf(
			"The callback step timed out: neither SendPipelineExecutionStepSuccess nor SendPipelineExecutionStepFailure answered token %s within %s.", token, r.e.c.CallbackTimeout)}
	default:
		r.wake = earliest(r.wake, deadline)
		return false, nil
	}
	out, err := r.closeCallback(ctx, token, closing)
	if err != nil {
		return false, err
	}
	return true, r.applyCallback(ctx, s, sd, out)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// closeCallback records how a callback ended unless an answer committed first, and returns
// the outcome that stands.
func (r *run) closeCallback(ctx context.Context, token string, o CallbackOutcome) (CallbackOutcome, error) {
	var got CallbackOutcome
	err := r.audited(ctx, "UpdatePipelineExecution", func(tx Tx, x *Execution) error {
		if prev, ok := x.Callbacks[token]; ok {
			got = prev
			return nil
		}
		if x.Callbacks == nil {
			x.Callbacks = map[string]CallbackOutcome{}
		}
		x.Callbacks[token] = o
		got = o
		return tx.UpdateExecution(ctx, *x)
	})
	return got, err
}

// applyCallback ends a Callback step as its outcome says.
func (r *run) applyCallback(ctx context.Context, s Step, sd *definition.Step, o CallbackOutcome) error {
	var md callbackMetadata
	_ = json.Unmarshal(s.Metadata, &md)
	if o.Status == StepStopped && s.Status == StepExecuting {
		prev := s.Status
		s.Status = StepStopping
		if err := r.save(ctx, s, prev); err != nil {
			return err
		}
	}
	if o.Status != StepSucceeded {
		return r.end(ctx, s, o.Status, o.Reason, nil, nil)
	}
	md.Callback.OutputParameters = o.Outputs
	return r.end(ctx, s, StepSucceeded, "", toMap(md), outputProperties(sd, o.Outputs))
}

func toMap(v any) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(mustJSON(v), &m)
	return m
}

// outputProperties are a Lambda or Callback step's properties: its OutputParameters as
// {Name, Value} pairs, each value typed as the step declares it (Steps.S.OutputParameters['n']).
func outputProperties(sd *definition.Step, outs []Parameter) map[string]any {
	list := make([]any, 0, len(outs))
	for _, o := range outs {
		var v any = o.Value
		if i := slices.IndexFunc(sd.Outputs, func(d definition.OutputParameter) bool { return d.Name == o.Name }); i >= 0 {
			if tv, err := typedOutput(sd.Outputs[i].Type, o.Value); err == nil {
				v = tv
			}
		}
		list = append(list, map[string]any{"Name": o.Name, "Value": v})
	}
	return map[string]any{"OutputParameters": list}
}

// typedOutput reads an output parameter's value as its declared type.
func typedOutput(t definition.ParamType, v string) (any, error) {
	switch t {
	case definition.Integer:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an Integer", v)
		}
		return json.Number(strconv.FormatInt(n, 10)), nil
	case definition.Float:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a Float", v)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case definition.Boolean:
		b, err := strconv.ParseBool(v)
		if err != nil || (v != "true" && v != "false") {
			return nil, fmt.Errorf("%q is not a Boolean (true or false)", v)
		}
		return b, nil
	}
	return v, nil
}

// checkOutputs checks output parameters against the ones a step declares: known names, once
// each, values of the declared type and size.
func checkOutputs(sd *definition.Step, outs []Parameter) error {
	if len(outs) > maxOutputParameters {
		return fmt.Errorf("%d output parameters; at most %d are allowed", len(outs), maxOutputParameters)
	}
	seen := map[string]bool{}
	for _, o := range outs {
		i := slices.IndexFunc(sd.Outputs, func(d definition.OutputParameter) bool { return d.Name == o.Name })
		if i < 0 {
			return fmt.Errorf("step %s declares no output parameter %q", sd.Name, o.Name)
		}
		if seen[o.Name] {
			return fmt.Errorf("output parameter %q is given more than once", o.Name)
		}
		seen[o.Name] = true
		if len(o.Value) > maxOutputValue {
			return fmt.Errorf("output parameter %q is longer than %d characters", o.Name, maxOutputValue)
		}
		if _, err := typedOutput(sd.Outputs[i].Type, o.Value); err != nil {
			return fmt.Errorf("output parameter %q: %v", o.Name, err)
		}
	}
	return nil
}

// CallbackAnswer is a SendPipelineExecutionStepSuccess or SendPipelineExecutionStepFailure
// request.
type CallbackAnswer struct {
	Token       string
	Success     bool
	Outputs     []Parameter // on success
	Reason      string      // on failure
	ClientToken string
}

var tokenRE = func(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// AnswerCallback answers a waiting Callback step: it is found by its token among the executions
// not yet ended, the caller must be allowed the operation on that execution, and the step must
// still wait. Repeating an answer with the same ClientRequestToken returns the execution again.
func (s *Service) AnswerCallback(ctx context.Context, c identity.Call, a CallbackAnswer) (string, error) {
	op := "SendPipelineExecutionStepFailure"
	if a.Success {
		op = "SendPipelineExecutionStepSuccess"
	}
	if !tokenRE(a.Token) {
		return "", invalid("CallbackToken must be 10 letters or digits")
	}
	if len(a.Reason) > 256 {
		return "", invalid("FailureReason is longer than 256 characters")
	}
	x, step, err := s.findCallback(ctx, a.Token)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, c, op, x.ARN, x.Account); err != nil {
		return "", err
	}
	text, err := s.store.ExecutionDefinition(ctx, x.ARN)
	if err != nil {
		return "", err
	}
	def, err := parseDefinition(text)
	if err != nil {
		return "", err
	}
	sd, ok := def.d.Step(step.Name)
	if !ok || sd.Type != definition.Callback {
		return "", invalid("step %s of %s is not a Callback step", step.Name, x.ARN)
	}
	if a.Success {
		if err := checkOutputs(sd, a.Outputs); err != nil {
			return "", invalid("OutputParameters: %s", err.Error())
		}
	}
	reason := a.Reason
	if !a.Success && reason == "" {
		reason = "The callback step failed: SendPipelineExecutionStepFailure gave no reason."
	}
	o := CallbackOutcome{Step: step.Name, Status: StepFailed, Reason: reason, ClientToken: a.ClientToken}
	if a.Success {
		o = CallbackOutcome{Step: step.Name, Status: StepSucceeded, Outputs: a.Outputs, ClientToken: a.ClientToken}
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.LockExecution(ctx, x.ARN)
		if err != nil {
			return err
		}
		if prev, ok := cur.Callbacks[a.Token]; ok {
			if a.ClientToken != "" && prev.ClientToken == a.ClientToken {
				return nil // the same request again
			}
			return invalid("Step %s of pipeline execution %s is no longer waiting for a callback (it ended %s).", step.Name, x.ARN, prev.Status)
		}
		if cur.Status != Executing {
			return invalid("Pipeline execution %s is %s; its callback steps no longer wait.", x.ARN, cur.Status)
		}
		if cur.Callbacks == nil {
			cur.Callbacks = map[string]CallbackOutcome{}
		}
		cur.Callbacks[a.Token] = o
		if err := tx.UpdateExecution(ctx, cur); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, x.ARN, s.now())
	})
	return x.ARN, err
}

// findCallback finds the step, in an execution not yet ended, that waits with a token.
func (s *Service) findCallback(ctx context.Context, token string) (Execution, Step, error) {
	st, err := s.store.StepByCallbackToken(ctx, token)
	if errs.Is(err, errs.NotFound) {
		return Execution{}, Step{}, errs.E(errs.NotFound, "no step of a running pipeline execution waits for callback token %s", token).WithCode("ResourceNotFound")
	}
	if err != nil {
		return Execution{}, Step{}, err
	}
	x, err := s.store.GetExecution(ctx, st.ExecutionARN)
	return x, st, err
}
