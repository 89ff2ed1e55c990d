package app_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// orgUnit finds an OU under the root by name.
func orgUnit(t *testing.T, c clients, name string) (root, ou string) {
	ctx := context.Background()
	roots, err := c.org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	root = *roots.Roots[0].Id
	ous, err := c.org.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: &root})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ous.OrganizationalUnits {
		if *u.Name == name {
			return root, *u.Id
		}
	}
	t.Fatalf("no OU %s", name)
	return "", ""
}

// memberAccount creates an account and moves it from the root into ou.
func memberAccount(t *testing.T, c clients, name, root, ou string) string {
	ctx := context.Background()
	out, err := c.org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.CreateAccountStatus.AccountId
	if _, err := c.org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: &id, SourceParentId: &root, DestinationParentId: &ou}); err != nil {
		t.Fatal(err)
	}
	return id
}

// inAccount returns clients acting as OrganizationAccountAccessRole in account.
func (s *server) inAccount(t *testing.T, admin clients, account string) clients {
	out, err := admin.sts.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatalf("assume into %s: %v", account, err)
	}
	cr := out.Credentials
	return clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken)))
}

// waitOperation polls a stack set operation until it ends.
func waitOperation(t testing.TB, cf *cloudformation.Client, set, id string) *cfntypes.StackSetOperation {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := cf.DescribeStackSetOperation(context.Background(), &cloudformation.DescribeStackSetOperationInput{StackSetName: &set, OperationId: &id})
		if err != nil {
			t.Fatalf("DescribeStackSetOperation: %v", err)
		}
		if s := out.StackSetOperation.Status; s != cfntypes.StackSetOperationStatusRunning && s != cfntypes.StackSetOperationStatusQueued {
			return out.StackSetOperation
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s still %s", id, out.StackSetOperation.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func instances(t testing.TB, cf *cloudformation.Client, set string) map[string]cfntypes.StackInstanceSummary {
	t.Helper()
	out, err := cf.ListStackInstances(context.Background(), &cloudformation.ListStackInstancesInput{StackSetName: &set})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]cfntypes.StackInstanceSummary{}
	for _, i := range out.Summaries {
		m[*i.Account] = i
	}
	return m
}

// TestStackSetEndpointsAcrossTheStagingOU deploys a Model, EndpointConfig and Endpoint (and the
// role the model reads its artifact as) by a SERVICE_MANAGED stack set into both accounts of
// the staging OU, invokes each endpoint, then moves a third account in (automatic deployment
// gives it the stack) and out (it loses it), targets an empty OU, and tears everything down.
func TestStackSetEndpointsAcrossTheStagingOU(t *testing.T) { stackSetEndpoints(t, "") }

// TestStackSetEndpointsOnPostgres is TestStackSetEndpointsAcrossTheStagingOU with the store on PostgreSQL.
func TestStackSetEndpointsOnPostgres(t *testing.T) { stackSetEndpoints(t, storetest.PostgresDSN(t)) }

