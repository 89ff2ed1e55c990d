package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// BenchmarkEventDeliveryLatency measures, over 1,000 approvals, the time from an
// UpdateModelPackage's commit (the event's time) to its delivery into a log group by a rule
// (the log event's ingestion time), both in milliseconds; it reports p50 and p99. Run it once:
// go test -run XXX -bench EventDeliveryLatency -benchtime 1x ./internal/app/
func BenchmarkEventDeliveryLatency(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	a.Start(ctx)
	defer a.Close()
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		b.Fatal(err)
	}
	p := profiles["data-science"]
	ac := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Retryer: connRetryer,
		Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")}
	sm, eb, cw := sagemaker.NewFromConfig(ac), eventbridge.NewFromConfig(ac), cloudwatchlogs.NewFromConfig(ac)
	check := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	_, err = cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/bench/approved")})
	check(err)
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("approved"),
		EventPattern: aws.String(`{"source":["aws.sagemaker"],"detail":{"ModelApprovalStatus":["Approved"]}}`)})
	check(err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("approved"), Targets: []ebtypes.Target{
		{Id: aws.String("log"), Arn: aws.String("arn:aws:logs:us-east-1:" + p.Account + ":log-group:/bench/approved")}}})
	check(err)
	_, err = sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("bench")})
	check(err)
	var arns []string
	for i := 0; i < n; i++ {
		out, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("bench")})
		check(err)
		arns = append(arns, *out.ModelPackageArn)
	}
	for b.Loop() {
	}
	for _, arn := range arns {
		_, err := sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn), ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
		check(err)
	}
	var lat []int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		lat = lat[:0]
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/bench/approved")}
		for {
			out, err := cw.FilterLogEvents(ctx, in)
			check(err)
			for _, e := range out.Events {
				lat = append(lat, *e.IngestionTime-*e.Timestamp)
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if len(lat) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(lat) != n {
		b.Fatalf("%d of %d approvals delivered", len(lat), n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[n/2]), "p50-ms")
	b.ReportMetric(float64(lat[n*99/100]), "p99-ms")
	b.ReportMetric(float64(lat[n-1]), "max-ms")
}
