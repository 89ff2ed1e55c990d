package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/identity"
)

// answer is what a caller learns from an error: code, HTTP status and message.
func answer(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Sprintf("not an API error: %v", err)
	}
	status := 0
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return fmt.Sprintf("%s %d %s", ae.ErrorCode(), status, ae.ErrorMessage())
}

func sessionCfg(s *server, c *ststypes.Credentials) aws.Config {
	return s.cfgFor(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))
}

// Hole 1 through the Go SDK: a role with AdministratorAccess and an inline Deny of 7,600
// characters (within the role's inline quota, over a managed policy's) cannot create a group.
func TestSDKLargeRoleInlineDenyHolds(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct := s.account["data-science"]
	ic := iam.NewFromConfig(s.cfg("data-science"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("big"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	acts := []string{`"sagemaker:CreateModelPackageGroup"`}
	for i := 0; i < 300; i++ {
		acts = append(acts, fmt.Sprintf(`"sagemaker:PaddingAction%04d"`, i))
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":[` + strings.Join(acts, ",") + `],"Resource":"*"}]}`
	if len(deny) < 7500 || len(deny) > 10000 {
		t.Fatalf("the Deny is %d characters, want about 7,600", len(deny))
	}
	for name, doc := range map[string]string{"admin": admin, "deny": deny} {
		if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("big"), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatalf("PutRolePolicy %s: %v", name, err)
		}
	}
	out, err := sts.NewFromConfig(s.cfg("data-science")).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + acct + ":role/big"), RoleSessionName: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	sm := sagemaker.NewFromConfig(sessionCfg(s, out.Credentials))
	_, err = sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("g")})
	if code(err) != "AccessDeniedException" || !strings.Contains(answer(err), "explicit deny") {
		t.Errorf("CreateModelPackageGroup under a 7,600-character Deny: %s", answer(err))
	}
	if _, err := sm.ListModelPackageGroups(ctx, &sagemaker.ListModelPackageGroupsInput{}); err != nil {
		t.Errorf("what the Deny does not name: %v", err)
	}
}

// Hole 5 through the Go SDK: from staging, a missing role and an existing role of data-science
// that does not trust staging give the same answer, whatever the duration or policy ARNs.
func TestSDKAssumeRoleIsNoExistenceOracle(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := s.account["data-science"]
	ic := iam.NewFromConfig(s.cfg("data-science"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ds + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("private"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("exists"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	staging := sts.NewFromConfig(s.cfg("staging"))
	probe := func(role string, in sts.AssumeRoleInput) string {
		in.RoleArn = aws.String("arn:aws:iam::" + ds + ":role/" + role)
		in.RoleSessionName = aws.String("probe")
		_, err := staging.AssumeRole(ctx, &in)
		return strings.ReplaceAll(answer(err), role, "ROLE")
	}
	want := probe("missing", sts.AssumeRoleInput{})
	if !strings.HasPrefix(want, "AccessDenied 403 ") {
		t.Fatalf("missing role: %s", want)
	}
	for name, in := range map[string]sts.AssumeRoleInput{
		"plain":                   {},
		"over MaxSessionDuration": {DurationSeconds: aws.Int32(43200)},
		"a missing policy ARN":    {PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::" + ds + ":policy/none")}}},
		"an existing policy ARN":  {PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::" + ds + ":policy/exists")}}},
	} {
		for _, role := range []string{"private", "missing"} {
			if got := probe(role, in); got != want {
				t.Errorf("%s, role %s: %q, want %q", name, role, got, want)
			}
		}
	}
	own := sts.NewFromConfig(s.cfg("data-science"))
	for d, ok := range map[int32]bool{899: false, 900: true} {
		_, err := own.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + ds + ":role/private"),
			RoleSessionName: aws.String("duration"), DurationSeconds: aws.Int32(d)})
		if (err == nil) != ok || (!ok && code(err) != "ValidationError") {
			t.Errorf("DurationSeconds %d: %s, want accepted = %v", d, answer(err), ok)
		}
	}
}

// Hole 6 through the Go SDK: a Deny on user/protected/* stops CreateAccessKey and
// PutUserPolicy on a user created with Path /protected/.
func TestSDKIAMDecidesOnThePath(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	acct := s.account["data-science"]
	ic := iam.NewFromConfig(s.cfg("data-science"))
	for _, u := range []struct{ name, path string }{{"bob", "/protected/"}, {"carol", "/"}, {"op", "/"}} {
		if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u.name), Path: aws.String(u.path)}); err != nil {
			t.Fatal(err)
		}
	}
	guard := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"iam:*","Resource":"arn:aws:iam::` + acct + `:user/protected/*"}]}`
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("op"), PolicyName: aws.String("guard"), PolicyDocument: aws.String(guard)}); err != nil {
		t.Fatal(err)
	}
	k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("op")})
	if err != nil {
		t.Fatal(err)
	}
	op := iam.NewFromConfig(s.cfgFor(credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
	_, err = op.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if code(err) != "AccessDenied" || !strings.Contains(answer(err), "user/protected/bob") {
		t.Errorf("CreateAccessKey for /protected/bob: %s", answer(err))
	}
	_, err = op.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(guard)})
	if code(err) != "AccessDenied" {
		t.Errorf("PutUserPolicy on /protected/bob: %s", answer(err))
	}
	if _, err := op.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")}); err != nil {
		t.Errorf("CreateAccessKey for /carol: %v", err)
	}
}

// An engine acting as a role session is decided like an API call and recorded in the audit
// trail with the engine as its user agent (CloudTrail's invokedBy).
func TestEngineSessionIsAudited(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	const engine = "pipelines.slipway.internal"
	ic := iam.NewFromConfig(s.cfg("data-science"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + engine + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("runner"), Path: aws.String("/engines/"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("runner"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	roleARN := "arn:aws:iam::" + s.account["data-science"] + ":role/engines/runner"
	c, err := s.app.Identity.EngineSession(ctx, roleARN, engine)
	if err != nil {
		t.Fatal(err)
	}
	call := identity.Call{Caller: c}
	if _, err := s.app.Identity.DescribePrincipal(ctx, call, identity.KindRole, "runner"); err != nil {
		t.Errorf("GetRole as the engine: %v", err)
	}
	if _, err := s.app.Identity.CreateUser(ctx, call, "x", "/", nil); err == nil {
		t.Error("CreateUser as the engine was allowed; the role does not allow it")
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
		if rec.UserAgent == engine {
			seen = append(seen, rec.Operation+" "+rec.Decision+" "+rec.PrincipalARN)
		}
	}
	sessionARN := "arn:aws:sts::" + s.account["data-science"] + ":assumed-role/runner/" + engine
	want := []string{"AssumeRole allow " + engine, "GetRole allow " + sessionARN, "CreateUser deny " + sessionARN}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("engine audit records:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
