package app_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

func errMessage(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestStackBadInput: every bad request gets CloudFormation's error and leaves no stack.
func TestStackBadInput(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	body, err := os.ReadFile("testdata/stack-endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	good := []cfntypes.Parameter{{ParameterKey: aws.String("ModelDataUrl"), ParameterValue: aws.String("s3://b/k")},
		{ParameterKey: aws.String("ExecutionRoleArn"), ParameterValue: aws.String("arn:aws:iam::" + s.account["data-science"] + ":role/r")},
		{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("staging")}}
	for _, tc := range []struct {
		name, template string
		params         []cfntypes.Parameter
		caps           []cfntypes.Capability
		code, want     string
	}{
		{"unsupported type", `{"Resources": {"VM": {"Type": "AWS::EC2::Instance"}, "L": {"Type": "AWS::Logs::LogGroup"}}}`, nil, nil,
			"ValidationError", "Template format error: Unrecognized resource types: [AWS::EC2::Instance]"},
		{"circular", "Resources:\n  A: {Type: AWS::Logs::LogGroup, DependsOn: B}\n  B: {Type: AWS::Logs::LogGroup, DependsOn: A}\n", nil, nil,
			"ValidationError", "Circular dependency between resources: [A, B]"},
		{"missing parameter", string(body), good[:2], nil, "ValidationError", "Parameters: [StageName] must have values"},
		{"bad parameter", string(body), append(good[:2:2], cfntypes.Parameter{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("dev")}), nil,
			"ValidationError", "Parameter 'StageName' must be one of AllowedValues"},
		{"number out of range", string(body), append(good[:3:3], cfntypes.Parameter{ParameterKey: aws.String("InstanceCount"), ParameterValue: aws.String("9")}), nil,
			"ValidationError", "Parameter 'InstanceCount' must be a number not greater than 4"},
		{"unknown parameter", string(body), append(good[:3:3], cfntypes.Parameter{ParameterKey: aws.String("Nope"), ParameterValue: aws.String("9")}), nil,
			"ValidationError", "Parameters: [Nope] do not exist in the template"},
		{"unknown property", `{"Resources": {"M": {"Type": "AWS::SageMaker::Model", "Properties": {"ExecutionRoleArn": "r", "Colour": "blue"}}}}`, nil, nil,
			"ValidationError", "Encountered unsupported property Colour in Resources/M/Properties"},
		{"bad intrinsic", "Resources:\n  L: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: !GetAtt Nope.Arn}}\n", nil, nil,
			"ValidationError", "instance of Fn::GetAtt references undefined resource Nope (Resources/L)"},
		{"bad yaml", "Resources: [", nil, nil, "ValidationError", "Template format error: YAML not well-formed"},
		{"iam without capability", `{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}}}`, nil, nil,
			"InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]"},
		{"named iam needs named capability", `{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x", "AssumeRolePolicyDocument": {}}}}}`, nil,
			[]cfntypes.Capability{cfntypes.CapabilityCapabilityIam}, "InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("bad"), TemplateBody: aws.String(tc.template),
				Parameters: tc.params, Capabilities: tc.caps})
			if code(err) != tc.code || !strings.Contains(errMessage(err), tc.want) {
				t.Errorf("CreateStack: %v; want %s containing %q", err, tc.code, tc.want)
			}
			if tc.code == "ValidationError" {
				_, verr := cf.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateBody: aws.String(tc.template)})
				if tc.params == nil && code(verr) != "ValidationError" {
					t.Errorf("ValidateTemplate: %v, want ValidationError", verr)
				}
			}
		})
	}
	list, err := cf.ListStacks(ctx, &cloudformation.ListStacksInput{})
	if err != nil || len(list.StackSummaries) != 0 {
		t.Errorf("after refused requests: %d stacks, %v", len(list.StackSummaries), err)
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("1bad"), TemplateBody: aws.String(logGroupTemplate)}); code(err) != "ValidationError" {
		t.Errorf("a bad stack name: %v", err)
	}
	if _, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("nope")}); code(err) != "ValidationError" || !strings.Contains(err.Error(), "Stack with id nope does not exist") {
		t.Errorf("DescribeStacks of a missing stack: %v", err)
	}
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("nope")}); err != nil {
		t.Errorf("DeleteStack of a missing stack: %v, want success", err)
	}

	// A stack; the same name again; no-op update; another account; an explicit Deny.
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("logs"), TemplateBody: aws.String(logGroupTemplate)}); err != nil {
		t.Fatal(err)
	}
	st := waitStack(t, cf, "logs")
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("logs"), TemplateBody: aws.String(logGroupTemplate)}); code(err) != "AlreadyExistsException" {
		t.Errorf("a second stack logs: %v, want AlreadyExistsException", err)
	}
	if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("logs"), UsePreviousTemplate: aws.Bool(true)}); code(err) != "ValidationError" || !strings.Contains(err.Error(), "No updates are to be performed.") {
		t.Errorf("an update that changes nothing: %v", err)
	}
	staging := cfnOf(clientsOf(s.cfg("staging")).sm)
	if _, err := staging.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: st.StackId}); code(err) != "ValidationError" {
		t.Errorf("another account's DescribeStacks by ARN: %v, want ValidationError (does not exist)", err)
	}
	if _, err := staging.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: st.StackId}); err != nil {
		t.Errorf("another account's DeleteStack: %v", err)
	}
	if got := waitStack(t, cf, "logs"); got.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Errorf("after another account's DeleteStack the stack is %s", got.StackStatus)
	}
	_, err = admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("p"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"cloudformation:DeleteStack","Resource":"*"},
		{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"},
		{"Effect":"Deny","Action":"logs:CreateLogGroup","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	key, err := admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	devClients := clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")))
	dev := cfnOf(devClients.sm)
	if _, err := dev.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("logs")}); code(err) != "AccessDenied" {
		t.Errorf("DeleteStack under an explicit Deny: %v, want AccessDenied", err)
	}
	if _, err := dev.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("passed"), TemplateBody: aws.String(logGroupTemplate),
		RoleARN: aws.String("arn:aws:iam::" + s.account["data-science"] + ":role/any")}); code(err) != "AccessDenied" {
		t.Errorf("CreateStack passing a role without iam:PassRole: %v, want AccessDenied", err)
	}
	// Without a role the engine acts as the caller: the caller's Deny on logs:CreateLogGroup
	// fails the resource and the stack rolls back.
	if _, err := dev.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("as-caller"), TemplateBody: aws.String(logGroupTemplate)}); err != nil {
		t.Fatal(err)
	}
	got := waitStack(t, cf, "as-caller")
	if got.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(got.StackStatusReason), "The following resource(s) failed to create: [Logs]") {
		t.Errorf("a stack whose caller may not make its resource: %s (%s)", got.StackStatus, aws.ToString(got.StackStatusReason))
	}
	evs, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("as-caller")})
	if err != nil {
		t.Fatalf("DescribeStackEvents as-caller: %v", err)
	}
	found := false
	for _, ev := range evs.StackEvents {
		if ev.ResourceStatus == cfntypes.ResourceStatusCreateFailed && strings.Contains(aws.ToString(ev.ResourceStatusReason), "AccessDenied") {
			found = true
		}
	}
	if !found {
		t.Errorf("no CREATE_FAILED event names the denial")
	}
	// A role that does not trust CloudFormation: the engine cannot act as it.
	_, err = admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("untrusting"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("untrusted"), TemplateBody: aws.String(logGroupTemplate),
		RoleARN: aws.String("arn:aws:iam::" + s.account["data-science"] + ":role/untrusting")}); err != nil {
		t.Fatal(err)
	}
	if got := waitStack(t, cf, "untrusted"); got.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(got.StackStatusReason), "Cannot act as the stack's role") {
		t.Errorf("a stack whose role does not trust CloudFormation: %s (%s)", got.StackStatus, aws.ToString(got.StackStatusReason))
	}
}

