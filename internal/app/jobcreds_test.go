package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/jobcreds"
)

// jobServer is a Slipway serving on loopback with job credentials, and a role for jobs.
type jobServer struct {
	*server
	role    string // trusts sagemaker.amazonaws.com; may list model package groups
	lambda  string // trusts lambda.amazonaws.com only
	session string // the ARN of the role's job session
}

func startJobs(t *testing.T, ttl time.Duration) *jobServer {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.JobCredentialsTTL = ttl
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.Listener.Addr().String())
	t.Cleanup(func() { hs.Close(); a.Close() })
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles {
		s.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		s.account[name] = p.Account
	}
	acct := s.account["data-science"]
	ic := iam.NewFromConfig(s.cfg("data-science"))
	for name, svc := range map[string]string{"job": "sagemaker.amazonaws.com", "lambda": "lambda.amazonaws.com"} {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
		if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("list"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:ListModelPackageGroups","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return &jobServer{server: s, role: "arn:aws:iam::" + acct + ":role/job", lambda: "arn:aws:iam::" + acct + ":role/lambda",
		session: "arn:aws:sts::" + acct + ":assumed-role/job/SageMaker"}
}

func (s *jobServer) issue(t *testing.T, role string, d time.Duration) string {
	t.Helper()
	tok, err := s.app.JobCreds.Issue(context.Background(), jobcreds.Grant{
		Account: s.account["data-science"], RoleARN: role, SessionName: "SageMaker",
		Source: "arn:aws:sagemaker:us-east-1:" + s.account["data-science"] + ":training-job/t1", Expires: time.Now().Add(d),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var proxyVars = []string{"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "AWS_CA_BUNDLE"}

// jobEnv is a job's whole environment: what Env gives, a private HOME, no AWS files; without
// the proxy's variables unless withProxy.
func jobEnv(t *testing.T, env map[string]string, withProxy bool) []string {
	out := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	for k, v := range env {
		if !withProxy && contains(proxyVars, k) {
			continue
		}
		out = append(out, k+"="+v)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runJob(t *testing.T, python string, env []string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(python, append([]string{"testdata/job_credentials.py"}, args...)...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s%s", python, args, err, out, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s printed %q: %v", python, out, err)
	}
	return got
}

// Code inside a job calls AWS as the job's role with nothing but the environment Slipway
// gives it: boto3 1.43 through AWS_ENDPOINT_URL, Debian's boto3 1.26 (which ignores
// AWS_ENDPOINT_URL) through the loopback proxy, and the Go SDK's container credentials provider.
func TestJobCredentialsWithRealSDKs(t *testing.T) {
	ctx := context.Background()
	s := startJobs(t, 0)
	tok := s.issue(t, s.role, time.Hour)
	env := s.app.JobCreds.Env(tok)
	if !strings.HasPrefix(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], "http://127.0.0.1:") || !strings.HasPrefix(env["HTTPS_PROXY"], "http://127.0.0.1:") {
		t.Fatalf("Env = %v", env)
	}

	t.Run("boto3 1.43 with AWS_ENDPOINT_URL", func(t *testing.T) {
		got := runJob(t, "python3", jobEnv(t, env, false), "identity")
		want := map[string]any{"boto3": got["boto3"], "arn": s.session, "sts_endpoint": env["AWS_ENDPOINT_URL"],
			"sagemaker_endpoint": env["AWS_ENDPOINT_URL"], "list": "ok", "create": "AccessDeniedException"}
		if fmt.Sprint(got) != fmt.Sprint(want) || !strings.HasPrefix(got["boto3"].(string), "1.43") {
			t.Errorf("got %v\nwant %v", got, want)
		}
	})

	t.Run("Debian boto3 1.26 through the proxy", func(t *testing.T) {
		if out, err := exec.Command("/usr/bin/python3", "-c", "import boto3").CombinedOutput(); err != nil {
			t.Fatalf("/usr/bin/python3 with boto3 is required (apt-get install python3-boto3): %v\n%s", err, out)
		}
		got := runJob(t, "/usr/bin/python3", jobEnv(t, env, true), "identity")
		// The SDK believes it talks to AWS itself: only the proxy brings it here.
		want := map[string]any{"boto3": got["boto3"], "arn": s.session, "sts_endpoint": "https://sts.amazonaws.com",
			"sagemaker_endpoint": "https://api.sagemaker.us-east-1.amazonaws.com", "list": "ok", "create": "AccessDeniedException"}
		if fmt.Sprint(got) != fmt.Sprint(want) || !strings.HasPrefix(got["boto3"].(string), "1.26") {
			t.Errorf("got %v\nwant %v", got, want)
		}
	})

	t.Run("aws-sdk-go-v2 container credentials provider", func(t *testing.T) {
		p := endpointcreds.New(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], func(o *endpointcreds.Options) {
			o.AuthorizationToken = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
		})
		cfg := aws.Config{Region: env["AWS_REGION"], Credentials: aws.NewCredentialsCache(p), BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]), Retryer: connRetryer}
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != s.session {
			t.Fatalf("GetCallerIdentity = %v, %v; want %s", aws.ToString(id.Arn), err, s.session)
		}
		sm := sagemaker.NewFromConfig(cfg)
		if _, err := sm.ListModelPackageGroups(ctx, &sagemaker.ListModelPackageGroupsInput{}); err != nil {
			t.Errorf("ListModelPackageGroups, allowed by the role: %v", err)
		}
		if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("g")}); code(err) != "AccessDeniedException" {
			t.Errorf("CreateModelPackageGroup, not allowed by the role: %s", code(err))
		}
		// Revoked: the provider gets nothing more, and the session it holds stops working.
		if err := s.app.JobCreds.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			t.Error("the session of a revoked grant still works")
		}
		fresh := aws.Config{Region: "us-east-1", Credentials: aws.NewCredentialsCache(p), BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]), Retryer: connRetryer}
		if _, err := sts.NewFromConfig(fresh).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("a revoked token: %v, want a refusal that says revoked", err)
		}
	})
}

