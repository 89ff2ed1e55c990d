package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// callbackDefinition is a pipeline whose Callback step Wait waits for an answer with outputs
// Approved (Boolean) and Note (String); a condition on Approved fails the execution when false.
func callbackDefinition(account string) string {
	return `{"Version":"2020-12-01","Parameters":[{"Name":"N","Type":"Integer","DefaultValue":4}],"Steps":[
{"Name":"Wait","Type":"Callback","SqsQueueUrl":"https://sqs.us-east-1.amazonaws.com/` + account + `/approvals",
 "Arguments":{"n":{"Get":"Parameters.N"},"who":"reviewer"},
 "OutputParameters":[{"OutputName":"Approved","OutputType":"Boolean"},{"OutputName":"Note"}]},
{"Name":"Check","Type":"Condition","Arguments":{"Conditions":[{"Type":"Equals","LeftValue":{"Get":"Steps.Wait.OutputParameters['Approved']"},"RightValue":true}],
 "IfSteps":[],"ElseSteps":[{"Name":"Refused","Type":"Fail","Arguments":{"ErrorMessage":{"Std:Join":{"On":" ","Values":["refused:",{"Get":"Steps.Wait.OutputParameters['Note']"}]}}}}]}}]}`
}

// waitingCallback waits until an execution's step waits for its callback and returns its token.
func waitingCallback(t testing.TB, sm *sagemaker.Client, arn, step string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := stepsOf(t, sm, arn)[step]
		if st.Metadata != nil && st.Metadata.Callback != nil && aws.ToString(st.Metadata.Callback.CallbackToken) != "" {
			if st.StepStatus != smtypes.StepStatusExecuting {
				t.Fatalf("step %s has a token but is %s", step, st.StepStatus)
			}
			return aws.ToString(st.Metadata.Callback.CallbackToken)
		}
		if time.Now().After(deadline) {
			t.Fatalf("step %s of %s never waited for its callback: %+v", step, arn, st)
		}
	}
}

// callbackExecution starts an execution of a new callback pipeline and returns its variables,
// with the token its step waits with.
func (e *authzEnv) callbackExecution() map[string]string {
	v := e.pipelineOf(callbackDefinition(e.account))
	out, err := e.admin.sm.StartPipelineExecution(context.Background(), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]), ClientRequestToken: token()})
	e.must(err)
	v["PipelineExecutionArn"] = *out.PipelineExecutionArn
	v["CallbackToken"] = waitingCallback(e.t, e.admin.sm, *out.PipelineExecutionArn, "Wait")
	return v
}

// failedExecution starts an execution of a pipeline whose one step fails, and waits for it.
func (e *authzEnv) failedExecution() map[string]string {
	v := e.pipelineOf(`{"Version":"2020-12-01","Steps":[{"Name":"Stop","Type":"Fail","Arguments":{"ErrorMessage":"no"}}]}`)
	out, err := e.admin.sm.StartPipelineExecution(context.Background(), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]), ClientRequestToken: token()})
	e.must(err)
	v["PipelineExecutionArn"] = *out.PipelineExecutionArn
	waitExecution(e.t, e.admin.sm, *out.PipelineExecutionArn, 30*time.Second)
	return v
}

func pipelineAnswerCases() map[string]opCase {
	x := func(v map[string]string) *string { return aws.String(v["PipelineExecutionArn"]) }
	return map[string]opCase{
		"RetryPipelineExecution": {(*authzEnv).failedExecution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.RetryPipelineExecution(ctx, &sagemaker.RetryPipelineExecutionInput{PipelineExecutionArn: x(v), ClientRequestToken: token()})
			return err
		}},
		"UpdatePipelineExecution": {(*authzEnv).execution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.UpdatePipelineExecution(ctx, &sagemaker.UpdatePipelineExecutionInput{PipelineExecutionArn: x(v), PipelineExecutionDescription: aws.String("updated")})
			return err
		}},
		"SendPipelineExecutionStepSuccess": {(*authzEnv).callbackExecution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(v["CallbackToken"]),
				OutputParameters: []smtypes.OutputParameter{{Name: aws.String("Approved"), Value: aws.String("true")}}, ClientRequestToken: token()})
			return err
		}},
		"SendPipelineExecutionStepFailure": {(*authzEnv).callbackExecution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(v["CallbackToken"]),
				FailureReason: aws.String("no"), ClientRequestToken: token()})
			return err
		}},
	}
}