// TestStackRollsBack: a resource that fails (the role may not create the endpoint) rolls the
// creation back: what was made is deleted, the stack is ROLLBACK_COMPLETE. A failed update
// rolls back to the previous configuration, which keeps serving.
func TestStackRollsBack(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct := s.account["data-science"]
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	url, modelRole, stackRole := stackArtifact(t, admin, acct)
	body, err := os.ReadFile("testdata/stack-endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	params := []cfntypes.Parameter{{ParameterKey: aws.String("ModelDataUrl"), ParameterValue: aws.String(url)},
		{ParameterKey: aws.String("ExecutionRoleArn"), ParameterValue: aws.String(modelRole)},
		{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("prod")}}
	// An explicit Deny on the stack's role wins over its Allow sagemaker:*.
	_, err = admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("no-endpoints"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:CreateEndpoint","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("denied"), TemplateBody: aws.String(string(body)),
		Parameters: params, RoleARN: aws.String(stackRole)}); err != nil {
		t.Fatal(err)
	}
	st := waitStack(t, cf, "denied")
	if st.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(st.StackStatusReason), "[Endpoint]") {
		t.Fatalf("denied: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("denied")})
	if err != nil {
		t.Fatalf("DescribeStackResources denied: %v", err)
	}
	for _, r := range res.StackResources {
		if r.ResourceStatus != cfntypes.ResourceStatusDeleteComplete {
			t.Errorf("after the rollback %s is %s", *r.LogicalResourceId, r.ResourceStatus)
		}
		if *r.LogicalResourceId == "Model" {
			if _, err := admin.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: r.PhysicalResourceId}); err == nil {
				t.Errorf("the rolled back model %s still exists", *r.PhysicalResourceId)
			}
		}
	}
	if len(res.StackResources) != 3 {
		t.Errorf("%d resources recorded, want Model, EndpointConfig and the failed Endpoint", len(res.StackResources))
	}
	// Allowed again, the stack deploys; then an update that cannot deploy (more instances than
	// this server runs) rolls back and the old configuration keeps serving.
	if _, err := admin.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("no-endpoints")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("denied")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("ok"), TemplateBody: aws.String(string(body)),
		Parameters: params, RoleARN: aws.String(stackRole)}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "ok"); st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("ok: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	before, err := admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ok-prod")})
	if err != nil {
		t.Fatalf("DescribeEndpoint ok-prod before the update: %v", err)
	}
	broken := strings.Replace(string(body), "InitialInstanceCount: !Ref InstanceCount", "InitialInstanceCount: 99", 1)
	if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("ok"), TemplateBody: aws.String(broken),
		Parameters: params}); err != nil {
		t.Fatal(err)
	}
	st = waitStack(t, cf, "ok")
	if st.StackStatus != cfntypes.StackStatusUpdateRollbackComplete {
		t.Fatalf("after a failed update: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	after, err := admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ok-prod")})
	if err != nil || *after.EndpointConfigName != *before.EndpointConfigName || after.EndpointStatus != "InService" {
		t.Errorf("the endpoint after the rolled back update: %+v, %v", after, err)
	}
	tpl, err := cf.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("ok")})
	if err != nil {
		t.Fatalf("GetTemplate ok: %v", err)
	}
	if strings.Contains(aws.ToString(tpl.TemplateBody), "99") {
		t.Errorf("the rolled back stack kept the failed template")
	}
	if _, err := admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("ok-prod"),
		ContentType: aws.String("text/csv"), Body: []byte("1,2\n")}); err != nil {
		t.Errorf("InvokeEndpoint after the rolled back update: %v", err)
	}
	cfgs, err := admin.sm.ListEndpointConfigs(ctx, &sagemaker.ListEndpointConfigsInput{})
	if err != nil {
		t.Fatalf("ListEndpointConfigs: %v", err)
	}
	if len(cfgs.EndpointConfigs) != 1 {
		t.Errorf("%d endpoint configurations after the rollback, want 1 (the new one deleted)", len(cfgs.EndpointConfigs))
	}
}
