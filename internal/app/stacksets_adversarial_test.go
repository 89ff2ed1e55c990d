package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestStackSetBadInput: every bad request gets CloudFormation's error and changes nothing;
// another account sees nothing; an explicit Deny wins; a member account cannot make a
// SERVICE_MANAGED set.
func TestStackSetBadInput(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	e := &authzEnv{t: t, admin: admin, account: s.account["data-science"]}
	e.org = map[string]string{}
	root, staging := orgUnit(t, admin, "staging")
	e.org["RootId"] = root
	if _, err := cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("good"), TemplateBody: aws.String(logGroupTemplate),
		PermissionModel: cfntypes.PermissionModelsServiceManaged, AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	sm := cfntypes.PermissionModelsServiceManaged
	auto := &cfntypes.AutoDeployment{Enabled: aws.Bool(true)}
	for _, tc := range []struct {
		name       string
		in         cloudformation.CreateStackSetInput
		code, want string
	}{
		{"bad name", cloudformation.CreateStackSetInput{StackSetName: aws.String("1bad"), TemplateBody: aws.String(logGroupTemplate), PermissionModel: sm, AutoDeployment: auto},
			"ValidationError", "stackSetName"},
		{"taken name", cloudformation.CreateStackSetInput{StackSetName: aws.String("good"), TemplateBody: aws.String(logGroupTemplate), PermissionModel: sm, AutoDeployment: auto},
			"NameAlreadyExistsException", "StackSet good already exists"},
		{"no auto deployment", cloudformation.CreateStackSetInput{StackSetName: aws.String("x"), TemplateBody: aws.String(logGroupTemplate), PermissionModel: sm},
			"ValidationError", "AutoDeployment must be given"},
		{"unknown type", cloudformation.CreateStackSetInput{StackSetName: aws.String("x"), TemplateBody: aws.String(`{"Resources":{"V":{"Type":"AWS::EC2::Instance"}}}`), PermissionModel: sm, AutoDeployment: auto},
			"ValidationError", "Unrecognized resource types: [AWS::EC2::Instance]"},
		{"template URL", cloudformation.CreateStackSetInput{StackSetName: aws.String("x"), TemplateURL: aws.String("https://x/t.yml"), PermissionModel: sm, AutoDeployment: auto},
			"ValidationError", "does not name this server's S3"},
		{"self-managed without a role", cloudformation.CreateStackSetInput{StackSetName: aws.String("x"), TemplateBody: aws.String(logGroupTemplate)},
			"ValidationError", "AdministrationRoleARN is required"},
		{"delegated admin", cloudformation.CreateStackSetInput{StackSetName: aws.String("x"), TemplateBody: aws.String(logGroupTemplate), PermissionModel: sm, AutoDeployment: auto,
			CallAs: cfntypes.CallAsDelegatedAdmin}, "ValidationError", "CallAs DELEGATED_ADMIN is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := cf.CreateStackSet(ctx, &in)
			if code(err) != tc.code || !strings.Contains(errMessage(err), tc.want) {
				t.Errorf("err = %v, want %s containing %q", err, tc.code, tc.want)
			}
		})
	}
	us := []string{"us-east-1"}
	ous := func(ids ...string) *cfntypes.DeploymentTargets {
		return &cfntypes.DeploymentTargets{OrganizationalUnitIds: ids}
	}
	for _, tc := range []struct {
		name       string
		in         cloudformation.CreateStackInstancesInput
		code, want string
	}{
		{"another region", cloudformation.CreateStackInstancesInput{DeploymentTargets: ous(staging), Regions: []string{"eu-west-1"}}, "ValidationError", "Region eu-west-1 is not served here"},
		{"bad OU id", cloudformation.CreateStackInstancesInput{DeploymentTargets: ous("nope"), Regions: us}, "ValidationError", "Member must satisfy regular expression pattern"},
		{"no such OU", cloudformation.CreateStackInstancesInput{DeploymentTargets: ous("ou-abcd-12345678"), Regions: us}, "ValidationError", "does not exist in the organization"},
		{"no targets", cloudformation.CreateStackInstancesInput{Regions: us}, "ValidationError", "OrganizationalUnitIds is required"},
		{"bad filter", cloudformation.CreateStackInstancesInput{DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{staging}, AccountFilterType: "SOME"}, Regions: us},
			"ValidationError", "Member must satisfy enum value set: [NONE, INTERSECTION, DIFFERENCE, UNION]"},
		{"filter without accounts", cloudformation.CreateStackInstancesInput{DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{staging}, AccountFilterType: cfntypes.AccountFilterTypeIntersection}, Regions: us},
			"ValidationError", "needs Accounts"},
		{"both concurrency forms", cloudformation.CreateStackInstancesInput{DeploymentTargets: ous(staging), Regions: us,
			OperationPreferences: &cfntypes.StackSetOperationPreferences{MaxConcurrentCount: aws.Int32(1), MaxConcurrentPercentage: aws.Int32(50)}}, "ValidationError", "not both"},
		{"tolerance over 100%", cloudformation.CreateStackInstancesInput{DeploymentTargets: ous(staging), Regions: us,
			OperationPreferences: &cfntypes.StackSetOperationPreferences{FailureTolerancePercentage: aws.Int32(101)}}, "ValidationError", "Member must have value less than or equal to 100"},
		{"bad region concurrency", cloudformation.CreateStackInstancesInput{DeploymentTargets: ous(staging), Regions: us,
			OperationPreferences: &cfntypes.StackSetOperationPreferences{RegionConcurrencyType: "SOMETIMES"}}, "ValidationError", "Member must satisfy enum value set: [SEQUENTIAL, PARALLEL]"},
		{"no such set", cloudformation.CreateStackInstancesInput{StackSetName: aws.String("missing"), DeploymentTargets: ous(staging), Regions: us}, "StackSetNotFoundException", "StackSet missing not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in.StackSetName == nil {
				in.StackSetName = aws.String("good")
			}
			_, err := cf.CreateStackInstances(ctx, &in)
			if code(err) != tc.code || !strings.Contains(errMessage(err), tc.want) {
				t.Errorf("err = %v, want %s containing %q", err, tc.code, tc.want)
			}
		})
	}
	// Nothing changed: one set, no operation.
	sets, err := cf.ListStackSets(ctx, &cloudformation.ListStackSetsInput{})
	if err != nil || len(sets.Summaries) != 1 {
		t.Errorf("ListStackSets after refusals = %+v, %v", sets, err)
	}
	if ops, err := cf.ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: aws.String("good")}); err != nil || len(ops.Summaries) != 0 {
		t.Errorf("operations after refusals = %+v, %v", ops, err)
	}

	// A member account cannot make a SERVICE_MANAGED set, and sees nothing of the management account's.
	member := cfnOf(clientsOf(s.cfg("staging")).sm)
	_, err = member.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("mine"), TemplateBody: aws.String(logGroupTemplate),
		PermissionModel: sm, AutoDeployment: auto})
	if code(err) != "ValidationError" || !strings.Contains(errMessage(err), "Only the organization's management account") {
		t.Errorf("a member account creates a SERVICE_MANAGED set: %v", err)
	}
	if _, err := member.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String("good")}); code(err) != "StackSetNotFoundException" {
		t.Errorf("another account describes the set: %v", err)
	}
	if _, err := member.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("good"), DeploymentTargets: ous(staging), Regions: us}); code(err) != "StackSetNotFoundException" {
		t.Errorf("another account deploys the set: %v", err)
	}
	if l, err := member.ListStackSets(ctx, &cloudformation.ListStackSetsInput{}); err != nil || len(l.Summaries) != 0 {
		t.Errorf("another account lists %+v, %v", l, err)
	}

	// An explicit Deny wins over Allow *, and the refused call starts nothing.
	_, err = admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("actor")})
	e.must(err)
	key, err := admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("actor")})
	e.must(err)
	e.actor = clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")))
	e.policy(allowEverything, `{"Effect":"Deny","Action":"cloudformation:CreateStackInstances","Resource":"arn:aws:cloudformation:us-east-1:`+e.account+`:stackset/good:*"}`)
	if _, err := cfnOf(e.actor.sm).CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("good"), DeploymentTargets: ous(staging), Regions: us}); code(err) != "AccessDenied" {
		t.Errorf("denied CreateStackInstances: %v", err)
	}
	ops, err := cf.ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: aws.String("good")})
	if err != nil {
		t.Fatalf("ListStackSetOperations good: %v", err)
	}
	if len(ops.Summaries) != 0 {
		t.Errorf("a denied call started %d operations", len(ops.Summaries))
	}

	// One operation at a time, and a set with an operation or instances is not deleted.
	if _, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("good"), DeploymentTargets: ous(staging), Regions: us}); err != nil {
		t.Fatal(err)
	}
	_, err = cf.DeleteStackSet(ctx, &cloudformation.DeleteStackSetInput{StackSetName: aws.String("good")})
	if c := code(err); c != "OperationInProgressException" && c != "StackSetNotEmptyException" {
		t.Errorf("DeleteStackSet during an operation: %v", err)
	}
}

