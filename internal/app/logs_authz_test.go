package app_test

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// logsOf is the CloudWatch Logs client of the principal whose SageMaker client sm is.
func logsOf(sm *sagemaker.Client) *cloudwatchlogs.Client {
	o := sm.Options()
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: o.Region, BaseEndpoint: o.BaseEndpoint, Credentials: o.Credentials, Retryer: connRetryer()})
}

// logGroup makes a log group with one stream holding one event.
func (e *authzEnv) logGroup() map[string]string {
	ctx := context.Background()
	admin := logsOf(e.admin.sm)
	g, s := "/authz/"+e.name("g"), e.name("s")
	_, err := admin.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)})
	e.must(err)
	_, err = admin.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String(s)})
	e.must(err)
	_, err = admin.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String(s),
		LogEvents: []cwtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("hello")}}})
	e.must(err)
	return map[string]string{"logGroupName": g, "logStreamName": s}
}

func logsCases() map[string]opCase {
	g := func(v map[string]string) *string { return aws.String(v["logGroupName"]) }
	s := func(v map[string]string) *string { return aws.String(v["logStreamName"]) }
	return map[string]opCase{
		"CreateLogGroup": {
			func(e *authzEnv) map[string]string {
				return map[string]string{"logGroupName": "/authz/" + e.name("new")}
			},
			func(ctx context.Context, e *authzEnv, v map[string]string) error {
				_, err := logsOf(e.actor.sm).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: g(v)})
				return err
			}},
		"DeleteLogGroup": {(*authzEnv).logGroup, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := logsOf(e.actor.sm).DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: g(v)})
			return err
		}},
		"DescribeLogGroups": {func(*authzEnv) map[string]string { return map[string]string{} }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := logsOf(e.actor.sm).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			return err
		}},
		"CreateLogStream": {
			func(e *authzEnv) map[string]string {
				v := e.logGroup()
				v["logStreamName"] = e.name("new")
				return v
			},
			func(ctx context.Context, e *authzEnv, v map[string]string) error {
				_, err := logsOf(e.actor.sm).CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g(v), LogStreamName: s(v)})
				return err
			}},
		"DescribeLogStreams": {(*authzEnv).logGroup, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := logsOf(e.actor.sm).DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g(v)})
			return err
		}},
		"PutLogEvents": {(*authzEnv).logGroup, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := logsOf(e.actor.sm).PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g(v), LogStreamName: s(v),
				LogEvents: []cwtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("more")}}})
			return err
		}},
		"GetLogEvents": {(*authzEnv).logGroup, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := logsOf(e.actor.sm).GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g(v), LogStreamName: s(v)})
			return err
		}},
		"FilterLogEvents": {(*authzEnv).logGroup, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := logsOf(e.actor.sm).FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g(v), FilterPattern: aws.String("hello")})
			return err
		}},
	}
}
