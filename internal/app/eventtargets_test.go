package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/slipway-ml/slipway/internal/events/rules"
)

const eventsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// executionsOf lists a pipeline's executions with their parameters.
func executionsOf(t *testing.T, sm *sagemaker.Client, pipeline string) []map[string]string {
	t.Helper()
	ctx := context.Background()
	out, err := sm.ListPipelineExecutions(ctx, &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String(pipeline)})
	must(t, err)
	var got []map[string]string
	for _, e := range out.PipelineExecutionSummaries {
		ps, err := sm.ListPipelineParametersForExecution(ctx, &sagemaker.ListPipelineParametersForExecutionInput{PipelineExecutionArn: e.PipelineExecutionArn})
		must(t, err)
		m := map[string]string{}
		for _, p := range ps.PipelineParameters {
			m[*p.Name] = *p.Value
		}
		got = append(got, m)
	}
	return got
}

// TestEventRulePipelineTarget: an event a rule matches starts an execution of a SageMaker
// pipeline with the target's parameters, as the target's role; a target whose role may not
// start it starts nothing and its delivery lands in its dead-letter log group with the
// reason; a restart that lost delivery's cursor hands the event over again and starts no
// second execution (the ClientRequestToken is the delivery's).
func TestEventRulePipelineTarget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, stop := startIn(t, dir)
	defer func() { stop() }()
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	acct := e.account
	sm, eb, lg := e.admin.sm, eventsOf(e.admin.sm), cloudwatchlogs.NewFromConfig(s.cfg("data-science"))

	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("deploy"), RoleArn: aws.String(e.pipelineRole("deploy")),
		PipelineDefinition: aws.String(quickDefinition), ClientRequestToken: token()})
	must(t, err)
	pipeARN := "arn:aws:sagemaker:us-east-1:" + acct + ":pipeline/deploy"
	role := func(name, action string) string {
		out, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(eventsTrust)})
		must(t, err)
		_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("start"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + pipeARN + `"}]}`)})
		must(t, err)
		return *out.Role.Arn
	}
	allowed, notAllowed := role("events-start", "sagemaker:StartPipelineExecution"), role("events-describe", "sagemaker:DescribePipeline")
	_, err = lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/dlq")})
	must(t, err)
	dlq := "arn:aws:logs:us-east-1:" + acct + ":log-group:/events/dlq"

	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("start-deploy"), EventPattern: aws.String(`{"source":["my.app"]}`)})
	must(t, err)
	params := &ebtypes.SageMakerPipelineParameters{PipelineParameterList: []ebtypes.SageMakerPipelineParameter{{Name: aws.String("N"), Value: aws.String("1")}}}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("start-deploy"), Targets: []ebtypes.Target{
		{Id: aws.String("deploy"), Arn: aws.String(pipeARN), RoleArn: aws.String(allowed), SageMakerPipelineParameters: params,
			RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(600)}},
		{Id: aws.String("denied"), Arn: aws.String(pipeARN), RoleArn: aws.String(notAllowed), SageMakerPipelineParameters: params,
			DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlq)}},
	}})
	must(t, err)
	lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("start-deploy")})
	must(t, err)
	// By id: "denied", then "deploy".
	if len(lt.Targets) != 2 || lt.Targets[1].SageMakerPipelineParameters == nil || lt.Targets[1].RetryPolicy == nil || *lt.Targets[1].RetryPolicy.MaximumRetryAttempts != 3 ||
		lt.Targets[0].DeadLetterConfig == nil || *lt.Targets[0].DeadLetterConfig.Arn != dlq {
		t.Fatalf("ListTargetsByRule does not read back what PutTargets set: %+v", lt.Targets)
	}

	put, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("my.app"), DetailType: aws.String("Go"), Detail: aws.String(`{}`)}}})
	must(t, err)
	msgs := waitLogs(t, lg, "/events/dlq", 1)
	var dead rules.DeadLetter
	if err := json.Unmarshal([]byte(msgs[0]), &dead); err != nil || dead.Target != "denied" || !strings.Contains(dead.Reason, "not authorized") {
		t.Errorf("dead letter %q (%v): want target denied with an authorization failure", msgs[0], err)
	}
	var exec []map[string]string
	for deadline := time.Now().Add(10 * time.Second); len(exec) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		exec = executionsOf(t, sm, "deploy")
	}
	if len(exec) != 1 || exec[0]["N"] != "1" {
		t.Fatalf("executions = %v, want one with N=1", exec)
	}

	// A restart that lost delivery's cursor: the event comes again; no second execution.
	stop()
	stop = func() {}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "slipway.db")+"?_pragma=busy_timeout(10000)")
	must(t, err)
	_, err = db.Exec(`UPDATE event_cursors SET seq = 0 WHERE consumer = $1`, rules.Consumer)
	must(t, err)
	// Forget that the "deploy" delivery was made, so only the ClientRequestToken can stop a second start.
	_, err = db.Exec(`DELETE FROM event_deliveries WHERE key LIKE $1`, *put.Entries[0].EventId+"|%|deploy")
	must(t, err)
	db.Close()
	s2, stop2 := startIn(t, dir)
	stop = stop2
	cl2 := cloudwatchlogs.NewFromConfig(s2.cfg("data-science"))
	_, err = cl2.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/sentinel")})
	must(t, err)
	eb2, sm2 := eventbridge.NewFromConfig(s2.cfg("data-science")), sagemaker.NewFromConfig(s2.cfg("data-science"))
	_, err = eb2.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sentinel"), EventPattern: aws.String(`{"source":["sentinel"]}`)})
	must(t, err)
	_, err = eb2.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("sentinel"), Targets: []ebtypes.Target{
		{Id: aws.String("log"), Arn: aws.String("arn:aws:logs:us-east-1:" + acct + ":log-group:/events/sentinel")}}})
	must(t, err)
	_, err = eb2.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("sentinel"), DetailType: aws.String("S"), Detail: aws.String(`{}`)}}})
	must(t, err)
	waitLogs(t, cl2, "/events/sentinel", 1) // delivery has passed the first event again
	if exec := executionsOf(t, sm2, "deploy"); len(exec) != 1 {
		t.Errorf("after a redelivery: %d executions, want 1", len(exec))
	}
	waitLogs(t, cl2, "/events/dlq", 1) // and the dead letter was not written twice
}

