package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// server is an in-process Slipway on a loopback port, with the profiles of its credentials file.
type server struct {
	app     *app.App
	url     string
	profile map[string]aws.Credentials
	account map[string]string
}

func start(t *testing.T, database string) *server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	return startConfig(t, cfg, testWriter{t})
}

// startConfig starts a server of cfg whose log (warnings and up) goes to logw.
func startConfig(t *testing.T, cfg config.Config, logw io.Writer) *server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL) // jobs reach the server (credentials, API) where it really listens
	t.Cleanup(func() { hs.Close(); a.Close() })
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	raw, err := os.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(a.CredentialsPath()); err != nil {
		t.Fatalf("the credentials file: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode = %v, want 0600", fi.Mode().Perm())
	}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles {
		s.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		s.account[name] = p.Account
	}
	for _, p := range []string{"data-science", "staging", "production"} {
		if pr := profiles[p]; pr.EndpointURL != "http://127.0.0.1:9330" || pr.Region != "us-east-1" {
			t.Errorf("profile %s: endpoint_url %q, region %q; want the --listen address and the region", p, pr.EndpointURL, pr.Region)
		}
		if s.profile[p].AccessKeyID == "" || len(s.account[p]) != 12 {
			t.Fatalf("credentials file lacks profile %s:\n%s", p, raw)
		}
	}
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (s *server) cfg(profile string) aws.Config {
	c := s.profile[profile]
	return s.cfgFor(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
}

func (s *server) cfgFor(p aws.CredentialsProvider) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: p, BaseEndpoint: aws.String(s.url), Retryer: connRetryer}
}

// connRetryer is the test clients' retry policy: one more attempt, at once, only when the
// client's own connection failed (the SDK's connection-error class, which its default retryer
// retries too). Go's transport can report "use of closed network connection" while reading a
// 200's body, against AWS itself as well (aws/aws-sdk-go-v2#1825); that is not an answer of the
// server. Every answer the server gives, an error or not, reaches the test on the first attempt.
func connRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

