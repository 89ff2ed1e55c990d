package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/audit"
)

// TestServiceManagedStackSetsActAsTheirOwnRole: a SERVICE_MANAGED stack set reaches the member
// accounts through the stack sets' service-linked role of the management account, not through
// its caller. A user allowed cloudformation:* and explicitly denied sts:AssumeRole deploys a set
// into the staging OU; nobody but the engine may assume the service-linked role (not even the
// management account's admin); and every step is in the audit trail with the engine named.
func TestServiceManagedStackSetsActAsTheirOwnRole(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	mgmt, staging := s.account["data-science"], s.account["staging"]
	if _, err := admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("deployer")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("deployer"), PolicyName: aws.String("stacksets"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudformation:*","Resource":"*"},` +
			`{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deployer")})
	if err != nil {
		t.Fatal(err)
	}
	deployer := s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, ""))
	cf := cloudformation.NewFromConfig(deployer)
	_, ou := orgUnit(t, admin, "staging")
	if _, err := cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("logs"),
		TemplateBody:    aws.String("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties: {LogGroupName: /stacksets/orgadmin}\n"),
		PermissionModel: cfntypes.PermissionModelsServiceManaged, AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	op, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("logs"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{ou}}, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitOperation(t, cf, "logs", *op.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded {
		t.Fatalf("the operation of a caller without sts:AssumeRole: %s (%s)", d.Status, aws.ToString(d.StatusReason))
	}
	if i := instances(t, cf, "logs")[staging]; i.Status != cfntypes.StackInstanceStatusCurrent {
		t.Errorf("the instance in staging: %s (%s)", i.Status, aws.ToString(i.StatusReason))
	}

	slr := "arn:aws:iam::" + mgmt + ":role/aws-service-role/stacksets.cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgAdmin"
	role, err := admin.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForCloudFormationStackSetsOrgAdmin")})
	if err != nil || aws.ToString(role.Role.Arn) != slr {
		t.Fatalf("the service-linked role: %+v, %v; want %s", role, err, slr)
	}
	if _, err := admin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &slr, RoleSessionName: aws.String("borrow")}); code(err) != "AccessDenied" {
		t.Errorf("the admin assumed the stack sets' service-linked role: %v; want AccessDenied (only the engine may)", err)
	}

	recs, err := s.app.Store.Audit().AuditRecords(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, r := range recs {
		var rec audit.Record
		if err := json.Unmarshal(r.Body, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.UserAgent == "stacksets.cloudformation.amazonaws.com" && rec.Operation == "AssumeRole" {
			seen = append(seen, rec.Decision+" "+rec.PrincipalARN+" → "+rec.Resource)
		}
	}
	session := "arn:aws:sts::" + mgmt + ":assumed-role/AWSServiceRoleForCloudFormationStackSetsOrgAdmin/stacksets.cloudformation.amazonaws.com"
	want := []string{
		"allow stacksets.cloudformation.amazonaws.com → " + slr,
		"allow " + session + " → arn:aws:iam::" + staging + ":role/OrganizationAccountAccessRole",
	}
	got := strings.Join(seen, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("no audit record %q among the engine's AssumeRole records:\n%s", w, got)
		}
	}
}
