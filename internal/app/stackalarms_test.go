package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// TestStackAlarm: an AWS::CloudWatch::Alarm in a stack becomes an alarm (Ref its name,
// Fn::GetAtt Arn its ARN, numbers given as strings as templates often do), an update changes
// its threshold, and deleting the stack deletes it.
func TestStackAlarm(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	c := clientsOf(s.cfg("data-science"))
	cf := cfnOf(c.sm)
	tmpl := func(threshold string) string {
		return `{"Resources":{"Errors":{"Type":"AWS::CloudWatch::Alarm","Properties":{"AlarmName":"stack-errors",
			"Namespace":"AWS/SageMaker","MetricName":"Invocation5XXErrors","Dimensions":[{"Name":"EndpointName","Value":"abalone"},{"Name":"VariantName","Value":"AllTraffic"}],
			"Statistic":"Sum","Period":"60","EvaluationPeriods":1,"Threshold":` + threshold + `,"ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"notBreaching"}}},
			"Outputs":{"Name":{"Value":{"Ref":"Errors"}},"Arn":{"Value":{"Fn::GetAtt":["Errors","Arn"]}}}}`
	}
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("alarms"), TemplateBody: aws.String(tmpl("1"))})
	if err != nil {
		t.Fatal(err)
	}
	st := waitStack(t, cf, "alarms")
	out := stackOutputs(st)
	if st.StackStatus != cfntypes.StackStatusCreateComplete || out["Name"] != "stack-errors" ||
		out["Arn"] != "arn:aws:cloudwatch:us-east-1:"+s.account["data-science"]+":alarm:stack-errors" {
		t.Fatalf("stack %s (%s), outputs %v", st.StackStatus, aws.ToString(st.StackStatusReason), out)
	}
	threshold := func() float64 {
		var got struct{ MetricAlarms []struct{ Threshold float64 } }
		if err := alarmCall(ctx, c.sm, "DescribeAlarms", map[string]any{"AlarmNames": []string{"stack-errors"}}, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.MetricAlarms) == 0 {
			return -1
		}
		return got.MetricAlarms[0].Threshold
	}
	if got := threshold(); got != 1 {
		t.Fatalf("threshold %v, want 1", got)
	}
	if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("alarms"), TemplateBody: aws.String(tmpl(`"3"`))}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "alarms"); st.StackStatus != cfntypes.StackStatusUpdateComplete || threshold() != 3 {
		t.Fatalf("after the update: %s, threshold %v", st.StackStatus, threshold())
	}
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("alarms")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); threshold() != -1 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if got := threshold(); got != -1 {
		t.Errorf("the deleted stack's alarm is still there (threshold %v)", got)
	}
	// Alarm actions are refused by name, and the stack says why.
	bad := strings.Replace(tmpl("1"), `"TreatMissingData"`, `"AlarmActions":["arn:aws:sns:us-east-1:1:t"],"TreatMissingData"`, 1)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("bad-alarm"), TemplateBody: aws.String(bad)}); err == nil {
		if st := waitStack(t, cf, "bad-alarm"); !strings.HasSuffix(string(st.StackStatus), "FAILED") && !strings.Contains(string(st.StackStatus), "ROLLBACK") {
			t.Errorf("a stack with alarm actions ended %s", st.StackStatus)
		}
	}
}