// TestStackSetFailureTolerance: a SELF_MANAGED set (its administration role assumes an
// execution role in each target account) whose stack fails in one account: that stack rolls
// back, and the operation follows its failure tolerance.
func TestStackSetFailureTolerance(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	ds, stg, prod := s.account["data-science"], s.account["staging"], s.account["production"]
	_, err := admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("StackSetAdmin"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("StackSetAdmin"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/StackSetExec"}]}`)}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{stg, prod} {
		c := s.inAccount(t, admin, a)
		if _, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("StackSetExec"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ds + `:role/StackSetAdmin"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("StackSetExec"), PolicyName: aws.String("logs"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*","cloudformation:*"],"Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// In production the log group the template names exists already: its stack fails there.
	prodC := s.inAccount(t, admin, prod)
	prodLogs := cloudwatchlogs.NewFromConfig(s.cfgFor(prodC.sm.Options().Credentials))
	if _, err := prodLogs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/stackset/taken")}); err != nil {
		t.Fatal(err)
	}
	tpl := `{"Resources": {"Free": {"Type": "AWS::Logs::LogGroup"}, "Taken": {"Type": "AWS::Logs::LogGroup", "DependsOn": "Free", "Properties": {"LogGroupName": "/stackset/taken"}}}}`
	if _, err := cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("logs"), TemplateBody: aws.String(tpl),
		AdministrationRoleARN: aws.String("arn:aws:iam::" + ds + ":role/StackSetAdmin"), ExecutionRoleName: aws.String("StackSetExec")}); err != nil {
		t.Fatal(err)
	}
	// Tolerance 0, one at a time, production first: it fails and staging is cancelled.
	op, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("logs"), Accounts: []string{prod, stg},
		Regions: []string{"us-east-1"}, OperationPreferences: &cfntypes.StackSetOperationPreferences{MaxConcurrentCount: aws.Int32(1), FailureToleranceCount: aws.Int32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	d := waitOperation(t, cf, "logs", *op.OperationId)
	res, err := cf.ListStackSetOperationResults(ctx, &cloudformation.ListStackSetOperationResultsInput{StackSetName: aws.String("logs"), OperationId: op.OperationId})
	if err != nil {
		t.Fatalf("ListStackSetOperationResults logs %s: %v", *op.OperationId, err)
	}
	got := map[string]cfntypes.StackSetOperationResultStatus{}
	for _, r := range res.Summaries {
		got[*r.Account] = r.Status
		t.Logf("%s: %s %s", *r.Account, r.Status, aws.ToString(r.StatusReason))
	}
	if d.Status != cfntypes.StackSetOperationStatusFailed || got[prod] != "FAILED" || got[stg] != "CANCELLED" || d.StatusDetails.FailedStackInstancesCount == nil || *d.StatusDetails.FailedStackInstancesCount != 1 {
		t.Errorf("tolerance 0: operation %s, results %v", d.Status, got)
	}
	inst, err := cf.DescribeStackInstance(ctx, &cloudformation.DescribeStackInstanceInput{StackSetName: aws.String("logs"), StackInstanceAccount: &prod, StackInstanceRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cfnOf(prodC.sm).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: inst.StackInstance.StackId})
	if err != nil || st.Stacks[0].StackStatus != cfntypes.StackStatusRollbackComplete {
		t.Errorf("production's stack: %+v, %v; want ROLLBACK_COMPLETE", st, err)
	}
	groups, err := prodLogs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatalf("DescribeLogGroups in production: %v", err)
	}
	if len(groups.LogGroups) != 1 {
		t.Errorf("production has %d log groups after the rollback, want only /stackset/taken", len(groups.LogGroups))
	}
	// Tolerance 1: staging is deployed although production fails again.
	if _, err := cf.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("logs"), Accounts: []string{prod},
		Regions: []string{"us-east-1"}, RetainStacks: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "production's instance to go", func() bool { _, ok := instances(t, cf, "logs")[prod]; return !ok })
	op, err = cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("logs"), Accounts: []string{prod, stg},
		Regions: []string{"us-east-1"}, OperationPreferences: &cfntypes.StackSetOperationPreferences{MaxConcurrentCount: aws.Int32(2), FailureToleranceCount: aws.Int32(1)}})
	if err != nil {
		t.Fatal(err)
	}
	d = waitOperation(t, cf, "logs", *op.OperationId)
	all := instances(t, cf, "logs")
	if d.Status != cfntypes.StackSetOperationStatusSucceeded || all[stg].Status != cfntypes.StackInstanceStatusCurrent || all[prod].Status == cfntypes.StackInstanceStatusCurrent {
		t.Errorf("tolerance 1: operation %s (%s), instances %+v", d.Status, aws.ToString(d.StatusReason), all)
	}
	retryRollbackComplete(t, cf, prodC, prodLogs, prod, all[prod].StackId)
}

// retryRollbackComplete continues TestStackSetFailureTolerance: production's instance holds a
// ROLLBACK_COMPLETE stack, which cannot be updated. An operation that reaches it replaces the
// stack (deletes it, creates it again); while the cause stays the new stack fails too and the
// operation ends, with no loop. A Deny on the execution role's DeleteStack wins: the operation
// fails and the stack stays as it was. The cause and the Deny removed, the next operation
// deploys.
func retryRollbackComplete(t *testing.T, cf *cloudformation.Client, prodC clients, prodLogs *cloudwatchlogs.Client, prod string, failed *string) {
	ctx := context.Background()
	prodCF := cfnOf(prodC.sm)
	status := func(id *string) cfntypes.StackStatus {
		t.Helper()
		out, err := prodCF.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: id})
		if err != nil || len(out.Stacks) != 1 {
			t.Fatalf("DescribeStacks %s: %+v, %v", aws.ToString(id), out, err)
		}
		return out.Stacks[0].StackStatus
	}
	update := func() (*cfntypes.StackSetOperation, cfntypes.StackInstanceSummary) {
		t.Helper()
		op, err := cf.UpdateStackInstances(ctx, &cloudformation.UpdateStackInstancesInput{StackSetName: aws.String("logs"), Accounts: []string{prod},
			Regions: []string{"us-east-1"}, OperationPreferences: &cfntypes.StackSetOperationPreferences{FailureToleranceCount: aws.Int32(0)}})
		mustDo(t, err)
		return waitOperation(t, cf, "logs", *op.OperationId), instances(t, cf, "logs")[prod]
	}
	if got := status(failed); got != cfntypes.StackStatusRollbackComplete {
		t.Fatalf("production's stack is %s, want ROLLBACK_COMPLETE", got)
	}

	// The cause stays: the stack is replaced, the replacement rolls back, the operation fails.
	d, inst := update()
	if d.Status != cfntypes.StackSetOperationStatusFailed || inst.Status == cfntypes.StackInstanceStatusCurrent {
		t.Errorf("with the cause in place: operation %s, instance %+v; want FAILED and not CURRENT", d.Status, inst)
	}
	if aws.ToString(inst.StackId) == aws.ToString(failed) || status(failed) != cfntypes.StackStatusDeleteComplete {
		t.Errorf("the ROLLBACK_COMPLETE stack %s was not replaced: instance's stack %s, old stack %s", aws.ToString(failed), aws.ToString(inst.StackId), status(failed))
	}
	second := inst.StackId
	if got := status(second); got != cfntypes.StackStatusRollbackComplete {
		t.Errorf("the replacement is %s, want ROLLBACK_COMPLETE (its log group is still taken)", got)
	}

	// A Deny on DeleteStack in the execution role wins: nothing is replaced.
	_, err := prodC.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("StackSetExec"), PolicyName: aws.String("no-delete"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cloudformation:DeleteStack","Resource":"*"}]}`)})
	mustDo(t, err)
	d, inst = update()
	if d.Status != cfntypes.StackSetOperationStatusFailed || aws.ToString(inst.StackId) != aws.ToString(second) || status(second) != cfntypes.StackStatusRollbackComplete {
		t.Errorf("with DeleteStack denied: operation %s, instance's stack %s (%s); want FAILED and %s untouched", d.Status, aws.ToString(inst.StackId), status(second), aws.ToString(second))
	}
	if r := aws.ToString(inst.StatusReason); !strings.Contains(r, "not authorized") && !strings.Contains(r, "AccessDenied") {
		t.Errorf("with DeleteStack denied the instance's reason is %q; want the refusal", r)
	}

	// The Deny and the cause removed, the next operation deploys a new stack.
	_, err = prodC.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("StackSetExec"), PolicyName: aws.String("no-delete")})
	mustDo(t, err)
	_, err = prodLogs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/stackset/taken")})
	mustDo(t, err)
	d, inst = update()
	if d.Status != cfntypes.StackSetOperationStatusSucceeded || inst.Status != cfntypes.StackInstanceStatusCurrent || aws.ToString(inst.StackId) == aws.ToString(second) {
		t.Fatalf("after the fix: operation %s (%s), instance %+v; want SUCCEEDED, CURRENT, a new stack", d.Status, aws.ToString(d.StatusReason), inst)
	}
	if got := status(inst.StackId); got != cfntypes.StackStatusCreateComplete {
		t.Errorf("the deployed stack is %s, want CREATE_COMPLETE", got)
	}
	groups, err := prodLogs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/stackset/taken")})
	mustDo(t, err)
	if len(groups.LogGroups) != 1 {
		t.Errorf("production has %d /stackset/taken groups, want the stack's one", len(groups.LogGroups))
	}
}
