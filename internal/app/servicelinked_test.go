package app_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestServiceLinkedRoleIsUnmodifiable: the stack sets' service-linked role of the management
// account, once a SERVICE_MANAGED set has made it, is refused to the management account's own
// admin by every IAM operation that would change it (UnmodifiableEntity, 400, naming the role)
// through the Go SDK and the aws CLI; nobody can make a role under /aws-service-role/; the
// role is unchanged afterwards and stack sets still act through it.
func TestServiceLinkedRoleIsUnmodifiable(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	staging := s.account["staging"]
	cf := cloudformation.NewFromConfig(s.cfg("data-science"))
	_, ou := orgUnit(t, admin, "staging")
	if _, err := cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("slr"),
		TemplateBody:    aws.String("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties: {LogGroupName: /stacksets/slr}\n"),
		PermissionModel: cfntypes.PermissionModelsServiceManaged, AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	targets := &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{ou}}
	op, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("slr"),
		DeploymentTargets: targets, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitOperation(t, cf, "slr", *op.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded {
		t.Fatalf("deploying the set: %s (%s)", d.Status, aws.ToString(d.StatusReason))
	}

	const name = "AWSServiceRoleForCloudFormationStackSetsOrgAdmin"
	role := aws.String(name)
	snapshot := func() string {
		t.Helper()
		r, err := admin.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: role})
		if err != nil {
			t.Fatal(err)
		}
		out := aws.ToString(r.Role.RoleId) + " " + aws.ToString(r.Role.Arn) + " " + aws.ToString(r.Role.AssumeRolePolicyDocument)
		ps, err := admin.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps.PolicyNames {
			doc, err := admin.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: role, PolicyName: aws.String(p)})
			if err != nil {
				t.Fatal(err)
			}
			out += "\ninline " + p + " " + aws.ToString(doc.PolicyDocument)
		}
		att, err := admin.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: role})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range att.AttachedPolicies {
			out += "\nattached " + aws.ToString(p.PolicyArn)
		}
		return out
	}
	before := snapshot()
	if !strings.Contains(before, "\ninline ") {
		t.Fatalf("the service-linked role has no policy:\n%s", before)
	}
	policyName := aws.String(strings.Fields(strings.SplitN(before, "\ninline ", 2)[1])[0])
	deny := aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
	extra, err := admin.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("slr-deny"), PolicyDocument: deny})
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		op string
		do func() error
	}{
		{"DeleteRole", func() error {
			_, err := admin.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role})
			return err
		}},
		{"PutRolePolicy (replace)", func() error {
			_, err := admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: policyName, PolicyDocument: deny})
			return err
		}},
		{"PutRolePolicy (add)", func() error {
			_, err := admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("deny"), PolicyDocument: deny})
			return err
		}},
		{"DeleteRolePolicy", func() error {
			_, err := admin.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: policyName})
			return err
		}},
		{"AttachRolePolicy", func() error {
			_, err := admin.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: extra.Policy.Arn})
			return err
		}},
		{"DetachRolePolicy", func() error {
			_, err := admin.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: extra.Policy.Arn})
			return err
		}},
	}
	want := "UnmodifiableEntity 400 Cannot perform the operation on the protected role '" + name + "' - this role is only modifiable by AWS"
	for _, r := range refused {
		if got := answer(r.do()); got != want {
			t.Errorf("%s by the management account's admin:\n got %s\nwant %s", r.op, got, want)
		}
	}

	// The aws CLI sees the same refusal.
	ds := s.profile["data-science"]
	cmd := exec.CommandContext(ctx, "/usr/bin/aws", "--endpoint-url", s.url, "iam", "delete-role-policy", "--role-name", name, "--policy-name", *policyName)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+ds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ds.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "(UnmodifiableEntity) when calling the DeleteRolePolicy operation") {
		t.Errorf("aws iam delete-role-policy: %v\n%s", err, out)
	}

	// Nobody makes a role where service-linked roles live.
	trust := aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"stacksets.cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	_, err = admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Forged"), Path: aws.String("/aws-service-role/stacksets.cloudformation.amazonaws.com/"), AssumeRolePolicyDocument: trust})
	if got := answer(err); !strings.HasPrefix(got, "InvalidInput 400 ") {
		t.Errorf("CreateRole under /aws-service-role/: %s; want InvalidInput 400", got)
	}
	if _, err := admin.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Forged")}); code(err) != "NoSuchEntity" {
		t.Errorf("the refused role: %v; want NoSuchEntity", err)
	}

	if after := snapshot(); after != before {
		t.Errorf("the service-linked role changed:\nbefore %s\n after %s", before, after)
	}
	// Stack sets still act through it.
	op2, err := cf.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("slr"),
		DeploymentTargets: targets, Regions: []string{"us-east-1"}, RetainStacks: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitOperation(t, cf, "slr", *op2.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded {
		t.Errorf("deleting the instances after the refusals: %s (%s)", d.Status, aws.ToString(d.StatusReason))
	}
	if _, ok := instances(t, cf, "slr")[staging]; ok {
		t.Errorf("the instance in staging is still there")
	}
}