// startWith starts a server like start, with its configuration changed by set first.
func startWith(t *testing.T, set func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	set(&cfg)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	t.Cleanup(func() { hs.Close(); a.Close() })
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles {
		s.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		s.account[name] = p.Account
	}
	return s
}

func randomToken(seed string) string {
	out := []byte("Zz00000000")
	copy(out[2:], seed)
	return string(out)
}

// TestPipelineCallbacksAndLambdas runs a Lambda step (a mapped local command) feeding a Callback
// step through the Go SDK: the callback's message is an outbox event, its token is in the
// step's metadata; wrong tokens, another account, undeclared or mistyped outputs and answers to
// a step no longer waiting are refused and change nothing; the answer's outputs reach the next
// step; an unmapped Lambda and an unanswered callback fail their steps.
func TestPipelineCallbacksAndLambdas(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	script := filepath.Join(dir, "double.py")
	if err := os.WriteFile(script, []byte("import json,sys\nd=json.load(sys.stdin)\nprint(json.dumps({'Doubled': d['n']*2, 'Seen': d['who']}))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var account string
	s := startWith(t, func(c *config.Config) {
		c.CallbackTimeout = 1500 * time.Millisecond
		c.Lambdas = []config.LambdaFunction{{FunctionArn: "arn:aws:lambda:us-east-1:111122223333:function:double", Command: []string{"/usr/bin/python3", script}}}
	})
	account = s.account["data-science"]
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: account, org: map[string]string{}}
	sm := e.admin.sm
	role := e.sharedPipelineRole()
	def := `{"Version":"2020-12-01","Parameters":[{"Name":"N","Type":"Integer","DefaultValue":4}],"Steps":[
{"Name":"Double","Type":"Lambda","FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:double",
 "Arguments":{"n":{"Get":"Parameters.N"},"who":"lambda"},
 "OutputParameters":[{"OutputName":"Doubled","OutputType":"Integer"},{"OutputName":"Seen"}]},
{"Name":"Wait","Type":"Callback","SqsQueueUrl":"https://sqs.us-east-1.amazonaws.com/` + account + `/approvals",
 "Arguments":{"doubled":{"Get":"Steps.Double.OutputParameters['Doubled']"}},
 "OutputParameters":[{"OutputName":"Approved","OutputType":"Boolean"},{"OutputName":"Note"}]},
{"Name":"Check","Type":"Condition","Arguments":{"Conditions":[{"Type":"Equals","LeftValue":{"Get":"Steps.Wait.OutputParameters['Approved']"},"RightValue":true},
  {"Type":"GreaterThan","LeftValue":{"Get":"Steps.Double.OutputParameters['Doubled']"},"RightValue":7}],
 "IfSteps":[],"ElseSteps":[{"Name":"Refused","Type":"Fail","Arguments":{"ErrorMessage":{"Std:Join":{"On":" ","Values":["refused:",{"Get":"Steps.Wait.OutputParameters['Note']"}]}}}}]}}]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("gated"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	run, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("gated"), ClientRequestToken: token()})
	e.must(err)
	arn := *run.PipelineExecutionArn
	tok := waitingCallback(t, sm, arn, "Wait")
	steps := stepsOf(t, sm, arn)
	if l := steps["Double"]; l.StepStatus != smtypes.StepStatusSucceeded || l.Metadata == nil || l.Metadata.Lambda == nil ||
		aws.ToString(l.Metadata.Lambda.Arn) != "arn:aws:lambda:us-east-1:111122223333:function:double" || len(l.Metadata.Lambda.OutputParameters) != 2 ||
		aws.ToString(l.Metadata.Lambda.OutputParameters[0].Value) != "8" || aws.ToString(l.Metadata.Lambda.OutputParameters[1].Value) != "lambda" {
		t.Errorf("the Lambda step: %+v (%s)", l.Metadata, aws.ToString(l.FailureReason))
	}
	if cb := steps["Wait"].Metadata.Callback; aws.ToString(cb.SqsQueueUrl) != "https://sqs.us-east-1.amazonaws.com/"+account+"/approvals" || len(tok) != 10 {
		t.Errorf("callback metadata %+v", cb)
	}

	// The message SageMaker would send to the queue is an event: the token, the resolved inputs.
	evs, err := s.app.Store.Events().EventsAfter(ctx, 0, 10000)
	e.must(err)
	var msgs []map[string]any
	for _, ev := range evs {
		if ev.DetailType == "SageMaker Model Building Pipeline Execution Step Callback" {
			var d map[string]any
			e.must(json.Unmarshal(ev.Detail, &d))
			msgs = append(msgs, d)
		}
	}
	if len(msgs) != 1 || msgs[0]["token"] != tok || msgs[0]["pipelineExecutionArn"] != arn || msgs[0]["stepName"] != "Wait" ||
		msgs[0]["arguments"].(map[string]any)["doubled"] != float64(8) {
		t.Errorf("callback messages %v", msgs)
	}

	// Refusals: nothing changes.
	other := clientsOf(s.cfg("staging"))
	answer := func(c *sagemaker.Client, token string, outs ...string) error {
		in := &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(token), ClientRequestToken: aws.String("answer-1-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx")}
		for i := 0; i+1 < len(outs); i += 2 {
			in.OutputParameters = append(in.OutputParameters, smtypes.OutputParameter{Name: aws.String(outs[i]), Value: aws.String(outs[i+1])})
		}
		_, err := c.SendPipelineExecutionStepSuccess(ctx, in)
		return err
	}
	for _, c := range []struct {
		what, code string
		err        error
	}{
		{"a token no step waits with", "ResourceNotFound", answer(sm, randomToken("x1"), "Approved", "true")},
		{"a malformed token", "ValidationException", answer(sm, "short", "Approved", "true")},
		{"another account", "AccessDenied", answer(other.sm, tok, "Approved", "true")},
		{"an undeclared output", "ValidationException", answer(sm, tok, "Approved", "true", "Extra", "1")},
		{"a mistyped output", "ValidationException", answer(sm, tok, "Approved", "yes")},
	} {
		if !strings.Contains(code(c.err), c.code) {
			t.Errorf("an answer with %s: %v, want %s", c.what, c.err, c.code)
		}
	}
	if _, err := other.sm.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("another account's failure: %v", err)
	}
	if st := stepsOf(t, sm, arn)["Wait"]; st.StepStatus != smtypes.StepStatusExecuting {
		t.Fatalf("after refused answers the step is %s", st.StepStatus)
	}

	// The answer; the same request again is accepted; another is refused (the step no longer waits).
	e.must(answer(sm, tok, "Approved", "true", "Note", "ok by me"))
	// The same request again is accepted while the execution runs; once the answer has let it
	// finish, the token belongs to no running execution and the repeat finds nothing (tokens are
	// looked up among running executions only).
	if err := answer(sm, tok, "Approved", "true", "Note", "ok by me"); err != nil && !strings.Contains(code(err), "ResourceNotFound") {
		t.Errorf("the same answer again: %v, want it accepted (or ResourceNotFound once the execution ended)", err)
	}
	if _, err := sm.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("late")}); !strings.Contains(code(err), "ValidationException") && !strings.Contains(code(err), "ResourceNotFound") {
		// ValidationException while the execution runs on, ResourceNotFound once it ended.
		t.Errorf("a failure after the answer: %v, want ValidationException or ResourceNotFound", err)
	}
	if d := waitExecution(t, sm, arn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("the answered execution: %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	steps = stepsOf(t, sm, arn)
	if w := steps["Wait"]; w.StepStatus != smtypes.StepStatusSucceeded || len(w.Metadata.Callback.OutputParameters) != 2 || aws.ToString(w.Metadata.Callback.OutputParameters[1].Value) != "ok by me" {
		t.Errorf("the answered step: %s %+v", w.StepStatus, w.Metadata.Callback)
	}
	if _, ran := steps["Refused"]; ran {
		t.Errorf("the else branch ran")
	}

	// A failure answer fails the step with its reason; a rejection by output takes the else branch.
	run2, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("gated"), ClientRequestToken: token()})
	e.must(err)
	tok2 := waitingCallback(t, sm, *run2.PipelineExecutionArn, "Wait")
	_, err = sm.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok2), FailureReason: aws.String("reviewer said no")})
	e.must(err)
	if d := waitExecution(t, sm, *run2.PipelineExecutionArn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed ||
		aws.ToString(stepsOf(t, sm, *run2.PipelineExecutionArn)["Wait"].FailureReason) != "reviewer said no" {
		t.Errorf("a failed callback: %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	run3, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("gated"), ClientRequestToken: token()})
	e.must(err)
	e.must(answer(sm, waitingCallback(t, sm, *run3.PipelineExecutionArn, "Wait"), "Approved", "false", "Note", "too risky"))
	if d := waitExecution(t, sm, *run3.PipelineExecutionArn, 30*time.Second); aws.ToString(d.FailureReason) != "refused: too risky" {
		t.Errorf("a rejecting answer: %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}

	// Unanswered: the step fails at the callback timeout, and a late answer finds nothing.
	run4, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("gated"), ClientRequestToken: token()})
	e.must(err)
	tok4 := waitingCallback(t, sm, *run4.PipelineExecutionArn, "Wait")
	began := time.Now()
	d := waitExecution(t, sm, *run4.PipelineExecutionArn, 30*time.Second)
	if w := stepsOf(t, sm, *run4.PipelineExecutionArn)["Wait"]; d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed || !strings.Contains(aws.ToString(w.FailureReason), "timed out") {
		t.Errorf("an unanswered callback: %s, step %s (%s)", d.PipelineExecutionStatus, w.StepStatus, aws.ToString(w.FailureReason))
	}
	if waited := time.Since(began); waited > 10*time.Second {
		t.Errorf("the timeout of 1.5 s fired after %v", waited)
	}
	if err := answer(sm, tok4, "Approved", "true"); !strings.Contains(code(err), "ResourceNotFound") && !strings.Contains(code(err), "ValidationException") {
		t.Errorf("an answer after the timeout: %v", err)
	}

	// Two callbacks wait side by side: once A is answered, A no longer waits while B keeps the
	// execution running.
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("two"), RoleArn: aws.String(role), ClientRequestToken: token(),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Steps":[{"Name":"A","Type":"Callback","SqsQueueUrl":"https://sqs/q"},{"Name":"B","Type":"Callback","SqsQueueUrl":"https://sqs/q"}]}`)})
	e.must(err)
	run7, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("two"), ClientRequestToken: token()})
	e.must(err)
	tokA, tokB := waitingCallback(t, sm, *run7.PipelineExecutionArn, "A"), waitingCallback(t, sm, *run7.PipelineExecutionArn, "B")
	e.must(answer(sm, tokA))
	for deadline := time.Now().Add(10 * time.Second); stepsOf(t, sm, *run7.PipelineExecutionArn)["A"].StepStatus != smtypes.StepStatusSucceeded; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("step A never succeeded")
		}
	}
	if _, err := sm.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tokA), ClientRequestToken: token()}); !strings.Contains(code(err), "ValidationException") {
		t.Errorf("an answer to a step no longer waiting: %v, want ValidationException", err)
	}
	if st := stepsOf(t, sm, *run7.PipelineExecutionArn)["A"]; st.StepStatus != smtypes.StepStatusSucceeded {
		t.Errorf("after a refused second answer step A is %s", st.StepStatus)
	}
	_, err = sm.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tokB)})
	e.must(err)
	if d := waitExecution(t, sm, *run7.PipelineExecutionArn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed {
		t.Errorf("two callbacks, one failed: %s", d.PipelineExecutionStatus)
	}

	// Stop: the waiting step is stopped, and its token answers nothing any more.
	run6, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("gated"), ClientRequestToken: token()})
	e.must(err)
	tok6 := waitingCallback(t, sm, *run6.PipelineExecutionArn, "Wait")
	_, err = sm.StopPipelineExecution(ctx, &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: run6.PipelineExecutionArn, ClientRequestToken: token()})
	e.must(err)
	if d := waitExecution(t, sm, *run6.PipelineExecutionArn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusStopped ||
		stepsOf(t, sm, *run6.PipelineExecutionArn)["Wait"].StepStatus != smtypes.StepStatusStopped {
		t.Errorf("a stopped execution waiting for a callback: %s", d.PipelineExecutionStatus)
	}
	if err := answer(sm, tok6, "Approved", "true"); err == nil {
		t.Errorf("an answer to a stopped execution was accepted")
	}

	// A Lambda ARN with no local command fails its step, naming the configuration.
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("unmapped"), RoleArn: aws.String(role), ClientRequestToken: token(),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Steps":[{"Name":"L","Type":"Lambda","FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:nope","Arguments":{}}]}`)})
	e.must(err)
	run5, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("unmapped"), ClientRequestToken: token()})
	e.must(err)
	waitExecution(t, sm, *run5.PipelineExecutionArn, 30*time.Second)
	if l := stepsOf(t, sm, *run5.PipelineExecutionArn)["L"]; l.StepStatus != smtypes.StepStatusFailed || !strings.Contains(aws.ToString(l.FailureReason), "--lambdas") {
		t.Errorf("an unmapped Lambda: %s (%s)", l.StepStatus, aws.ToString(l.FailureReason))
	}
}