// TestEventRulePipelineTargetRefused: bad SageMaker pipeline targets are refused whole.
func TestEventRulePipelineTargetRefused(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct := s.account["data-science"]
	eb := eventbridge.NewFromConfig(s.cfg("data-science"))
	_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["my.app"]}`)})
	must(t, err)
	pipe := "arn:aws:sagemaker:us-east-1:" + acct + ":pipeline/p"
	role := aws.String("arn:aws:iam::" + acct + ":role/r")
	p := func(name, value string) *ebtypes.SageMakerPipelineParameters {
		return &ebtypes.SageMakerPipelineParameters{PipelineParameterList: []ebtypes.SageMakerPipelineParameter{{Name: aws.String(name), Value: aws.String(value)}}}
	}
	for name, tg := range map[string]ebtypes.Target{
		"no role":              {Arn: aws.String(pipe)},
		"not a pipeline":       {Arn: aws.String("arn:aws:sagemaker:us-east-1:" + acct + ":model/m"), RoleArn: role},
		"params on a log":      {Arn: aws.String("arn:aws:logs:us-east-1:" + acct + ":log-group:g"), SageMakerPipelineParameters: p("N", "1")},
		"bad param name":       {Arn: aws.String(pipe), RoleArn: role, SageMakerPipelineParameters: p("-x", "1")},
		"retries over 185":     {Arn: aws.String(pipe), RoleArn: role, RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(186)}},
		"age under 60":         {Arn: aws.String(pipe), RoleArn: role, RetryPolicy: &ebtypes.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(59)}},
		"SQS dead-letter here": {Arn: aws.String(pipe), RoleArn: role, DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:" + acct + ":q")}},
	} {
		tg.Id = aws.String("t")
		_, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{tg}})
		if code(err) != "ValidationException" {
			t.Errorf("%s: PutTargets = %v, want ValidationException", name, err)
		}
	}
	lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	must(t, err)
	if len(lt.Targets) != 0 {
		t.Errorf("refused targets were kept: %+v", lt.Targets)
	}
}
