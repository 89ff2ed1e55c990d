package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/stacksets"
)

const slrService = "stacksets.cloudformation.amazonaws.com"

// slrForget removes the stack sets' service-linked role from account behind the API's back
// (the authorization test's stack sets use it, so IAM would keep it), so that
// CreateServiceLinkedRole has a role to make.
func slrForget(t *testing.T, s *server, account string) {
	ctx := context.Background()
	st := s.app.Store.Identity()
	name := stacksets.OrgAdminRole.Name
	ps, err := st.ListInlinePolicies(ctx, account, identity.KindRole, name)
	if err != nil && !strings.Contains(err.Error(), "cannot be found") {
		mustDo(t, err)
	}
	for _, p := range ps {
		mustDo(t, st.DeleteInlinePolicy(ctx, account, identity.KindRole, name, p.Name))
	}
	if err := st.DeletePrincipal(ctx, account, identity.KindRole, name); err != nil && !strings.Contains(strings.ToLower(err.Error()), "not") {
		mustDo(t, err)
	}
}

// slrEnsure makes the stack sets' service-linked role in the admin's account if it is missing.
func (e *authzEnv) slrEnsure() map[string]string {
	ctx := context.Background()
	if _, err := e.admin.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(stacksets.OrgAdminRole.Name)}); code(err) == "NoSuchEntity" {
		_, err := e.admin.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(slrService)})
		e.must(err)
	}
	return map[string]string{"AWSServiceName": slrService, "RoleName": stacksets.OrgAdminRole.Name, "Path": stacksets.OrgAdminRole.Path()}
}

// slrAuthzCases are the service-linked role operations' cases of the every-operation
// authorization test.
func slrAuthzCases(s *server) map[string]opCase {
	return map[string]opCase{
		"CreateServiceLinkedRole": {func(e *authzEnv) map[string]string {
			slrForget(e.t, s, e.account)
			return map[string]string{"AWSServiceName": slrService}
		}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(v["AWSServiceName"])})
			return err
		}},
		"DeleteServiceLinkedRole": {(*authzEnv).slrEnsure, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(v["RoleName"])})
			return err
		}},
		"GetServiceLinkedRoleDeletionStatus": {func(e *authzEnv) map[string]string {
			v := e.slrEnsure()
			out, err := e.admin.iam.DeleteServiceLinkedRole(context.Background(), &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(v["RoleName"])})
			e.must(err)
			v["DeletionTaskId"] = aws.ToString(out.DeletionTaskId)
			return v
		}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String(v["DeletionTaskId"])})
			return err
		}},
	}
}

