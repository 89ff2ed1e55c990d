package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/slipway-ml/slipway/internal/events/rules"
)

// TestEventRuleDeployPipelineTarget: an event a rule matches starts one execution of a deploy
// pipeline, as the target's role; a role whose policy explicitly denies
// codepipeline:StartPipelineExecution (beside an Allow) starts nothing and its delivery lands
// in the dead-letter log group with the reason; targets without a role or with an ARN that
// names no pipeline are refused whole.
func TestEventRuleDeployPipelineTarget(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	d := newDeploySetup(t, s)
	cp := cpOf(d.ds.sm)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("rule-deploy")})
	mustDo(t, err)
	acct := s.account["data-science"]
	pipeARN := "arn:aws:codepipeline:us-east-1:" + acct + ":rule-deploy"
	role := func(name, policy string) string {
		out, err := d.ds.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(eventsTrust)})
		mustDo(t, err)
		_, err = d.ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("start"), PolicyDocument: aws.String(policy)})
		mustDo(t, err)
		return *out.Role.Arn
	}
	allow := `{"Effect":"Allow","Action":"codepipeline:StartPipelineExecution","Resource":"` + pipeARN + `"}`
	allowed := role("events-deploy", `{"Version":"2012-10-17","Statement":[`+allow+`]}`)
	denied := role("events-denied", `{"Version":"2012-10-17","Statement":[`+allow+`,{"Effect":"Deny","Action":"codepipeline:*","Resource":"*"}]}`)
	lg := cloudwatchlogs.NewFromConfig(s.cfg("data-science"))
	_, err = lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/deploy-dlq")})
	mustDo(t, err)
	dlq := "arn:aws:logs:us-east-1:" + acct + ":log-group:/events/deploy-dlq"
	before, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("rule-deploy")})
	mustDo(t, err)

	eb := eventbridge.NewFromConfig(s.cfg("data-science"))
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("approved"), EventPattern: aws.String(`{"source":["my.registry"]}`)})
	mustDo(t, err)
	for name, tg := range map[string]ebtypes.Target{
		"no role":        {Arn: aws.String(pipeARN)},
		"not a pipeline": {Arn: aws.String("arn:aws:codepipeline:us-east-1:" + acct + ":a/b"), RoleArn: aws.String(allowed)},
	} {
		tg.Id = aws.String("t")
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("approved"), Targets: []ebtypes.Target{tg}}); code(err) != "ValidationException" {
			t.Errorf("%s: PutTargets = %v, want ValidationException", name, err)
		}
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("approved"), Targets: []ebtypes.Target{
		{Id: aws.String("deploy"), Arn: aws.String(pipeARN), RoleArn: aws.String(allowed)},
		{Id: aws.String("denied"), Arn: aws.String(pipeARN), RoleArn: aws.String(denied), DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlq)}},
	}})
	mustDo(t, err)
	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("my.registry"), DetailType: aws.String("Approved"), Detail: aws.String(`{}`)}}})
	mustDo(t, err)

	msgs := waitLogs(t, lg, "/events/deploy-dlq", 1)
	var dead rules.DeadLetter
	if err := json.Unmarshal([]byte(msgs[0]), &dead); err != nil || dead.Target != "denied" || !strings.Contains(dead.Reason, "explicit deny") {
		t.Errorf("dead letter %q (%v): want target denied, refused by the explicit Deny", msgs[0], err)
	}
	t.Logf("dead letter: %s", dead.Reason)
	var n int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("rule-deploy")})
		mustDo(t, err)
		if n = len(out.PipelineExecutionSummaries) - len(before.PipelineExecutionSummaries); n >= 1 {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // a second start, were there one, would show by now
	out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("rule-deploy")})
	mustDo(t, err)
	if n = len(out.PipelineExecutionSummaries) - len(before.PipelineExecutionSummaries); n != 1 {
		t.Errorf("the event started %d executions, want 1 (the denied target none)", n)
	}
}