func stackSetEndpoints(t *testing.T, database string) {
	ctx := context.Background()
	s := start(t, database)
	admin := clientsOf(s.cfg("data-science"))
	cf := cfnOf(admin.sm)
	root, staging, second := endpointSet(t, admin)
	accounts := []string{s.account["staging"], second}

	began := time.Now()
	op, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("abalone-endpoint"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{staging}}, Regions: []string{"us-east-1"},
		OperationPreferences: &cfntypes.StackSetOperationPreferences{MaxConcurrentPercentage: aws.Int32(100), FailureToleranceCount: aws.Int32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	member := map[string]clients{}
	for _, a := range accounts {
		member[a] = s.inAccount(t, admin, a)
	}
	inService := map[string]time.Duration{}
	for len(inService) < len(accounts) {
		for _, a := range accounts {
			if _, ok := inService[a]; ok {
				continue
			}
			ep, err := member[a].sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("abalone-staging")})
			if err == nil && ep.EndpointStatus == "InService" {
				inService[a] = time.Since(began)
			}
		}
		if time.Since(began) > 60*time.Second {
			t.Fatalf("endpoints InService after 60 s: %v", inService)
		}
		time.Sleep(2 * time.Millisecond)
	}
	allIn := time.Since(began)
	done := waitOperation(t, cf, "abalone-endpoint", *op.OperationId)
	t.Logf("stack set of Model+EndpointConfig+Endpoint (+ role) to %d accounts: operation start → all InService %v (per account %v); operation SUCCEEDED after %v",
		len(accounts), allIn, inService, time.Since(began))
	if done.Status != cfntypes.StackSetOperationStatusSucceeded {
		t.Fatalf("operation %s: %s", done.Status, aws.ToString(done.StatusReason))
	}
	for _, a := range accounts {
		inv, err := member[a].rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("abalone-staging"),
			ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
		if err != nil || (strings.TrimSpace(string(inv.Body)) != "6" && strings.TrimSpace(string(inv.Body)) != "6.0") {
			t.Errorf("InvokeEndpoint in %s = %v, %v; want 6", a, inv, err)
		}
	}
	got := instances(t, cf, "abalone-endpoint")
	for _, a := range accounts {
		i, ok := got[a]
		if !ok || i.Status != cfntypes.StackInstanceStatusCurrent || aws.ToString(i.OrganizationalUnitId) != staging || i.StackId == nil {
			t.Errorf("instance in %s: %+v", a, i)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d instances, want 2", len(got))
	}
	res, err := cf.ListStackSetOperationResults(ctx, &cloudformation.ListStackSetOperationResultsInput{StackSetName: aws.String("abalone-endpoint"), OperationId: op.OperationId})
	if err != nil || len(res.Summaries) != 2 || res.Summaries[0].Status != cfntypes.StackSetOperationResultStatusSucceeded {
		t.Errorf("ListStackSetOperationResults = %+v, %v", res, err)
	}
	di, err := cf.DescribeStackInstance(ctx, &cloudformation.DescribeStackInstanceInput{StackSetName: aws.String("abalone-endpoint"),
		StackInstanceAccount: &second, StackInstanceRegion: aws.String("us-east-1")})
	if err != nil || di.StackInstance.StackInstanceStatus.DetailedStatus != cfntypes.StackInstanceDetailedStatusSucceeded {
		t.Errorf("DescribeStackInstance = %+v, %v", di, err)
	}
	// The stack is a stack of the target account, made by the role it trusts.
	stk, err := cfnOf(member[second].sm).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: di.StackInstance.StackId})
	if err != nil || stk.Stacks[0].StackStatus != cfntypes.StackStatusCreateComplete {
		t.Errorf("the instance's stack in %s: %v", second, err)
	}

	// Automatic deployment: an account moved into the OU gets the stack; moved out, loses it.
	// The organization's MoveAccount event wakes the set: its poll (once a minute) is only a
	// safety net, so the stack must come well before it.
	moved := time.Now()
	third := memberAccount(t, admin, "staging-c", root, staging)
	waitFor(t, "the third account's instance", func() bool {
		i, ok := instances(t, cf, "abalone-endpoint")[third]
		return ok && i.Status == cfntypes.StackInstanceStatusCurrent
	})
	if d := time.Since(moved); d > 10*time.Second {
		t.Errorf("the moved account got its stack %v after the move; want it promptly (the event, not the minute's poll)", d)
	} else {
		t.Logf("an account moved into the OU got its stack instance in %v", d)
	}
	thirdC := s.inAccount(t, admin, third)
	if _, err := thirdC.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("abalone-staging"),
		ContentType: aws.String("text/csv"), Body: []byte("1,2\n")}); err != nil {
		t.Errorf("the auto-deployed endpoint: %v", err)
	}
	if _, err := admin.org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: &third, SourceParentId: &staging, DestinationParentId: &root}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the moved-out account's instance to go", func() bool {
		_, ok := instances(t, cf, "abalone-endpoint")[third]
		return !ok
	})
	if _, err := thirdC.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("abalone-staging")}); err == nil {
		t.Error("the endpoint of an account moved out of the OU outlived its instance")
	}

	// An OU with no accounts: the operation succeeds with zero instances and says so.
	empty, err := admin.org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: &root, Name: aws.String("empty")})
	if err != nil {
		t.Fatal(err)
	}
	op2, err := cf.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("abalone-endpoint"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{*empty.OrganizationalUnit.Id}}, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitOperation(t, cf, "abalone-endpoint", *op2.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded || !strings.Contains(aws.ToString(d.StatusReason), "no stack instances") {
		t.Errorf("empty OU: %s %q", d.Status, aws.ToString(d.StatusReason))
	}

	// Teardown: the set cannot go while it has instances; deleting them deletes the stacks.
	if _, err := cf.DeleteStackSet(ctx, &cloudformation.DeleteStackSetInput{StackSetName: aws.String("abalone-endpoint")}); code(err) != "StackSetNotEmptyException" {
		t.Errorf("DeleteStackSet with instances: %v", err)
	}
	op3, err := cf.DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: aws.String("abalone-endpoint"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{staging}}, Regions: []string{"us-east-1"}, RetainStacks: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitOperation(t, cf, "abalone-endpoint", *op3.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded {
		t.Fatalf("delete: %s %s", d.Status, aws.ToString(d.StatusReason))
	}
	for _, a := range accounts {
		if _, err := member[a].sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("abalone-staging")}); err == nil {
			t.Errorf("the endpoint in %s outlived its instance", a)
		}
	}
	if _, err := cf.DeleteStackSet(ctx, &cloudformation.DeleteStackSetInput{StackSetName: aws.String("abalone-endpoint")}); err != nil {
		t.Errorf("DeleteStackSet: %v", err)
	}
	ops, err := cf.ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: aws.String("abalone-endpoint:" + strings.Split(*di.StackInstance.StackSetId, ":")[1])})
	if err != nil || len(ops.Summaries) != 5 {
		t.Errorf("ListStackSetOperations = %d operations, %v; want 5 (create, auto add, auto remove, empty OU, delete)", len(ops.Summaries), err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endpointSet puts a linear model in a bucket of the data-science account that the whole
// organization may read, adds a second account to the staging OU, and creates the SERVICE_MANAGED
// stack set abalone-endpoint of testdata/stackset-endpoint.yml (no instances yet).
func endpointSet(t *testing.T, admin clients) (root, staging, second string) {
	ctx := context.Background()
	cf := cfnOf(admin.sm)
	o, err := admin.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stackset-models")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("stackset-models"), Key: aws.String("linear/model.tar.gz"),
		Body: strings.NewReader(string(linearModelTarGz(t)))}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("stackset-models"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::stackset-models/*",` +
			`"Condition":{"StringEquals":{"aws:PrincipalOrgID":"` + *o.Organization.Id + `"}}}]}`)}); err != nil {
		t.Fatal(err)
	}
	root, staging = orgUnit(t, admin, "staging")
	second = memberAccount(t, admin, "staging-b", root, staging)
	body, err := os.ReadFile("testdata/stackset-endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cf.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String("abalone-endpoint"),
		TemplateBody: aws.String(string(body)), PermissionModel: cfntypes.PermissionModelsServiceManaged,
		AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(false)},
		Capabilities:   []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("ModelDataUrl"), ParameterValue: aws.String("s3://stackset-models/linear/model.tar.gz")},
			{ParameterKey: aws.String("ModelBucketArn"), ParameterValue: aws.String("arn:aws:s3:::stackset-models")},
			{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("staging")}}}); err != nil {
		t.Fatal(err)
	}
	return root, staging, second
}
