package app_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// resourcesTemplate is a stack of every type of the second set: a bucket and its policy, a log
// group an event rule delivers to, a SageMaker pipeline, a role with an inline policy
// (AWS::IAM::Policy) and a managed policy attached to it. v2 changes each in the way
// CloudFormation documents as in place, except the managed policy's description (replacement).
func resourcesTemplate(account string, v2 bool) string {
	pick := func(a, b any) any {
		if v2 {
			return b
		}
		return a
	}
	fail := func(msg string) string {
		return `{"Version":"2020-12-01","Steps":[{"Name":"Stop","Type":"Fail","Arguments":{"ErrorMessage":"` + msg + `"}}]}`
	}
	doc := func(action string) map[string]any {
		return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": action, "Resource": "*"}}}
	}
	target := map[string]any{"Id": "logs", "Arn": map[string]any{"Fn::GetAtt": []any{"Logs", "Arn"}}, "InputPath": "$.detail"}
	if v2 {
		target = map[string]any{"Id": "logs2", "Arn": map[string]any{"Fn::GetAtt": []any{"Logs", "Arn"}},
			"InputTransformer": map[string]any{"InputPathsMap": map[string]any{"g": "$.detail.group"}, "InputTemplate": `{"group": <g>}`}}
	}
	tpl := map[string]any{
		"Parameters": map[string]any{"PipelineName": map[string]any{"Type": "String"}},
		"Resources": map[string]any{
			"Bucket": map[string]any{"Type": "AWS::S3::Bucket"},
			"BucketPolicy": map[string]any{"Type": "AWS::S3::BucketPolicy", "Properties": map[string]any{
				"Bucket": map[string]any{"Ref": "Bucket"},
				"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
					"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + account + ":root"},
					"Action":   pick("s3:GetObject", []any{"s3:GetObject", "s3:ListBucket"}),
					"Resource": []any{map[string]any{"Fn::Sub": "arn:aws:s3:::${Bucket}/*"}, map[string]any{"Fn::Sub": "arn:aws:s3:::${Bucket}"}}}}}}},
			"Logs": map[string]any{"Type": "AWS::Logs::LogGroup"},
			"Rule": map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
				"Description":  pick("approvals", "rejections"),
				"EventPattern": map[string]any{"source": []any{"slipway.test"}, "detail": map[string]any{"status": []any{pick("Approved", "Rejected")}}},
				"State":        pick("ENABLED", "DISABLED"),
				"Targets":      []any{target}}},
			"Pipeline": map[string]any{"Type": "AWS::SageMaker::Pipeline", "Properties": map[string]any{
				"PipelineName":        map[string]any{"Ref": "PipelineName"},
				"PipelineDisplayName": "build",
				"PipelineDescription": pick("first", "second"),
				"RoleArn":             map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}},
				"PipelineDefinition":  map[string]any{"PipelineDefinitionBody": pick(fail("one"), fail("two"))}}},
			"Role": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{"AssumeRolePolicyDocument": json.RawMessage(sagemakerTrust)}},
			"Policy": map[string]any{"Type": "AWS::IAM::Policy", "Properties": map[string]any{
				"PolicyName": pick("read", "read-more"), "PolicyDocument": doc(pick("s3:GetObject", "s3:*").(string)),
				"Roles": []any{map[string]any{"Ref": "Role"}}}},
			"Managed": map[string]any{"Type": "AWS::IAM::ManagedPolicy", "Properties": map[string]any{
				"Description": pick("v1", "v2"), "PolicyDocument": doc("sagemaker:Describe*"), "Roles": []any{map[string]any{"Ref": "Role"}}}},
		},
		"Outputs": map[string]any{
			"RuleRef":     map[string]any{"Value": map[string]any{"Ref": "Rule"}},
			"RuleArn":     map[string]any{"Value": map[string]any{"Fn::GetAtt": []any{"Rule", "Arn"}}},
			"PipelineRef": map[string]any{"Value": map[string]any{"Ref": "Pipeline"}},
			"PolicyId":    map[string]any{"Value": map[string]any{"Fn::GetAtt": []any{"Policy", "Id"}}},
			"ManagedRef":  map[string]any{"Value": map[string]any{"Ref": "Managed"}},
			"ManagedId":   map[string]any{"Value": map[string]any{"Fn::GetAtt": []any{"Managed", "PolicyId"}}},
			"BucketRef":   map[string]any{"Value": map[string]any{"Ref": "BucketPolicy"}},
		},
	}
	b, err := json.Marshal(tpl)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// resourcesRole makes a role CloudFormation may assume that may do everything the template