// TestPipelineRetryAndUpdate retries a failed execution through the Go SDK: the failed Lambda
// step runs again as its second attempt, the step that succeeded does not (its command ran
// once), and the execution succeeds. Retrying a running or succeeded execution, another
// account's, and a bad UpdatePipelineExecution are refused and change nothing.
func TestPipelineRetryAndUpdate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	count := filepath.Join(dir, "count.py")
	flaky := filepath.Join(dir, "flaky.py")
	runs := filepath.Join(dir, "runs")
	marker := filepath.Join(dir, "fixed")
	e1 := os.WriteFile(count, []byte("import sys\nsys.stdin.read()\nopen("+pyq(runs)+",'a').write('x')\nprint('{\"N\": 1}')\n"), 0o644)
	e2 := os.WriteFile(flaky, []byte("import os,sys\nsys.stdin.read()\nif not os.path.exists("+pyq(marker)+"):\n  sys.exit('not yet')\nprint('{}')\n"), 0o644)
	if e1 != nil || e2 != nil {
		t.Fatal(e1, e2)
	}
	s := startWith(t, func(c *config.Config) {
		c.Lambdas = []config.LambdaFunction{
			{FunctionArn: "arn:aws:lambda:us-east-1:111122223333:function:count", Command: []string{"/usr/bin/python3", count}},
			{FunctionArn: "arn:aws:lambda:us-east-1:111122223333:function:flaky", Command: []string{"/usr/bin/python3", flaky}},
		}
	})
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	sm := e.admin.sm
	def := `{"Version":"2020-12-01","Steps":[
{"Name":"Count","Type":"Lambda","FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:count","OutputParameters":[{"OutputName":"N","OutputType":"Integer"}]},
{"Name":"Flaky","Type":"Lambda","FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:flaky","DependsOn":["Count"]},
{"Name":"After","Type":"Condition","Arguments":{"Conditions":[{"Type":"Equals","LeftValue":{"Get":"Steps.Count.OutputParameters['N']"},"RightValue":1}],"IfSteps":[],"ElseSteps":[]},"DependsOn":["Flaky"]}]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("flaky"), RoleArn: aws.String(e.sharedPipelineRole()),
		PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	run, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("flaky"), ClientRequestToken: token()})
	e.must(err)
	arn := run.PipelineExecutionArn
	if d := waitExecution(t, sm, *arn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed {
		t.Fatalf("first run: %s", d.PipelineExecutionStatus)
	}
	if f := stepsOf(t, sm, *arn)["Flaky"]; !strings.Contains(aws.ToString(f.FailureReason), "not yet") {
		t.Errorf("the flaky step's failure: %q, want the command's stderr", aws.ToString(f.FailureReason))
	}

	// UpdatePipelineExecution: names and parallelism; bad input and another account change nothing.
	_, err = sm.UpdatePipelineExecution(ctx, &sagemaker.UpdatePipelineExecutionInput{PipelineExecutionArn: arn,
		PipelineExecutionDisplayName: aws.String("nightly-7"), PipelineExecutionDescription: aws.String("the nightly run"),
		ParallelismConfiguration: &smtypes.ParallelismConfiguration{MaxParallelExecutionSteps: aws.Int32(2)}})
	e.must(err)
	other := clientsOf(s.cfg("staging"))
	for _, c := range []struct {
		what, code string
		in         *sagemaker.UpdatePipelineExecutionInput
		cl         *sagemaker.Client
	}{
		{"a bad display name", "ValidationException", &sagemaker.UpdatePipelineExecutionInput{PipelineExecutionArn: arn, PipelineExecutionDisplayName: aws.String("no spaces allowed")}, sm},
		{"parallelism 0", "ValidationException", &sagemaker.UpdatePipelineExecutionInput{PipelineExecutionArn: arn, ParallelismConfiguration: &smtypes.ParallelismConfiguration{MaxParallelExecutionSteps: aws.Int32(0)}}, sm},
		{"another account", "AccessDenied", &sagemaker.UpdatePipelineExecutionInput{PipelineExecutionArn: arn, PipelineExecutionDescription: aws.String("mine")}, other.sm},
		{"a missing execution", "ResourceNotFound", &sagemaker.UpdatePipelineExecutionInput{PipelineExecutionArn: aws.String(*arn + "x"), PipelineExecutionDescription: aws.String("x")}, sm},
	} {
		if _, err := c.cl.UpdatePipelineExecution(ctx, c.in); !strings.Contains(code(err), c.code) {
			t.Errorf("UpdatePipelineExecution with %s: %v, want %s", c.what, err, c.code)
		}
	}
	d, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: arn})
	e.must(err)
	if aws.ToString(d.PipelineExecutionDisplayName) != "nightly-7" || aws.ToString(d.PipelineExecutionDescription) != "the nightly run" ||
		d.ParallelismConfiguration == nil || aws.ToInt32(d.ParallelismConfiguration.MaxParallelExecutionSteps) != 2 {
		t.Errorf("after UpdatePipelineExecution: %q %q %+v", aws.ToString(d.PipelineExecutionDisplayName), aws.ToString(d.PipelineExecutionDescription), d.ParallelismConfiguration)
	}

	// Another account may not retry it; the retry itself runs only the failed step.
	if _, err := other.sm.RetryPipelineExecution(ctx, &sagemaker.RetryPipelineExecutionInput{PipelineExecutionArn: arn, ClientRequestToken: token()}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("another account's retry: %v", err)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	retry := token()
	_, err = sm.RetryPipelineExecution(ctx, &sagemaker.RetryPipelineExecutionInput{PipelineExecutionArn: arn, ClientRequestToken: retry})
	e.must(err)
	if d := waitExecution(t, sm, *arn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("the retried execution: %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	steps := stepsOf(t, sm, *arn)
	if f := steps["Flaky"]; f.StepStatus != smtypes.StepStatusSucceeded || aws.ToInt32(f.AttemptCount) != 2 {
		t.Errorf("the retried step: %s, attempt %d", f.StepStatus, aws.ToInt32(f.AttemptCount))
	}
	if c := steps["Count"]; aws.ToInt32(c.AttemptCount) != 1 {
		t.Errorf("the step that succeeded: attempt %d, want 1", aws.ToInt32(c.AttemptCount))
	}
	if b, _ := os.ReadFile(runs); string(b) != "x" {
		t.Errorf("the succeeded step's command ran %d times, want once", len(b))
	}
	// The same retry again changes nothing; a retry of a succeeded execution is refused.
	_, err = sm.RetryPipelineExecution(ctx, &sagemaker.RetryPipelineExecutionInput{PipelineExecutionArn: arn, ClientRequestToken: retry})
	e.must(err)
	if _, err := sm.RetryPipelineExecution(ctx, &sagemaker.RetryPipelineExecutionInput{PipelineExecutionArn: arn, ClientRequestToken: token()}); !strings.Contains(code(err), "ValidationException") {
		t.Errorf("retrying a succeeded execution: %v", err)
	}
	if d, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: arn}); err != nil {
		t.Errorf("DescribePipelineExecution after refused retries: %v", err)
	} else if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Errorf("after refused retries: %s", d.PipelineExecutionStatus)
	}
}

// pyq quotes a path as a Python string literal.
func pyq(s string) string { b, _ := json.Marshal(s); return string(b) }
