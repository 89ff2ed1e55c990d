package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

const nestedChildTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Name: {Type: String}
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Ref Name}
Outputs:
  GroupName: {Value: !Ref Group}
`

// nestedParent is a template whose Child is a nested stack of the template at url; Copy
// reads the nested stack's output.
func nestedParent(url, extra string) string {
	return `{"Description": "outer` + extra + `", "Parameters": {"Name": {"Type": "String"}},
 "Resources": {
  "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "` + url + `",
    "Parameters": {"Name": {"Ref": "Name"}}, "TimeoutInMinutes": 5}},
  "Copy": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::Join": ["", [{"Fn::GetAtt": ["Child", "Outputs.GroupName"]}, "-copy"]]}}}},
 "Outputs": {"ChildId": {"Value": {"Ref": "Child"}}, "Group": {"Value": {"Fn::GetAtt": ["Child", "Outputs.GroupName"]}}}}`
}

func nestedPut(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func nestedOutput(st cfntypes.Stack, key string) string {
	for _, o := range st.Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

func nestedParam(st cfntypes.Stack, key string) string {
	for _, p := range st.Parameters {
		if aws.ToString(p.ParameterKey) == key {
			return aws.ToString(p.ParameterValue)
		}
	}
	return ""
}

// nestedCreate creates a stack from body and waits for it.
func nestedCreate(t *testing.T, cf *cloudformation.Client, name, body string, params ...string) cfntypes.Stack {
	t.Helper()
	in := &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body)}
	for i := 0; i+1 < len(params); i += 2 {
		in.Parameters = append(in.Parameters, cfntypes.Parameter{ParameterKey: aws.String(params[i]), ParameterValue: aws.String(params[i+1])})
	}
	if _, err := cf.CreateStack(context.Background(), in); err != nil {
		t.Fatalf("CreateStack %s: %v", name, err)
	}
	return waitStack(t, cf, name)
}

func nestedUpdate(t *testing.T, cf *cloudformation.Client, name, body, value string) cfntypes.Stack {
	t.Helper()
	if _, err := cf.UpdateStack(context.Background(), &cloudformation.UpdateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body),
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String(value)}}}); err != nil {
		t.Fatalf("UpdateStack %s: %v", name, err)
	}
	return waitStack(t, cf, name)
}

// TestNestedStacks: an AWS::CloudFormation::Stack whose TemplateURL names this server's S3
// (by its own address and by AWS's URL form) is created with its parent, its outputs read by
// Fn::GetAtt Outputs.NAME and Ref its ARN; DescribeStacks and ListStacks show its ParentId and
// RootId; the parent's update updates it only when its properties change; a failed update of
// it rolls the parent back, and the parent's rollback brings it back; a failed creation
// deletes it; the parent's deletion deletes it.
func TestNestedStacks(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	s3c := s.s3("data-science")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cfn-templates")}); err != nil {
		t.Fatal(err)
	}
	nestedPut(t, s3c, "cfn-templates", "child.yml", nestedChildTemplate)
	cf := cloudformation.NewFromConfig(s.cfg("data-science"))
	body := nestedParent(s.url+"/cfn-templates/child.yml", "")

	outer := nestedCreate(t, cf, "outer", body, "Name", "/nested/a")
	if outer.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("outer: %s (%s)", outer.StackStatus, aws.ToString(outer.StackStatusReason))
	}
	childID := nestedOutput(outer, "ChildId")
	if !strings.HasPrefix(childID, "arn:aws:cloudformation:us-east-1:") || !strings.Contains(childID, ":stack/outer-Child-") || nestedOutput(outer, "Group") != "/nested/a" {
		t.Fatalf("outer's outputs: %+v", outer.Outputs)
	}
	child := waitStack(t, cf, childID)
	if child.StackStatus != cfntypes.StackStatusCreateComplete || aws.ToString(child.ParentId) != *outer.StackId || aws.ToString(child.RootId) != *outer.StackId ||
		aws.ToInt32(child.TimeoutInMinutes) != 5 || nestedOutput(child, "GroupName") != "/nested/a" {
		t.Fatalf("nested stack: %+v", child)
	}
	if outer.ParentId != nil || outer.RootId != nil {
		t.Errorf("the top-level stack has a parent: %v %v", outer.ParentId, outer.RootId)
	}
	all, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{})
	if err != nil || len(all.Stacks) != 2 {
		t.Fatalf("DescribeStacks: %d stacks, %v", len(all.Stacks), err)
	}
	list, err := cf.ListStacks(ctx, &cloudformation.ListStacksInput{})
	found := false
	for _, sum := range list.StackSummaries {
		found = found || (aws.ToString(sum.StackId) == childID && aws.ToString(sum.ParentId) == *outer.StackId && aws.ToString(sum.RootId) == *outer.StackId)
	}
	if err != nil || !found {
		t.Errorf("ListStacks does not show the nested stack with its parent: %v", err)
	}
	evs, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(childID)})
	if err != nil || len(evs.StackEvents) < 4 {
		t.Errorf("the nested stack's events: %d, %v", len(evs.StackEvents), err)
	}

	// A new parameter value: the nested stack is updated (its log group replaced).
	outer = nestedUpdate(t, cf, "outer", body, "/nested/b")
	child = waitStack(t, cf, childID)
	if outer.StackStatus != cfntypes.StackStatusUpdateComplete || child.StackStatus != cfntypes.StackStatusUpdateComplete ||
		nestedOutput(outer, "Group") != "/nested/b" || nestedParam(child, "Name") != "/nested/b" {
		t.Fatalf("after the update: outer %s %+v; nested %s", outer.StackStatus, outer.Outputs, child.StackStatus)
	}
	// A change elsewhere in the parent leaves the nested stack alone.
	before := aws.ToTime(child.LastUpdatedTime)
	if outer = nestedUpdate(t, cf, "outer", nestedParent(s.url+"/cfn-templates/child.yml", " v2"), "/nested/b"); outer.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("outer after a description change: %s (%s)", outer.StackStatus, aws.ToString(outer.StackStatusReason))
	}
	if child = waitStack(t, cf, childID); !aws.ToTime(child.LastUpdatedTime).Equal(before) {
		t.Errorf("the nested stack was updated (%v → %v) though its properties did not change", before, child.LastUpdatedTime)
	}
	// The same template by AWS's URL form is the same template: nothing to update.
	if outer = nestedUpdate(t, cf, "outer", nestedParent("https://cfn-templates.s3.amazonaws.com/child.yml", " v2"), "/nested/b"); outer.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("outer by the s3 URL form: %s (%s)", outer.StackStatus, aws.ToString(outer.StackStatusReason))
	}
	if child = waitStack(t, cf, childID); !aws.ToTime(child.LastUpdatedTime).Equal(before) {
		t.Errorf("the nested stack was updated though only its template's URL form changed")
	}

	// A log group name another stack owns: the nested update fails and rolls back, the parent
	// rolls back, the nested stack ends at the parent's old revision.
	if squat := nestedCreate(t, cf, "squatter", urlLogGroupTemplate, "Name", "/nested/taken"); squat.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("squatter: %s", squat.StackStatus)
	}
	outer = nestedUpdate(t, cf, "outer", body, "/nested/taken")
	child = waitStack(t, cf, childID)
	if outer.StackStatus != cfntypes.StackStatusUpdateRollbackComplete || nestedOutput(outer, "Group") != "/nested/b" || nestedParam(child, "Name") != "/nested/b" ||
		!strings.Contains(aws.ToString(outer.StackStatusReason), "[Child]") {
		t.Fatalf("after a failed nested update: outer %s (%s) %+v; nested %s %s", outer.StackStatus, aws.ToString(outer.StackStatusReason),
			outer.Outputs, child.StackStatus, nestedParam(child, "Name"))
	}
	if outer = nestedUpdate(t, cf, "outer", body, "/nested/c"); outer.StackStatus != cfntypes.StackStatusUpdateComplete || nestedOutput(outer, "Group") != "/nested/c" {
		t.Fatalf("an update after the rollback: %s (%s)", outer.StackStatus, aws.ToString(outer.StackStatusReason))
	}

	// A failed creation: the nested stack is deleted with the parent's rollback.
	broken := nestedCreate(t, cf, "broken", body, "Name", "/nested/taken")
	if broken.StackStatus != cfntypes.StackStatusRollbackComplete {
		t.Fatalf("broken: %s (%s)", broken.StackStatus, aws.ToString(broken.StackStatusReason))
	}
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("broken")})
	if err != nil || len(res.StackResources) == 0 {
		t.Fatalf("broken's resources: %v", err)
	}
	if id := aws.ToString(res.StackResources[0].PhysicalResourceId); id != "" {
		if st := waitStack(t, cf, id); st.StackStatus != cfntypes.StackStatusDeleteComplete {
			t.Errorf("the rolled back parent's nested stack is %s", st.StackStatus)
		}
	}

	// Deleting the parent deletes the nested stack.
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("outer")}); err != nil {
		t.Fatal(err)
	}
	if st := waitStack(t, cf, *outer.StackId); st.StackStatus != cfntypes.StackStatusDeleteComplete {
		t.Fatalf("outer: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if st := waitStack(t, cf, childID); st.StackStatus != cfntypes.StackStatusDeleteComplete {
		t.Errorf("the deleted parent's nested stack is %s", st.StackStatus)
	}
}

// TestNestedStackRefusals: a nested template outside this server's S3, a template that nests
// itself, another account's bucket without a bucket policy, an explicit Deny of
// cloudformation:CreateStack and bad properties fail the parent, which rolls back and leaves
// no nested stack behind.
func TestNestedStackRefusals(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	s3c := s.s3("data-science")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cfn-templates")}); err != nil {
		t.Fatal(err)
	}
	nestedPut(t, s3c, "cfn-templates", "child.yml", nestedChildTemplate)
	self := `{"Resources": {"Again": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://cfn-templates.s3.amazonaws.com/self.json"}}}}`
	nestedPut(t, s3c, "cfn-templates", "self.json", self)
	cf := cloudformation.NewFromConfig(s.cfg("data-science"))
	stg := cloudformation.NewFromConfig(s.cfg("staging"))
	one := func(props string) string {
		return `{"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": ` + props + `}}}`
	}
	for _, tc := range []struct {
		name, body, want string
		cf               *cloudformation.Client
	}{
		{"outside", one(`{"TemplateURL": "https://evil.example.com/cfn-templates/child.yml"}`), "does not name this server's S3", cf},
		{"metadata", one(`{"TemplateURL": "http://169.254.169.254/latest/meta-data"}`), "does not name this server's S3", cf},
		{"self", self, "at most 5 are allowed", cf},
		{"other-account", one(`{"TemplateURL": "https://cfn-templates.s3.amazonaws.com/child.yml", "Parameters": {"Name": "/x"}}`), "AccessDenied", stg},
		{"parameters", one(`{"TemplateURL": "` + s.url + `/cfn-templates/child.yml", "Parameters": ["Name"]}`), "#/Parameters: expected type: Object", cf},
		{"timeout", one(`{"TemplateURL": "` + s.url + `/cfn-templates/child.yml", "Parameters": {"Name": "/x"}, "TimeoutInMinutes": 0}`), "TimeoutInMinutes", cf},
		{"missing-parameter", one(`{"TemplateURL": "` + s.url + `/cfn-templates/child.yml"}`), "Name", cf},
		{"missing-object", one(`{"TemplateURL": "` + s.url + `/cfn-templates/none.yml"}`), "does not exist", cf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := nestedCreate(t, tc.cf, tc.name, tc.body)
			if st.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(st.StackStatusReason), "[") {
				t.Fatalf("%s: %s (%s)", tc.name, st.StackStatus, aws.ToString(st.StackStatusReason))
			}
			evs, err := tc.cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: st.StackId})
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, ev := range evs.StackEvents {
				reasons = append(reasons, aws.ToString(ev.ResourceStatusReason))
			}
			list, err := tc.cf.ListStacks(ctx, &cloudformation.ListStacksInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, sum := range list.StackSummaries {
				if aws.ToString(sum.RootId) != *st.StackId {
					continue
				}
				if sum.StackStatus != cfntypes.StackStatusDeleteComplete {
					t.Errorf("nested stack %s of %s is %s after the rollback", *sum.StackName, tc.name, sum.StackStatus)
				}
				evs, err := tc.cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: sum.StackId})
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs.StackEvents {
					reasons = append(reasons, aws.ToString(ev.ResourceStatusReason))
				}
			}
			if !strings.Contains(strings.Join(reasons, "|"), tc.want) {
				t.Errorf("the events of %s and its nested stacks do not say %q: %q", tc.name, tc.want, reasons)
			}
		})
	}
	// An unknown property is refused before anything is stored.
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("unknown"),
		TemplateBody: aws.String(one(`{"TemplateURL": "https://cfn-templates.s3.amazonaws.com/child.yml", "Colour": "blue"}`))})
	if code(err) != "ValidationError" {
		t.Errorf("an unknown property: %v", err)
	}
	if _, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("unknown")}); code(err) != "ValidationError" {
		t.Errorf("the refused stack exists: %v", err)
	}
	// A stack role allowed everything but denied cloudformation:CreateStack on nested stacks:
	// the Deny wins, the parent rolls back, no nested stack is made.
	ic := iam.NewFromConfig(s.cfg("data-science"))
	_, err = ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("nester"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must(t, err)
	_, err = ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("nester"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*","s3:GetObject","cloudformation:*"],"Resource":"*"},
			{"Effect":"Deny","Action":"cloudformation:CreateStack","Resource":"arn:aws:cloudformation:*:*:stack/denied-Child-*"}]}`)})
	must(t, err)
	role := "arn:aws:iam::" + s.account["data-science"] + ":role/nester"
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("denied"), RoleARN: aws.String(role),
		TemplateBody: aws.String(one(`{"TemplateURL": "https://cfn-templates.s3.amazonaws.com/child.yml", "Parameters": {"Name": "/denied"}}`))})
	must(t, err)
	st := waitStack(t, cf, "denied")
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("denied")})
	must(t, err)
	if st.StackStatus != cfntypes.StackStatusRollbackComplete || len(res.StackResources) != 1 || aws.ToString(res.StackResources[0].PhysicalResourceId) != "" {
		t.Fatalf("denied: %s (%s), resources %+v", st.StackStatus, aws.ToString(st.StackStatusReason), res.StackResources)
	}
	evs, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("denied")})
	must(t, err)
	denied := false
	for _, ev := range evs.StackEvents {
		denied = denied || strings.Contains(strings.ToLower(aws.ToString(ev.ResourceStatusReason)), "explicit deny")
	}
	if !denied {
		t.Errorf("no event of denied says the explicit Deny refused the nested stack")
	}
}

// TestNestedStackResumesAfterRestart: a server stopped right after CreateStack of a parent
// whose nested stack is on its way leaves both to the next server on the same data directory,
// which finishes them; the nested stack keeps its parent.
func TestNestedStackResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	open := func() (*app.App, *httptest.Server, aws.Config) {
		a, err := app.New(ctx, cfg, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Start(ctx)
		hs := httptest.NewServer(a.Handler())
		a.Listening(hs.URL)
		profiles, err := credfile.ReadFile(a.CredentialsPath())
		if err != nil {
			t.Fatal(err)
		}
		p := profiles["data-science"]
		return a, hs, aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Retryer: connRetryer,
			Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")}
	}
	a1, hs1, c1 := open()
	s3c := s3.NewFromConfig(c1, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cfn-templates")}); err != nil {
		t.Fatal(err)
	}
	nestedPut(t, s3c, "cfn-templates", "child.yml", nestedChildTemplate)
	// AWS's URL form: the next server listens on another port.
	body := nestedParent("https://cfn-templates.s3.amazonaws.com/child.yml", "")
	cf := cloudformation.NewFromConfig(c1)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("outer"), TemplateBody: aws.String(body),
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String("/nested/resumed")}}}); err != nil {
		t.Fatal(err)
	}
	if out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("outer")}); err == nil {
		t.Logf("stopping the first server with the stack %s", out.Stacks[0].StackStatus)
	}
	hs1.Close()
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}

	a2, hs2, c2 := open()
	t.Cleanup(func() { hs2.Close(); a2.Close() })
	cf2 := cloudformation.NewFromConfig(c2)
	outer := waitStack(t, cf2, "outer")
	if outer.StackStatus != cfntypes.StackStatusCreateComplete || nestedOutput(outer, "Group") != "/nested/resumed" {
		t.Fatalf("after the restart: %s (%s) %+v", outer.StackStatus, aws.ToString(outer.StackStatusReason), outer.Outputs)
	}
	child := waitStack(t, cf2, nestedOutput(outer, "ChildId"))
	if child.StackStatus != cfntypes.StackStatusCreateComplete || aws.ToString(child.ParentId) != *outer.StackId {
		t.Errorf("the nested stack after the restart: %s, parent %s", child.StackStatus, aws.ToString(child.ParentId))
	}
	all, err := cf2.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{})
	if err != nil || len(all.Stacks) != 2 {
		t.Errorf("%d stacks after the restart, want the parent and one nested stack (%v)", len(all.Stacks), err)
	}
}
