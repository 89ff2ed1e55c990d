package app_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// cfnOf makes a CloudFormation client with the credentials and endpoint of another client
// (the shared clients struct has none).
func cfnOf(sm *sagemaker.Client) *cloudformation.Client {
	o := sm.Options()
	return cloudformation.New(cloudformation.Options{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint, Retryer: connRetryer()})
}

// waitStack polls a stack until its status no longer ends in IN_PROGRESS (REVIEW aside).
func waitStack(t testing.TB, cf *cloudformation.Client, name string) cfntypes.Stack {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := cf.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeStacks %s: %v", name, err)
		}
		st := out.Stacks[0]
		if s := string(st.StackStatus); !strings.HasSuffix(s, "_IN_PROGRESS") || s == "REVIEW_IN_PROGRESS" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack %s still %s", name, st.StackStatus)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stackArtifact makes a bucket holding a linear model, a role SageMaker may assume to read it,
// and a role CloudFormation may assume to make the stack's resources.
func stackArtifact(t *testing.T, c clients, account string) (url, modelRole, stackRole string) {
	ctx := context.Background()
	if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stack-models")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("stack-models"), Key: aws.String("linear/model.tar.gz"), Body: strings.NewReader(string(linearModelTarGz(t)))}); err != nil {
		t.Fatal(err)
	}
	mustIAM := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("model-reader"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	mustIAM(err)
	_, err = c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("model-reader"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::stack-models/*"}]}`)})
	mustIAM(err)
	_, err = c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deployer"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	mustIAM(err)
	_, err = c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("deploy"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:*","logs:*"],"Resource":"*"},
			{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::` + account + `:role/model-reader"}]}`)})
	mustIAM(err)
	return "s3://stack-models/linear/model.tar.gz", "arn:aws:iam::" + account + ":role/model-reader", "arn:aws:iam::" + account + ":role/deployer"
}

// TestStackDeployWithTheCLI deploys a Model, EndpointConfig and Endpoint with the real
// `aws cloudformation deploy` (change sets, the create waiter) acting as a role, invokes the
// endpoint, updates the stack (a new configuration replaces the old one; the endpoint moves in
// place), checks boto3's waiters, and deletes it.
func TestStackDeployWithTheCLI(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := s.profile["data-science"]
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	url, modelRole, stackRole := stackArtifact(t, admin, s.account["data-science"])

	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+ds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ds.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cli := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "/usr/bin/aws", append([]string{"--endpoint-url", s.url}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	began := time.Now()
	out, err := cli("cloudformation", "deploy", "--template-file", "testdata/stack-endpoint.yml", "--stack-name", "abalone",
		"--role-arn", stackRole, "--parameter-overrides", "ModelDataUrl="+url, "ExecutionRoleArn="+modelRole, "StageName=staging")
	t.Logf("aws cloudformation deploy took %v:\n%s", time.Since(began), out)
	if err != nil || !strings.Contains(out, "Successfully created/updated stack - abalone") {
		t.Fatalf("deploy: %v", err)
	}
	st := waitStack(t, cf, "abalone")
	if st.StackStatus != cfntypes.StackStatusCreateComplete || len(st.Outputs) != 2 {
		t.Fatalf("stack %s, outputs %v", st.StackStatus, st.Outputs)
	}
	outputs := map[string]string{}
	for _, o := range st.Outputs {
		outputs[*o.OutputKey] = *o.OutputValue
	}
	if outputs["EndpointName"] != "abalone-staging" || !strings.HasSuffix(outputs["EndpointArn"], ":endpoint/abalone-staging") {
		t.Errorf("outputs = %v", outputs)
	}
	inv, err := admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("abalone-staging"),
		ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
	if err != nil || strings.TrimSpace(string(inv.Body)) != "6.0" && strings.TrimSpace(string(inv.Body)) != "6" {
		t.Errorf("InvokeEndpoint = %v, %v; want 6 (1 + 2·2 + 1)", inv, err)
	}
	res, err := cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("abalone")})
	if err != nil || len(res.StackResourceSummaries) != 3 {
		t.Fatalf("ListStackResources = %v, %v", res, err)
	}
	physical := map[string]string{}
	for _, r := range res.StackResourceSummaries {
		physical[*r.LogicalResourceId] = *r.PhysicalResourceId
		if r.ResourceStatus != cfntypes.ResourceStatusCreateComplete {
			t.Errorf("%s is %s", *r.LogicalResourceId, r.ResourceStatus)
		}
	}
	// The resources were made by the stack's role: the model exists under the name the engine chose.
	if _, err := admin.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(physical["Model"])}); err != nil {
		t.Errorf("the stack's model %s: %v", physical["Model"], err)
	}

	// An update: two instances need a new configuration (replaced); the endpoint moves to it in place.
	_, err = cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("abalone"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("ModelDataUrl"), UsePreviousValue: aws.Bool(true)},
			{ParameterKey: aws.String("ExecutionRoleArn"), UsePreviousValue: aws.Bool(true)},
			{ParameterKey: aws.String("StageName"), UsePreviousValue: aws.Bool(true)},
			{ParameterKey: aws.String("InstanceCount"), ParameterValue: aws.String("2")}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "abalone"); st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("after the update: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	res, _ = cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("abalone")})
	after := map[string]string{}
	for _, r := range res.StackResourceSummaries {
		after[*r.LogicalResourceId] = *r.PhysicalResourceId
	}
	if after["EndpointConfig"] == physical["EndpointConfig"] || after["Endpoint"] != physical["Endpoint"] || after["Model"] != physical["Model"] {
		t.Errorf("physical ids %v → %v: want a new configuration, the same model and endpoint", physical, after)
	}
	if _, err := admin.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(physical["EndpointConfig"])}); err == nil {
		t.Errorf("the replaced configuration %s still exists", physical["EndpointConfig"])
	}
	ep, err := admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("abalone-staging")})
	if err != nil || *ep.EndpointConfigName != after["EndpointConfig"] || *ep.ProductionVariants[0].CurrentInstanceCount != 2 {
		t.Errorf("endpoint after the update: %+v, %v", ep, err)
	}

	// boto3's waiters (Debian's boto3 1.26) accept what DescribeStacks says.
	py := `
import sys, boto3
cf = boto3.client("cloudformation", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
cf.get_waiter("stack_update_complete").wait(StackName="abalone", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
print("update waiter ok")
cf.delete_stack(StackName="abalone")
cf.get_waiter("stack_delete_complete").wait(StackName="abalone", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
print("delete waiter ok")
try:
    cf.describe_stacks(StackName="abalone")
except cf.exceptions.ClientError as e:
    print("after delete:", e.response["Error"]["Code"], e.response["Error"]["Message"])
`
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", py, s.url, ds.AccessKeyID, ds.SecretAccessKey)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	pout, err := cmd.CombinedOutput()
	t.Logf("boto3:\n%s", pout)
	for _, want := range []string{"update waiter ok", "delete waiter ok", "after delete: ValidationError Stack with id abalone does not exist"} {
		if !strings.Contains(string(pout), want) {
			t.Errorf("boto3 output lacks %q (%v)", want, err)
		}
	}
	if _, err := admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("abalone-staging")}); err == nil {
		t.Error("the endpoint outlived its stack")
	}
	if _, err := admin.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(physical["Model"])}); err == nil {
		t.Error("the model outlived its stack")
	}
	events, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: st.StackId})
	if err != nil || len(events.StackEvents) == 0 || events.StackEvents[0].ResourceStatus != cfntypes.ResourceStatusDeleteComplete {
		t.Errorf("events of the deleted stack: %v", err)
	}
}