// TestServiceLinkedRoleAPI: CreateServiceLinkedRole makes the stack sets' service-linked role
// (the role the engine would make on first use: its path, trust and policy); making it twice,
// for a service without one, with a custom suffix, or as a principal denied it (by a Deny on
// iam:AWSServiceName) is refused and makes nothing. DeleteServiceLinkedRole keeps a role a
// SERVICE_MANAGED stack set uses (its task FAILED, naming the set) and deletes it once the set
// is gone (SUCCEEDED); an ordinary role, another account's role and a Deny are refused and
// change nothing; DeleteRole still refuses the service-linked role; malformed and unknown
// deletion tasks are refused. Debian's aws CLI v2 deletes and makes the role.
func TestServiceLinkedRoleAPI(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	name := stacksets.OrgAdminRole.Name
	getRole := func() (*iamtypes.Role, error) {
		out, err := admin.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		return out.Role, nil
	}
	if _, err := getRole(); code(err) != "NoSuchEntity" {
		t.Fatalf("a fresh server's role: %v, want NoSuchEntity", err)
	}

	refusals := []struct {
		what, service, suffix, want string
	}{
		{"an unknown service", "example.amazonaws.com", "", "InvalidInput"},
		{"no service", "", "", "ValidationError"},
		{"a custom suffix", slrService, "mine", "InvalidInput"},
	}
	for _, r := range refusals {
		in := &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(r.service)}
		if r.suffix != "" {
			in.CustomSuffix = aws.String(r.suffix)
		}
		if _, err := admin.iam.CreateServiceLinkedRole(ctx, in); code(err) != r.want {
			t.Errorf("%s: %v, want %s", r.what, err, r.want)
		}
	}
	denied := func(user, policy string) clients {
		t.Helper()
		_, err := admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)})
		mustDo(t, err)
		_, err = admin.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
		mustDo(t, err)
		k, err := admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
		mustDo(t, err)
		return clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
	}
	noStackSets := denied("no-stacksets-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},
		{"Effect":"Deny","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringEquals":{"iam:AWSServiceName":"`+slrService+`"}}}]}`)
	if _, err := noStackSets.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(slrService)}); code(err) != "AccessDenied" {
		t.Errorf("under a Deny on iam:AWSServiceName: %v, want AccessDenied", err)
	}
	if _, err := getRole(); code(err) != "NoSuchEntity" {
		t.Fatalf("after the refusals the role: %v, want NoSuchEntity", err)
	}

	out, err := admin.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(slrService), Description: aws.String("made by hand")})
	mustDo(t, err)
	r := out.Role
	trust, _ := url.PathUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if aws.ToString(r.RoleName) != name || aws.ToString(r.Path) != "/aws-service-role/"+slrService+"/" || aws.ToString(r.Arn) != stacksets.OrgAdminRole.ARN(s.account["data-science"]) ||
		!strings.Contains(trust, `"Service":"`+slrService+`"`) || aws.ToString(r.Description) != "made by hand" {
		t.Errorf("CreateServiceLinkedRole = %+v (trust %s)", r, trust)
	}
	pol, err := admin.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(stacksets.OrgAdminRole.PolicyName)})
	if err != nil || !strings.Contains(aws.ToString(pol.PolicyDocument), "sts") {
		t.Errorf("the role's policy: %+v, %v", pol, err)
	}
	if _, err := admin.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(slrService)}); code(err) != "InvalidInput" || !strings.Contains(err.Error(), "taken") {
		t.Errorf("making it twice: %v, want InvalidInput (taken)", err)
	}
	if _, err := admin.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); code(err) != "UnmodifiableEntity" {
		t.Errorf("DeleteRole of the service-linked role: %v, want UnmodifiableEntity", err)
	}

	// Refused deletions change nothing.
	_, err = admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ordinary"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	mustDo(t, err)
	if _, err := admin.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("ordinary")}); code(err) != "InvalidInput" {
		t.Errorf("DeleteServiceLinkedRole of an ordinary role: %v, want InvalidInput", err)
	}
	if _, err := admin.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ordinary")}); err != nil {
		t.Errorf("the ordinary role after the refusal: %v", err)
	}
	noDelete := denied("no-delete", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},
		{"Effect":"Deny","Action":"iam:DeleteServiceLinkedRole","Resource":"arn:aws:iam::*:role/aws-service-role/*"}]}`)
	if _, err := noDelete.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(name)}); code(err) != "AccessDenied" {
		t.Errorf("DeleteServiceLinkedRole under a Deny: %v, want AccessDenied", err)
	}
	staging := clientsOf(s.cfg("staging"))
	if _, err := staging.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(name)}); code(err) != "NoSuchEntity" {
		t.Errorf("another account's DeleteServiceLinkedRole: %v, want NoSuchEntity (it has no such role)", err)
	}
	if got, err := getRole(); err != nil || aws.ToString(got.RoleId) != aws.ToString(r.RoleId) {
		t.Fatalf("after the refused deletions the role: %+v, %v", got, err)
	}

	// In use by a SERVICE_MANAGED stack set: kept, the task FAILED naming the set.
	cf := cloudformation.NewFromConfig(s.cfg("data-science"))
	set, err := cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("uses-slr"), TemplateBody: aws.String(logGroupTemplate),
		PermissionModel: cfntypes.PermissionModelsServiceManaged, AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(false)}})
	mustDo(t, err)
	del, err := admin.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(name)})
	mustDo(t, err)
	task := aws.ToString(del.DeletionTaskId)
	if !strings.HasPrefix(task, "task/aws-service-role/"+slrService+"/"+name+"/") {
		t.Errorf("DeletionTaskId = %q", task)
	}
	st, err := admin.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: &task})
	mustDo(t, err)
	setARN := "arn:aws:cloudformation:us-east-1:" + s.account["data-science"] + ":stackset/" + aws.ToString(set.StackSetId)
	if st.Status != iamtypes.DeletionTaskStatusTypeFailed || st.Reason == nil || len(st.Reason.RoleUsageList) != 1 || len(st.Reason.RoleUsageList[0].Resources) != 1 ||
		st.Reason.RoleUsageList[0].Resources[0] != setARN || aws.ToString(st.Reason.RoleUsageList[0].Region) != "us-east-1" {
		t.Errorf("the deletion of a role in use: %+v %+v, want FAILED naming %s", st.Status, st.Reason, setARN)
	}
	if got, err := getRole(); err != nil || aws.ToString(got.RoleId) != aws.ToString(r.RoleId) {
		t.Fatalf("a role in use was deleted: %+v, %v", got, err)
	}

	// The set gone, the role is deleted: both tasks say SUCCEEDED, now and once a new role of
	// the name exists.
	_, err = cf.DeleteStackSet(ctx, &cloudformation.DeleteStackSetInput{StackSetName: aws.String("uses-slr")})
	mustDo(t, err)
	del2, err := admin.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(name)})
	mustDo(t, err)
	if _, err := getRole(); code(err) != "NoSuchEntity" {
		t.Errorf("after the deletion the role: %v, want NoSuchEntity", err)
	}
	if _, err := admin.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(stacksets.OrgAdminRole.PolicyName)}); code(err) != "NoSuchEntity" {
		t.Errorf("after the deletion its policy: %v", err)
	}
	_, err = admin.iam.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(slrService)})
	mustDo(t, err)
	for _, id := range []string{task, aws.ToString(del2.DeletionTaskId)} {
		st, err := admin.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String(id)})
		if err != nil || st.Status != iamtypes.DeletionTaskStatusTypeSucceeded {
			t.Errorf("task %s: %+v, %v, want SUCCEEDED", id, st, err)
		}
	}
	// Debian's aws CLI v2: delete (nothing uses the role now) and make the role again.
	env := s.cliEnv(t, t.TempDir())
	cliTask := strings.TrimSpace(run(t, env, "/usr/bin/aws", "--endpoint-url", s.url, "iam", "delete-service-linked-role", "--role-name", name, "--query", "DeletionTaskId", "--output", "text"))
	if st, err := admin.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: &cliTask}); err != nil || st.Status != iamtypes.DeletionTaskStatusTypeSucceeded {
		t.Errorf("the aws CLI's deletion task %s: %+v, %v, want SUCCEEDED", cliTask, st, err)
	}
	if got := strings.TrimSpace(run(t, env, "/usr/bin/aws", "--endpoint-url", s.url, "iam", "create-service-linked-role", "--aws-service-name", slrService, "--query", "Role.Path", "--output", "text")); got != "/aws-service-role/"+slrService+"/" {
		t.Errorf("the aws CLI's create-service-linked-role made a role at %q", got)
	}
	for _, bad := range []struct{ id, want string }{
		{"task/not-a-task", "InvalidInput"},
		{"task/aws-service-role/" + slrService + "/" + name + "/a/b", "InvalidInput"},
		{"task/aws-service-role/" + slrService + "/../x", "NoSuchEntity"},
		{"task/aws-service-role/example.amazonaws.com/AWSServiceRoleForExample/AROA1", "NoSuchEntity"},
	} {
		if _, err := admin.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String(bad.id)}); code(err) != bad.want {
			t.Errorf("GetServiceLinkedRoleDeletionStatus(%q): %v, want %s", bad.id, err, bad.want)
		}
	}
}
