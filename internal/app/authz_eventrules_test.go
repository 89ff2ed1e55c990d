package app_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// eventsOf is the EventBridge client of the principal whose SageMaker client sm is.
func eventsOf(sm *sagemaker.Client) *eventbridge.Client {
	o := sm.Options()
	return eventbridge.New(eventbridge.Options{Region: o.Region, BaseEndpoint: o.BaseEndpoint, Credentials: o.Credentials, Retryer: connRetryer()})
}

const approvedPattern = `{"source":["aws.sagemaker"],"detail-type":["SageMaker Model Package State Change"],"detail":{"ModelApprovalStatus":["Approved"]}}`

// rule makes a rule on the default bus with one log-group target.
func (e *authzEnv) rule() map[string]string {
	ctx := context.Background()
	eb := eventsOf(e.admin.sm)
	name := e.name("rule")
	out, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(approvedPattern),
		Tags: []ebtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	e.must(err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{{
		Id: aws.String("t1"), Arn: aws.String("arn:aws:logs:us-east-1:" + e.account + ":log-group:/events/" + name)}}})
	e.must(err)
	return map[string]string{"Name": name, "ResourceARN": *out.RuleArn}
}

// bus makes a custom bus with a policy statement.
func (e *authzEnv) bus() map[string]string {
	ctx := context.Background()
	eb := eventsOf(e.admin.sm)
	name := e.name("bus")
	out, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)})
	e.must(err)
	_, err = eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String(name), Action: aws.String("events:PutEvents"),
		Principal: aws.String("111122223333"), StatementId: aws.String("s1")})
	e.must(err)
	return map[string]string{"Name": name, "ResourceARN": *out.EventBusArn}
}

func eventsCases() map[string]opCase {
	n := func(v map[string]string) *string { return aws.String(v["Name"]) }
	none := func(*authzEnv) map[string]string { return map[string]string{} }
	return map[string]opCase{
		"PutRule": {func(e *authzEnv) map[string]string { return map[string]string{"Name": e.name("new")} },
			func(ctx context.Context, e *authzEnv, v map[string]string) error {
				_, err := eventsOf(e.actor.sm).PutRule(ctx, &eventbridge.PutRuleInput{Name: n(v), EventPattern: aws.String(approvedPattern)})
				return err
			}},
		"DescribeRule": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: n(v)})
			return err
		}},
		"ListRules": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).ListRules(ctx, &eventbridge.ListRulesInput{})
			return err
		}},
		"DeleteRule": {func(e *authzEnv) map[string]string {
			v := e.rule()
			_, err := eventsOf(e.admin.sm).RemoveTargets(context.Background(), &eventbridge.RemoveTargetsInput{Rule: n(v), Ids: []string{"t1"}})
			e.must(err)
			return v
		}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: n(v)})
			return err
		}},
		"EnableRule": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).EnableRule(ctx, &eventbridge.EnableRuleInput{Name: n(v)})
			return err
		}},
		"DisableRule": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DisableRule(ctx, &eventbridge.DisableRuleInput{Name: n(v)})
			return err
		}},
		"PutTargets": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: n(v), Targets: []ebtypes.Target{{
				Id: aws.String("t2"), Arn: aws.String("arn:aws:logs:us-east-1:" + e.account + ":log-group:/events/other")}}})
			return err
		}},
		"RemoveTargets": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: n(v), Ids: []string{"t1"}})
			return err
		}},
		"ListTargetsByRule": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: n(v)})
			return err
		}},
		"PutEvents": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				Source: aws.String("app.authz"), DetailType: aws.String("Test"), Detail: aws.String(`{"a":1}`)}}})
			return err
		}},
		"TestEventPattern": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"source":["a"]}`),
				Event: aws.String(`{"id":"1","account":"111122223333","source":"a","time":"2026-12-03T00:00:00Z","region":"us-east-1","resources":[],"detail-type":"x","detail":{}}`)})
			return err
		}},
		"CreateEventBus": {func(e *authzEnv) map[string]string { return map[string]string{"Name": e.name("newbus")} },
			func(ctx context.Context, e *authzEnv, v map[string]string) error {
				_, err := eventsOf(e.actor.sm).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: n(v)})
				return err
			}},
		"DescribeEventBus": {(*authzEnv).bus, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: n(v)})
			return err
		}},
		"ListEventBuses": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
			return err
		}},
		"DeleteEventBus": {(*authzEnv).bus, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: n(v)})
			return err
		}},
		"PutPermission": {(*authzEnv).bus, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: n(v), Action: aws.String("events:PutEvents"),
				Principal: aws.String("444455556666"), StatementId: aws.String("s2")})
			return err
		}},
		"RemovePermission": {(*authzEnv).bus, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).RemovePermission(ctx, &eventbridge.RemovePermissionInput{EventBusName: n(v), StatementId: aws.String("s1")})
			return err
		}},
		"TagResource": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(v["ResourceARN"]),
				Tags: []ebtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}},
		"UntagResource": {(*authzEnv).bus, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: aws.String(v["ResourceARN"]), TagKeys: []string{"k"}})
			return err
		}},
		"ListTagsForResource": {(*authzEnv).rule, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(v["ResourceARN"])})
			return err
		}},
	}
}