// credentialsAnswer asks the endpoint with a raw Authorization header.
func credentialsAnswer(t *testing.T, url string, header []string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for _, h := range header {
		req.Header.Add("Authorization", h)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("the answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

func TestJobCredentialsEndpointRefuses(t *testing.T) {
	ctx := context.Background()
	s := startJobs(t, 0)
	tok := s.issue(t, s.role, time.Hour)
	url := s.app.JobCreds.Env(tok)["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
	status, body := credentialsAnswer(t, url, []string{tok})
	exp, err := time.Parse(time.RFC3339, body["Expiration"])
	if status != 200 || body["AccessKeyId"] == "" || body["SecretAccessKey"] == "" || body["Token"] == "" || err != nil || time.Until(exp) < 50*time.Minute {
		t.Fatalf("a good token: %d %v (%v)", status, body, err)
	}
	revoked := s.issue(t, s.role, time.Hour)
	if err := s.app.JobCreds.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	expired := s.issue(t, s.role, 1500*time.Millisecond)
	untrusting := s.issue(t, s.lambda, time.Hour)
	time.Sleep(1600 * time.Millisecond)
	for name, h := range map[string][]string{
		"no header":                    nil,
		"two headers":                  {tok, tok},
		"Bearer scheme":                {"Bearer " + tok},
		"unknown token":                {"slwjc_" + strings.Repeat("x", 43)},
		"revoked token":                {revoked},
		"expired token":                {expired},
		"role without sagemaker trust": {untrusting},
	} {
		status, body := credentialsAnswer(t, url, h)
		if status != 403 || body["code"] != "AccessDenied" || body["message"] == "" || body["AccessKeyId"] != "" {
			t.Errorf("%s: %d %v; want 403 AccessDenied", name, status, body)
		}
	}
}

// A long-running client keeps working across several session expiries: boto3 refreshes from the
// endpoint (sessions of 4 s here), and each call is signed with live credentials.
func TestJobCredentialsRefreshPastExpiry(t *testing.T) {
	s := startJobs(t, 4*time.Second)
	env := s.app.JobCreds.Env(s.issue(t, s.role, time.Hour))
	// Every call must succeed (the script raises on the first refusal); how many calls fit in the
	// 10 s depends on the machine's load, so only the sessions seen are checked.
	got := runJob(t, "python3", jobEnv(t, env, false), "refresh", "10")
	if calls, keys := got["calls"].(float64), got["keys"].(float64); keys < 3 {
		t.Errorf("%v calls with %v distinct sessions over 10 s of 4 s sessions; want ≥ 3 sessions", calls, keys)
	}
}

// The proxy serves AWS hosts only and only on loopback.
func TestJobProxyRefusesOtherHosts(t *testing.T) {
	s := startJobs(t, 0)
	proxy := strings.TrimPrefix(s.app.JobCreds.Env("x")["HTTPS_PROXY"], "http://")
	for _, target := range []string{"example.com:443", "127.0.0.1:443", s.url[len("http://"):], "sts.amazonaws.com:80", "amazonaws.com:443", "sts.amazonaws.com.evil.com:443"} {
		c, err := net.Dial("tcp", proxy)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(body), "only AWS API hosts") {
			t.Errorf("CONNECT %s: %d %s; want 403", target, resp.StatusCode, body)
		}
	}
	if host, _, _ := net.SplitHostPort(proxy); host != "127.0.0.1" {
		t.Errorf("the proxy listens on %s, want loopback", proxy)
	}
}

// Each session minted for a job is in the audit trail: sts:AssumeRole on the role by
// sagemaker.amazonaws.com, naming the job; so is a refusal.
func TestJobCredentialsAreAudited(t *testing.T) {
	ctx := context.Background()
	s := startJobs(t, 0)
	for _, role := range []string{s.role, s.lambda} {
		url := s.app.JobCreds.Env("")["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
		credentialsAnswer(t, url, []string{s.issue(t, role, time.Hour)})
	}
	recs, err := s.app.Store.Audit().AuditRecords(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		var rec audit.Record
		if err := json.Unmarshal(r.Body, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.UserAgent == "sagemaker.amazonaws.com" && rec.Operation == "AssumeRole" {
			got[rec.Resource] = rec.Decision
			if rec.Decision == "allow" && !strings.Contains(rec.Reason, ":training-job/t1") {
				t.Errorf("the record does not name the job: %+v", rec)
			}
		}
	}
	if want := map[string]string{s.role: "allow", s.lambda: "deny"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("engine AssumeRole records %v, want %v", got, want)
	}
}

// Jobs reach the API at 127.0.0.1 when it listens on loopback or every interface; when it
// listens on another address, the credentials endpoint is served on the proxy's loopback address.
func TestJobEndpointsFollowTheListener(t *testing.T) {
	s := startJobs(t, 0)
	proxy := s.app.JobCreds.Env("")["HTTPS_PROXY"]
	for addr, want := range map[string][2]string{
		"0.0.0.0:9330":   {"http://127.0.0.1:9330", "http://127.0.0.1:9330/_slipway/container-credentials"},
		"[::]:9330":      {"http://127.0.0.1:9330", "http://127.0.0.1:9330/_slipway/container-credentials"},
		"127.0.0.2:9330": {"http://127.0.0.1:9330", "http://127.0.0.1:9330/_slipway/container-credentials"},
		"10.1.2.3:9330":  {"http://10.1.2.3:9330", proxy + "/_slipway/container-credentials"},
	} {
		s.app.Listening(addr)
		env := s.app.JobCreds.Env("")
		if env["AWS_ENDPOINT_URL"] != want[0] || env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != want[1] {
			t.Errorf("listening on %s: endpoint %s, credentials %s; want %v", addr, env["AWS_ENDPOINT_URL"], env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], want)
		}
	}
	// The proxy's credentials endpoint is the real one.
	s.app.Listening("10.1.2.3:9330")
	url := s.app.JobCreds.Env("")["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
	if status, body := credentialsAnswer(t, url, []string{s.issue(t, s.role, time.Hour)}); status != 200 || body["AccessKeyId"] == "" {
		t.Errorf("credentials through the proxy's listener: %d %v", status, body)
	}
}