func TestStoryWithTheGoSDK(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := sagemaker.NewFromConfig(s.cfg("data-science"))
	st := sagemaker.NewFromConfig(s.cfg("staging"))
	prod := sagemaker.NewFromConfig(s.cfg("production"))

	if _, err := ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")}); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for i := 0; i < 3; i++ {
		out, err := ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{
			ModelPackageGroupName: aws.String("abalone"),
			InferenceSpecification: &smtypes.InferenceSpecification{
				Containers:                 []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost"), ModelDataUrl: aws.String("s3://b/m.tar.gz")}},
				SupportedContentTypes:      []string{"text/csv"},
				SupportedResponseMIMETypes: []string{"text/csv"},
			},
			ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{
				ContentType: aws.String("application/json"), S3Uri: aws.String("s3://b/evaluation.json")}}},
			CustomerMetadataProperties: map[string]string{"run": fmt.Sprint(i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, *out.ModelPackageArn)
	}
	if want := fmt.Sprintf("arn:aws:sagemaker:us-east-1:%s:model-package/abalone/3", s.account["data-science"]); arns[2] != want {
		t.Errorf("third ARN = %s, want %s", arns[2], want)
	}
	if _, err := ds.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: &arns[0],
		ModelApprovalStatus: smtypes.ModelApprovalStatusApproved, ApprovalDescription: aws.String("mse 4.1")}); err != nil {
		t.Fatal(err)
	}
	d, err := ds.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arns[0]})
	if err != nil {
		t.Fatal(err)
	}
	if d.ModelApprovalStatus != smtypes.ModelApprovalStatusApproved || *d.ApprovalDescription != "mse 4.1" ||
		d.LastModifiedBy == nil || *d.LastModifiedBy.IamIdentity.Arn != "arn:aws:iam::"+s.account["data-science"]+":user/admin" ||
		*d.InferenceSpecification.Containers[0].Image != "slipway/xgboost" || *d.ModelMetrics.ModelQuality.Statistics.S3Uri != "s3://b/evaluation.json" ||
		d.CreationTime.IsZero() {
		t.Errorf("DescribeModelPackage = %+v", d)
	}

	if _, err := st.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arns[0]}); code(err) != "AccessDeniedException" {
		t.Fatalf("staging before the group policy: %v", err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"],"Resource":"arn:aws:sagemaker:us-east-1:%s:model-package/abalone/*"}]}`,
		s.account["staging"], s.account["data-science"])
	if _, err := ds.PutModelPackageGroupPolicy(ctx, &sagemaker.PutModelPackageGroupPolicyInput{ModelPackageGroupName: aws.String("abalone"), ResourcePolicy: &policy}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arns[0]}); err != nil {
		t.Fatalf("staging after the group policy: %v", err)
	}
	if _, err := prod.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arns[0]}); code(err) != "AccessDeniedException" {
		t.Errorf("production: %v", err)
	}

	// An SCP on the production OU denies approvals there.
	orgs := organizations.NewFromConfig(s.cfg("data-science"))
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ous, err := orgs.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil {
		t.Fatal(err)
	}
	var prodOU string
	for _, ou := range ous.OrganizationalUnits {
		if *ou.Name == "production" {
			prodOU = *ou.Id
		}
	}
	pol, err := orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("no-approvals"), Description: aws.String("x"),
		Type: orgtypes.PolicyTypeServiceControlPolicy, Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:UpdateModelPackage","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pol.Policy.PolicySummary.Id, TargetId: &prodOU}); err != nil {
		t.Fatal(err)
	}
	if _, err := prod.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	pp, err := prod.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prod.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: pp.ModelPackageArn, ModelApprovalStatus: smtypes.ModelApprovalStatusApproved}); code(err) != "AccessDeniedException" {
		t.Errorf("production approves under the SCP: %v", err)
	}
	if _, err := organizations.NewFromConfig(s.cfg("staging")).ListRoots(ctx, &organizations.ListRootsInput{}); code(err) != "AccessDeniedException" {
		t.Errorf("a member account lists roots: %v", err)
	}

	// Assume a role across accounts, with and without trust.
	stsDS := sts.NewFromConfig(s.cfg("data-science"))
	role := fmt.Sprintf("arn:aws:iam::%s:role/OrganizationAccountAccessRole", s.account["staging"])
	ar, err := stsDS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &role, RoleSessionName: aws.String("deploy")})
	if err != nil {
		t.Fatal(err)
	}
	c := ar.Credentials
	temp := s.cfgFor(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))
	who, err := sts.NewFromConfig(temp).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != fmt.Sprintf("arn:aws:sts::%s:assumed-role/OrganizationAccountAccessRole/deploy", s.account["staging"]) {
		t.Fatalf("GetCallerIdentity with the session = %v, %v", who, err)
	}
	if c.Expiration.Before(time.Now().Add(50 * time.Minute)) {
		t.Errorf("session expires at %v, want about an hour", c.Expiration)
	}
	// The session acts in staging: it can create a group there.
	if _, err := sagemaker.NewFromConfig(temp).CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("from-session")}); err != nil {
		t.Errorf("session creates a group in staging: %v", err)
	}
	// A wrong session token is refused.
	bad := s.cfgFor(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, "forged"))
	if _, err := sts.NewFromConfig(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Error("a forged session token was accepted")
	}
	prodRole := fmt.Sprintf("arn:aws:iam::%s:role/OrganizationAccountAccessRole", s.account["production"])
	if _, err := sts.NewFromConfig(s.cfg("staging")).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &prodRole, RoleSessionName: aws.String("x1")}); code(err) != "AccessDenied" {
		t.Errorf("staging assumes a production role: %v", err)
	}

	// IAM: a malformed trust policy changes nothing.
	iamDS := iam.NewFromConfig(s.cfg("data-science"))
	if _, err := iamDS.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow"}]}`)}); code(err) != "MalformedPolicyDocument" {
		t.Errorf("malformed trust policy: %v", err)
	}
	if _, err := iamDS.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")}); code(err) != "NoSuchEntity" {
		t.Errorf("GetRole of a role that was refused: %v", err)
	}

	// Pagination over 250 versions.
	for i := 0; i < 250; i++ {
		if _, err := ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone")}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int32]bool{}
	pages := 0
	pg := sagemaker.NewListModelPackagesPaginator(ds, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("abalone"), MaxResults: aws.Int32(40)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range out.ModelPackageSummaryList {
			if seen[*p.ModelPackageVersion] {
				t.Fatalf("version %d listed twice", *p.ModelPackageVersion)
			}
			seen[*p.ModelPackageVersion] = true
		}
	}
	if len(seen) != 253 || pages != 7 {
		t.Errorf("listed %d versions in %d pages, want 253 in 7", len(seen), pages)
	}
	if _, err := ds.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{NextToken: aws.String("forged")}); code(err) != "ValidationException" {
		t.Errorf("forged NextToken: %v", err)
	}

	// Every call above is in the audit chain, which verifies.
	a := s.app
	n, prob, err := audit.Verify(ctx, a.Store.Audit())
	if err != nil || prob != nil || n < 270 {
		t.Errorf("audit.Verify = %d, %v, %v", n, prob, err)
	}
}

func TestPostgresBackedServer(t *testing.T) {
	ctx := context.Background()
	s := start(t, storetest.PostgresDSN(t))
	ds := sagemaker.NewFromConfig(s.cfg("data-science"))
	if _, err := ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("pg")}); err != nil {
		t.Fatal(err)
	}
	out, err := ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("pg"), ClientToken: aws.String("t1")})
	if err != nil {
		t.Fatal(err)
	}
	again, err := ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("pg"), ClientToken: aws.String("t1")})
	if err != nil || *again.ModelPackageArn != *out.ModelPackageArn {
		t.Errorf("retry with the same ClientToken = %v, %v; want %s", again, err, *out.ModelPackageArn)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s := start(t, "")
	for path, want := range map[string]string{"/healthz": `"ok"`, "/metrics": "slipway_api_requests_total"} {
		// one API call so the request counter has a sample
		sts.NewFromConfig(s.cfg("staging")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 1<<20)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("GET %s = %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}

func TestOrgFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "org.yaml")
	os.WriteFile(file, []byte("management: {name: ml, id: \"123456789012\"}\nunits:\n  - name: staging\n    accounts: [{name: stage-a}, {name: stage-b}]\n"), 0o644)
	spec, err := app.LoadOrgSpec(file)
	if err != nil || spec.Management.ID != "123456789012" || len(spec.Units[0].Accounts) != 2 {
		t.Fatalf("LoadOrgSpec = %+v, %v", spec, err)
	}
	os.WriteFile(file, []byte("management: {name: ml}\nunitz: []\n"), 0o644)
	if _, err := app.LoadOrgSpec(file); err == nil || !strings.Contains(err.Error(), "unitz") {
		t.Errorf("unknown field: err = %v, want one naming unitz", err)
	}
}

// TestEveryModelledOperationHasAHandler keeps the embedded models and the handlers in step: an
// operation in a model without a handler would answer UnknownOperation, and a handler without
// a model operation would never be routed.
func TestEveryModelledOperationHasAHandler(t *testing.T) {
	s := start(t, "")
	for _, svc := range s.app.Services() {
		if svc.Name == "sagemaker-runtime" {
			continue // endpoints come with serving
		}
		for op := range svc.Model.Operations {
			if svc.Handlers[op] == nil {
				t.Errorf("%s: %s is in the model but has no handler", svc.Name, op)
			}
		}
		for op := range svc.Handlers {
			if svc.Model.Operations[op] == nil {
				t.Errorf("%s: %s has a handler but is not in the model", svc.Name, op)
			}
		}
	}
}

// TestConnRetryerRetriesOnlyLostConnections: the test clients ask again only when their own
// connection failed mid-answer, never when the server answered (an error, a throttle, a 500).
func TestConnRetryerRetriesOnlyLostConnections(t *testing.T) {
	r := connRetryer()
	lost := &smithy.DeserializationError{Err: &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}}
	if !r.IsErrorRetryable(lost) || r.MaxAttempts() != 2 {
		t.Errorf("a lost connection: retryable %v, attempts %d; want true, 2", r.IsErrorRetryable(lost), r.MaxAttempts())
	}
	for _, answered := range []error{
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"},
		&smithy.GenericAPIError{Code: "InternalFailure", Message: "boom", Fault: smithy.FaultServer},
		&smithy.DeserializationError{Err: errors.New("invalid character '<' looking for beginning of value")},
	} {
		if r.IsErrorRetryable(answered) {
			t.Errorf("%v is retried; an answer of the server must reach the test", answered)
		}
	}
}