// needs; deny adds an explicit Deny of one action.
func resourcesRole(t *testing.T, c clients, account, name, deny string) string {
	ctx := context.Background()
	if _, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:*","logs:*","events:*","iam:*","s3:*"],"Resource":"*"}`
	if deny != "" {
		doc += `,{"Effect":"Deny","Action":"` + deny + `","Resource":"*"}`
	}
	if _, err := c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("deploy"), PolicyDocument: aws.String(doc + "]}")}); err != nil {
		t.Fatal(err)
	}
	return "arn:aws:iam::" + account + ":role/" + name
}

func stackOutputs(st cfntypes.Stack) map[string]string {
	out := map[string]string{}
	for _, o := range st.Outputs {
		out[*o.OutputKey] = *o.OutputValue
	}
	return out
}

func stackPhysical(t *testing.T, cf *cloudformation.Client, name string) map[string]string {
	t.Helper()
	res, err := cf.ListStackResources(context.Background(), &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range res.StackResourceSummaries {
		out[*r.LogicalResourceId] = aws.ToString(r.PhysicalResourceId)
	}
	return out
}

// TestStackResourceTypes creates, updates and deletes a stack of every new type with the Go
// SDK, checking each resource through its own service's API.
func TestStackResourceTypes(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct := s.account["data-science"]
	admin := clientsOf(s.cfg("data-science"))
	cf, eb := cfnOf(admin.sm), eventsOf(admin.sm)
	role := resourcesRole(t, admin, acct, "res-deployer", "")
	params := []cfntypes.Parameter{{ParameterKey: aws.String("PipelineName"), ParameterValue: aws.String("build")}}
	caps := []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("res"), TemplateBody: aws.String(resourcesTemplate(acct, false)),
		Parameters: params, Capabilities: caps, RoleARN: aws.String(role)}); err != nil {
		t.Fatal(err)
	}
	st := waitStack(t, cf, "res")
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("create: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	out, phys := stackOutputs(st), stackPhysical(t, cf, "res")
	roleName := phys["Role"]

	// Return values as CloudFormation documents them.
	ruleName := phys["Rule"]
	if out["RuleRef"] != ruleName || out["RuleArn"] != "arn:aws:events:us-east-1:"+acct+":rule/"+ruleName {
		t.Errorf("rule Ref %q, Arn %q (physical %q)", out["RuleRef"], out["RuleArn"], ruleName)
	}
	if out["PipelineRef"] != "build" || out["PolicyId"] != phys["Policy"] || out["BucketRef"] != phys["Bucket"] {
		t.Errorf("outputs %v, physical ids %v", out, phys)
	}
	if !strings.HasPrefix(out["ManagedRef"], "arn:aws:iam::"+acct+":policy/res-Managed-") || !strings.HasPrefix(out["ManagedId"], "ANPA") {
		t.Errorf("managed policy Ref %q, PolicyId %q", out["ManagedRef"], out["ManagedId"])
	}

	// Each resource exists as its own service sees it.
	check := func(stage string, wantPattern, wantState, wantTarget, wantPolicyName, wantDesc, wantBucketAction string) {
		t.Helper()
		r, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(ruleName)})
		if err != nil || !strings.Contains(aws.ToString(r.EventPattern), wantPattern) || string(r.State) != wantState {
			t.Errorf("%s: rule %+v, %v", stage, r, err)
		}
		ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(ruleName)})
		if err != nil || len(ts.Targets) != 1 || *ts.Targets[0].Id != wantTarget || !strings.HasSuffix(*ts.Targets[0].Arn, ":log-group:"+phys["Logs"]+":*") {
			t.Errorf("%s: targets %+v, %v", stage, ts, err)
		}
		p, err := admin.sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: aws.String("build")})
		if err != nil || aws.ToString(p.PipelineDescription) != wantDesc || !strings.HasSuffix(aws.ToString(p.RoleArn), ":role/"+roleName) {
			t.Errorf("%s: pipeline %+v, %v", stage, p, err)
		}
		pol, err := admin.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(wantPolicyName)})
		if err != nil {
			t.Errorf("%s: inline policy %s: %v", stage, wantPolicyName, err)
		} else if pol.PolicyDocument == nil {
			t.Errorf("%s: inline policy without a document", stage)
		}
		att, err := admin.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName)})
		if err != nil || len(att.AttachedPolicies) != 1 || *att.AttachedPolicies[0].PolicyArn != phys["Managed"] {
			t.Errorf("%s: attached %+v, %v; want %s", stage, att, err, phys["Managed"])
		}
		bp, err := admin.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(phys["Bucket"])})
		if err != nil || !strings.Contains(aws.ToString(bp.Policy), wantBucketAction) {
			t.Errorf("%s: bucket policy %v, %v", stage, bp, err)
		}
	}
	check("created", `"Approved"`, "ENABLED", "logs", "read", "first", `"s3:GetObject"`)

	// The rule delivers: a matching event lands in the stack's log group as its detail.
	if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("slipway.test"),
		DetailType: aws.String("Test"), Detail: aws.String(`{"status":"Approved","group":"abalone"}`)}}}); err != nil {
		t.Fatal(err)
	}
	cw := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: admin.sm.Options().BaseEndpoint, Credentials: admin.sm.Options().Credentials})
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(phys["Logs"])})
		if err == nil && len(evs.Events) == 1 && strings.Contains(aws.ToString(evs.Events[0].Message), `"group":"abalone"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rule delivered nothing to %s: %+v, %v", phys["Logs"], evs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Update: rule, pipeline, inline policy and bucket policy in place; the managed policy replaced.
	if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("res"), TemplateBody: aws.String(resourcesTemplate(acct, true)),
		Parameters: params, Capabilities: caps}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "res"); st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	before := phys
	phys = stackPhysical(t, cf, "res")
	for _, same := range []string{"Rule", "Pipeline", "Policy", "BucketPolicy", "Role", "Bucket", "Logs"} {
		if phys[same] != before[same] {
			t.Errorf("%s was replaced (%s → %s), want an update in place", same, before[same], phys[same])
		}
	}
	if phys["Managed"] == before["Managed"] {
		t.Errorf("the managed policy %s was not replaced", phys["Managed"])
	}
	check("updated", `"Rejected"`, "DISABLED", "logs2", "read-more", "second", `"s3:ListBucket"`)
	if _, err := admin.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String("read")}); code(err) != "NoSuchEntity" {
		t.Errorf("the renamed inline policy's old name: %v, want NoSuchEntity", err)
	}
	if _, err := admin.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(before["Managed"])}); code(err) != "NoSuchEntity" {
		t.Errorf("the replaced managed policy: %v, want NoSuchEntity", err)
	}
	vs, err := admin.sm.ListPipelineVersions(ctx, &sagemaker.ListPipelineVersionsInput{PipelineName: aws.String("build")})
	if err == nil && len(vs.PipelineVersionSummaries) != 2 {
		t.Errorf("pipeline versions %d, want 2", len(vs.PipelineVersionSummaries))
	}

	// Delete: nothing of the stack is left.
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("res")}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, *st.StackId); st.StackStatus != cfntypes.StackStatusDeleteComplete {
		t.Fatalf("delete: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	assertNothingLeft(t, admin, acct, "res-deployer")
}

// assertNothingLeft checks that the account holds no pipeline, rule, customer managed
// policy, bucket, log group or role but the stacks' deployers (named with the prefix).
func assertNothingLeft(t *testing.T, c clients, acct, deployer string) {
	t.Helper()
	ctx := context.Background()
	eb := eventsOf(c.sm)
	if ps, err := c.sm.ListPipelines(ctx, &sagemaker.ListPipelinesInput{}); err != nil || len(ps.PipelineSummaries) != 0 {
		t.Errorf("pipelines left: %d, %v", len(ps.PipelineSummaries), err)
	}
	if rs, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil || len(rs.Rules) != 0 {
		t.Errorf("rules left: %d, %v", len(rs.Rules), err)
	}
	if ps, err := c.iam.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}); err != nil || len(ps.Policies) != 0 {
		t.Errorf("managed policies left: %d, %v", len(ps.Policies), err)
	}
	if bs, err := c.s3.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil || len(bs.Buckets) != 0 {
		t.Errorf("buckets left: %d, %v", len(bs.Buckets), err)
	}
	cw := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: c.sm.Options().BaseEndpoint, Credentials: c.sm.Options().Credentials})
	if gs, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil || len(gs.LogGroups) != 0 {
		t.Errorf("log groups left: %d, %v", len(gs.LogGroups), err)
	}
	rs, err := c.iam.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.Roles {
		if !strings.HasPrefix(*r.RoleName, deployer) && !strings.HasPrefix(*r.RoleName, "OrganizationAccount") {
			t.Errorf("role left: %s", *r.RoleName)
		}
	}
}

// TestStackResourceTypesRollBack: a stack whose role is denied one underlying action (an
// explicit Deny that wins over its Allow), or whose template holds a bad event pattern, fails
// on that resource and rolls back, leaving nothing of what it made.
func TestStackResourceTypesRollBack(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct := s.account["data-science"]
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	good := resourcesTemplate(acct, false)
	for i, tc := range []struct {
		deny, template, failed, reason string
	}{
		{"events:PutRule", good, "Rule", "AccessDenied"},
		{"events:PutTargets", good, "Rule", "AccessDenied"},
		{"sagemaker:CreatePipeline", good, "Pipeline", "AccessDenied"},
		{"iam:PutRolePolicy", good, "Policy", "AccessDenied"},
		{"iam:CreatePolicy", good, "Managed", "AccessDenied"},
		{"iam:AttachRolePolicy", good, "Managed", "AccessDenied"},
		{"s3:PutBucketPolicy", good, "BucketPolicy", "AccessDenied"},
		{"", strings.Replace(good, `"source":["slipway.test"]`, `"source":"slipway.test"`, 1), "Rule", "source"},
	} {
		t.Run(tc.failed+"/"+tc.deny, func(t *testing.T) {
			deployer := "deny-" + string(rune('a'+i))
			role := resourcesRole(t, admin, acct, deployer, tc.deny)
			name := "fail-" + string(rune('a'+i))
			if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(tc.template),
				Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("PipelineName"), ParameterValue: aws.String("build-" + name)}},
				Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}, RoleARN: aws.String(role)}); err != nil {
				t.Fatal(err)
			}
			st := waitStack(t, cf, name)
			if st.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(st.StackStatusReason), "["+tc.failed+"]") {
				t.Fatalf("%s: %s (%s)", name, st.StackStatus, aws.ToString(st.StackStatusReason))
			}
			evs, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, ev := range evs.StackEvents {
				if *ev.LogicalResourceId == tc.failed && ev.ResourceStatus == cfntypes.ResourceStatusCreateFailed && strings.Contains(aws.ToString(ev.ResourceStatusReason), tc.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("no CREATE_FAILED event of %s says %q", tc.failed, tc.reason)
			}
			res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(name)})
			if err != nil {
				t.Fatalf("DescribeStackResources %s: %v", name, err)
			}
			for _, r := range res.StackResources {
				if r.ResourceStatus != cfntypes.ResourceStatusDeleteComplete {
					t.Errorf("after the rollback %s is %s", *r.LogicalResourceId, r.ResourceStatus)
				}
			}
			assertNothingLeft(t, admin, acct, "deny-")
		})
	}
}

// TestStackEndpointDeploymentConfig: an AWS::SageMaker::Endpoint's DeploymentConfig drives
// serving's safe update when the stack moves the endpoint to a new configuration (a number
// from a parameter included); a DeploymentConfig SageMaker would refuse fails the endpoint and
// the stack rolls back.
func TestStackEndpointDeploymentConfig(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	url, modelRole, stackRole := stackArtifact(t, admin, s.account["data-science"])
	body, err := os.ReadFile("testdata/stack-endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	tpl := strings.Replace(string(body), "      EndpointConfigName: !GetAtt EndpointConfig.EndpointConfigName\n", `      EndpointConfigName: !GetAtt EndpointConfig.EndpointConfigName
      DeploymentConfig:
        BlueGreenUpdatePolicy:
          TrafficRoutingConfiguration:
            Type: LINEAR
            WaitIntervalInSeconds: !Ref Wait
            LinearStepSize: {Type: CAPACITY_PERCENT, Value: 50}
          TerminationWaitInSeconds: 0
`, 1)
	tpl = strings.Replace(tpl, "Parameters:\n", "Parameters:\n  Wait:\n    Type: Number\n    Default: 0\n", 1)
	params := []cfntypes.Parameter{{ParameterKey: aws.String("ModelDataUrl"), ParameterValue: aws.String(url)},
		{ParameterKey: aws.String("ExecutionRoleArn"), ParameterValue: aws.String(modelRole)},
		{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("staging")}}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("bg"), TemplateBody: aws.String(tpl),
		Parameters: params, RoleARN: aws.String(stackRole)}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "bg"); st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("create: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("bg"), UsePreviousTemplate: aws.Bool(true),
		Parameters: append(params, cfntypes.Parameter{ParameterKey: aws.String("InstanceCount"), ParameterValue: aws.String("2")})}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "bg"); st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	ep, err := admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("bg-staging")})
	if err != nil {
		t.Fatal(err)
	}
	dc := ep.LastDeploymentConfig
	if dc == nil || dc.BlueGreenUpdatePolicy == nil || dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type != "LINEAR" ||
		aws.ToInt32(dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.LinearStepSize.Value) != 50 || *ep.ProductionVariants[0].CurrentInstanceCount != 2 {
		t.Errorf("after the stack's update the endpoint's last deployment is %+v (%d instances), want the template's LINEAR 50%%", dc, *ep.ProductionVariants[0].CurrentInstanceCount)
	}

	bad := strings.Replace(tpl, "Type: LINEAR", "Type: CANARY", 1)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("bad"), TemplateBody: aws.String(bad),
		Parameters: params[:2:2], RoleARN: aws.String(stackRole)}); err == nil {
		t.Fatal("a stack without StageName was accepted")
	}
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("bad"), TemplateBody: aws.String(bad),
		Parameters: append(params[:2:2], cfntypes.Parameter{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("prod")}), RoleARN: aws.String(stackRole)}); err != nil {
		t.Fatal(err)
	}
	st := waitStack(t, cf, "bad")
	if st.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(st.StackStatusReason), "[Endpoint]") {
		t.Fatalf("bad DeploymentConfig: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	evs, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("bad")})
	if err != nil {
		t.Fatalf("DescribeStackEvents bad: %v", err)
	}
	found := false
	for _, ev := range evs.StackEvents {
		found = found || strings.Contains(aws.ToString(ev.ResourceStatusReason), "LinearStepSize goes with Type LINEAR, not CANARY")
	}
	if !found {
		t.Error("no event says why the DeploymentConfig was refused")
	}
	if _, err := admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("bad-prod")}); err == nil {
		t.Error("the refused endpoint exists")
	}
}

// TestStackModelPackageGroupPolicy: a group's ModelPackageGroupPolicy is put at creation,
// changed and removed in place, and a role denied PutModelPackageGroupPolicy leaves no group.
func TestStackModelPackageGroupPolicy(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct, staging := s.account["data-science"], s.account["staging"]
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	tpl := func(action string) string {
		policy := ""
		if action != "" {
			policy = `, "ModelPackageGroupPolicy": {"Version": "2012-10-17", "Statement": [{"Sid": "Staging", "Effect": "Allow",
				"Principal": {"AWS": "arn:aws:iam::` + staging + `:root"}, "Action": "` + action + `",
				"Resource": {"Fn::Sub": "arn:aws:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/abalone"}}]}`
		}
		return `{"Resources": {"Group": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": {"ModelPackageGroupName": "abalone"` + policy + `}}},
			"Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Group", "ModelPackageGroupArn"]}}}}`
	}
	policyOf := func() string {
		out, err := admin.sm.GetModelPackageGroupPolicy(ctx, &sagemaker.GetModelPackageGroupPolicyInput{ModelPackageGroupName: aws.String("abalone")})
		if err != nil {
			return code(err)
		}
		return aws.ToString(out.ResourcePolicy)
	}
	stack := "group"
	run := func(op func() error, want cfntypes.StackStatus) {
		t.Helper()
		if err := op(); err != nil {
			t.Fatal(err)
		}
		if st := waitStack(t, cf, stack); st.StackStatus != want {
			t.Fatalf("%s (%s), want %s", st.StackStatus, aws.ToString(st.StackStatusReason), want)
		}
	}
	run(func() error {
		_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("group"), TemplateBody: aws.String(tpl("sagemaker:DescribeModelPackage"))})
		return err
	}, cfntypes.StackStatusCreateComplete)
	if p := policyOf(); !strings.Contains(p, `"sagemaker:DescribeModelPackage"`) || !strings.Contains(p, staging) {
		t.Errorf("policy after create: %s", p)
	}
	before := stackPhysical(t, cf, "group")["Group"]
	run(func() error {
		_, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("group"), TemplateBody: aws.String(tpl("sagemaker:DescribeModelPackageGroup"))})
		return err
	}, cfntypes.StackStatusUpdateComplete)
	if p := policyOf(); !strings.Contains(p, `"sagemaker:DescribeModelPackageGroup"`) || stackPhysical(t, cf, "group")["Group"] != before {
		t.Errorf("policy after update: %s; group %s → %s", p, before, stackPhysical(t, cf, "group")["Group"])
	}
	run(func() error {
		_, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("group"), TemplateBody: aws.String(tpl(""))})
		return err
	}, cfntypes.StackStatusUpdateComplete)
	if p := policyOf(); strings.Contains(p, "Statement") {
		t.Errorf("policy after its removal: %s", p)
	}
	stack = *waitStack(t, cf, "group").StackId // a deleted stack is found by its id only
	run(func() error {
		_, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("group")})
		return err
	}, cfntypes.StackStatusDeleteComplete)
	if _, err := admin.sm.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")}); err == nil {
		t.Error("the group outlived its stack")
	}

	// A role that may create the group but not give it a policy: the stack rolls back, no group.
	role := resourcesRole(t, admin, acct, "group-deployer", "sagemaker:PutModelPackageGroupPolicy")
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("group2"), TemplateBody: aws.String(tpl("sagemaker:DescribeModelPackage")),
		RoleARN: aws.String(role)}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, "group2"); st.StackStatus != cfntypes.StackStatusRollbackComplete {
		t.Fatalf("group2: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := admin.sm.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")}); err == nil {
		t.Error("the group of the rolled back stack exists")
	}
}
