package app_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/cli"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/console"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// consoleServer is a server whose clock a test may move forward (sessions and links expire).
type consoleServer struct {
	*server
	offset atomic.Int64 // nanoseconds added to the wall clock
}

func (cs *consoleServer) advance(d time.Duration) { cs.offset.Add(int64(d)) }

func startConsole(t testing.TB) *consoleServer {
	t.Helper()
	cs := &consoleServer{}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	var log *slog.Logger
	if tt, ok := t.(*testing.T); ok {
		log = slog.New(slog.NewTextHandler(testWriter{tt}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, err := app.New(context.Background(), cfg, log, func() time.Time { return time.Now().Add(time.Duration(cs.offset.Load())) })
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	t.Cleanup(func() { hs.Close(); a.Close() })
	cs.server = &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles {
		cs.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		cs.account[name] = p.Account
	}
	return cs
}

// browser is a console user: an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string, transport http.RoundTripper) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	body     string
	location string
	cookies  []*http.Cookie
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("reading %s %s: %v", req.Method, req.URL, err)
	}
	return page{resp.StatusCode, string(body), resp.Header.Get("Location"), resp.Cookies()}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the forms of a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s (%d) has no CSRF token:\n%s", path, p.status, p.body)
	}
	return m[1]
}

// signIn signs in with an access key and its secret and returns the sign-in's answer.
func (b *browser) signIn(keyID, secret string) page {
	b.t.Helper()
	pre := b.csrf("/console/signin")
	return b.post("/console/signin", url.Values{"csrf": {pre}, "access_key_id": {keyID}, "secret_access_key": {secret}, "next": {"/console/registry"}})
}

func signedIn(t testing.TB, s *server, keyID, secret string) *browser {
	t.Helper()
	b := newBrowser(t, s.url, nil)
	if p := b.signIn(keyID, secret); p.status != http.StatusSeeOther || p.location != "/console/registry" {
		t.Fatalf("sign-in: %d → %q\n%s", p.status, p.location, p.body)
	}
	return b
}

// newUser makes a user of the data-science account with an inline policy (none when "")
// and returns its access key and secret.
func newUser(t *testing.T, s *server, name, policy string) (string, string) {
	ctx := context.Background()
	c := iam.NewFromConfig(s.cfg("data-science"))
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	mustDo(t, err)
	if policy != "" {
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
		mustDo(t, err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	mustDo(t, err)
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
}

// registryWith makes a group with versions whose metrics reports are objects of a bucket.
func registryWith(t *testing.T, s *server, group, description string, mses ...string) {
	ctx := context.Background()
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	s3c := s3.NewFromConfig(s.cfg("data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "metrics-" + s.account["data-science"]
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil && code(err) != "BucketAlreadyOwnedByYou" {
		t.Fatal(err)
	}
	_, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(group), ModelPackageGroupDescription: aws.String("models of " + group)})
	mustDo(t, err)
	for i, mse := range mses {
		key := group + "/" + string(rune('a'+i)) + "/evaluation.json"
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: strings.NewReader(`{"regression_metrics":{"mse":{"value":` + mse + `,"standard_deviation":0.5},"r2":{"value":0.` + mse[:1] + `}}}`)})
		mustDo(t, err)
		_, err = sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{
			ModelPackageGroupName:   aws.String(group),
			ModelPackageDescription: aws.String(description),
			InferenceSpecification: &smtypes.InferenceSpecification{
				Containers:                 []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost"), ModelDataUrl: aws.String("s3://" + bucket + "/model.tar.gz")}},
				SupportedContentTypes:      []string{"text/csv"},
				SupportedResponseMIMETypes: []string{"text/csv"},
			},
			ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{
				ContentType: aws.String("application/json"), S3Uri: aws.String("s3://" + bucket + "/" + key)}}},
			ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval,
		})
		mustDo(t, err)
	}
}

func approvalOf(t *testing.T, s *server, group string, version int) string {
	out, err := sagemaker.NewFromConfig(s.cfg("data-science")).DescribeModelPackage(context.Background(), &sagemaker.DescribeModelPackageInput{
		ModelPackageName: aws.String("arn:aws:sagemaker:us-east-1:" + s.account["data-science"] + ":model-package/" + group + "/" + strconv.Itoa(version))})
	mustDo(t, err)
	return string(out.ModelApprovalStatus) + "|" + aws.ToString(out.ApprovalDescription)
}

// TestConsoleSignInAndSessions: no session → the sign-in page keeps the target; a wrong
// secret is refused; the cookie's flags; sign-out ends the session; idle and absolute
// timeouts end it; over TLS the cookie is Secure.
func TestConsoleSignInAndSessions(t *testing.T) {
	s := startConsole(t)
	ds := s.profile["data-science"]

	anon := newBrowser(t, s.url, nil)
	if p := anon.get("/console/registry/abalone?x=1"); p.status != http.StatusSeeOther || p.location != "/console/signin?next="+url.QueryEscape("/console/registry/abalone?x=1") {
		t.Errorf("no session: %d → %q, want the sign-in page keeping the target", p.status, p.location)
	}
	if p := anon.get("/console/pipelines/x/executions/y/live"); p.status != http.StatusUnauthorized {
		t.Errorf("no session, live JSON: %d, want 401", p.status)
	}
	if p := anon.post("/console/signout", url.Values{}); p.status != http.StatusSeeOther || p.location != "/console/signin" {
		t.Errorf("no session, an action: %d → %q", p.status, p.location)
	}
	if p := anon.signIn(ds.AccessKeyID, ds.SecretAccessKey+"x"); p.status != http.StatusUnauthorized || hasCookie(p, console.SessionCookie) ||
		!strings.Contains(p.body, "not valid") {
		t.Errorf("wrong secret: %d, cookies %v", p.status, p.cookies)
	}
	if p := anon.signIn("AKIANOSUCHKEY0000000", ds.SecretAccessKey); p.status != http.StatusUnauthorized {
		t.Errorf("unknown key: %d", p.status)
	}
	// The sign-in form's own CSRF token: missing → 403.
	if p := anon.post("/console/signin", url.Values{"access_key_id": {ds.AccessKeyID}, "secret_access_key": {ds.SecretAccessKey}}); p.status != http.StatusForbidden || hasCookie(p, console.SessionCookie) {
		t.Errorf("sign-in without its CSRF token: %d", p.status)
	}

	b := newBrowser(t, s.url, nil)
	p := b.signIn(ds.AccessKeyID, ds.SecretAccessKey)
	if p.status != http.StatusSeeOther || p.location != "/console/registry" {
		t.Fatalf("sign-in: %d → %q", p.status, p.location)
	}
	ck := cookie(p, console.SessionCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/console/" || len(ck.Value) < 40 {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, not Secure over HTTP, Path /console/", ck)
	}
	if p := b.get("/console/registry"); p.status != http.StatusOK || !strings.Contains(p.body, "arn:aws:iam::"+s.account["data-science"]+":user/admin") {
		t.Fatalf("registry page: %d\n%s", p.status, p.body)
	}
	// Sessions live in the store: the same cookie works through another server of the store?
	// (One store per test here; a restart keeps them: see TestConsoleSessionSurvivesRestart.)

	// Sign-out ends the session: the old cookie no longer works.
	csrf := b.csrf("/console/registry")
	if p := b.post("/console/signout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.status)
	}
	replay := newBrowser(t, s.url, nil)
	replayCookie(t, replay, s.url, ck)
	if p := replay.get("/console/registry"); p.status != http.StatusSeeOther {
		t.Errorf("the signed-out session's cookie: %d, want a redirect to sign-in", p.status)
	}

	// Idle timeout (30 minutes).
	b = signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	s.advance(29 * time.Minute)
	if p := b.get("/console/registry"); p.status != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d", p.status)
	}
	s.advance(31 * time.Minute)
	if p := b.get("/console/registry"); p.status != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: %d, want the sign-in page", p.status)
	}
	// Absolute timeout (12 hours), however busy the session.
	b = signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	for i := 0; i < 28; i++ {
		s.advance(25 * time.Minute)
		if p := b.get("/console/org"); p.status != http.StatusOK {
			t.Fatalf("a busy session after %v: %d", time.Duration(i+1)*25*time.Minute, p.status)
		}
	}
	s.advance(45 * time.Minute) // 12h25m after sign-in, 20 minutes after the last request
	if p := b.get("/console/org"); p.status != http.StatusSeeOther {
		t.Errorf("12h25m after sign-in: %d, want the sign-in page", p.status)
	}

	// Over TLS the cookie is Secure.
	tlsServer := httptest.NewTLSServer(s.app.Handler())
	defer tlsServer.Close()
	tb := newBrowser(t, tlsServer.URL, &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}})
	if p := tb.signIn(ds.AccessKeyID, ds.SecretAccessKey); cookie(p, console.SessionCookie) == nil || !cookie(p, console.SessionCookie).Secure {
		t.Errorf("over TLS: %d, cookie %+v, want Secure", p.status, cookie(p, console.SessionCookie))
	}
}

func cookie(p page, name string) *http.Cookie {
	for _, c := range p.cookies {
		if c.Name == name && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}

func hasCookie(p page, name string) bool { return cookie(p, name) != nil }

func replayCookie(t *testing.T, b *browser, base string, ck *http.Cookie) {
	u, _ := url.Parse(base + "/console/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/console/"}})
}

// TestConsoleRegistry: the group page with its versions, metrics charts and comparison;
// approving needs the CSRF token (missing or wrong → 403 and nothing changes); the approval
// lands with its comment and in the audit trail; markup in a description is escaped; a
// principal without registry permissions sees the AccessDenied reason and cannot approve.
func TestConsoleRegistry(t *testing.T) {
	s := startConsole(t)
	ds := s.profile["data-science"]
	xss := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	registryWith(t, s.server, "abalone", xss, "4.5", "3.25", "2.75")
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)

	p := b.get("/console/registry")
	if p.status != http.StatusOK || !strings.Contains(p.body, `href="/console/registry/abalone"`) {
		t.Fatalf("registry: %d\n%s", p.status, p.body)
	}
	p = b.get("/console/registry/abalone")
	if p.status != http.StatusOK {
		t.Fatalf("group: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") || !strings.Contains(p.body, html.EscapeString("<script>")) {
		t.Errorf("the description's markup is not escaped:\n%s", p.body)
	}
	for _, want := range []string{`<figcaption>mse</figcaption>`, `<figcaption>r2</figcaption>`, `<title>v2: 3.25</title>`, `<title>v3: 2.75</title>`, "PendingManualApproval"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("group page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "standard_deviation") {
		t.Errorf("the chart shows the standard deviation as a metric")
	}
	p = b.get("/console/registry/abalone/compare?a=1&b=3")
	if p.status != http.StatusOK || !strings.Contains(p.body, "metric mse") || !strings.Contains(p.body, "<pre>4.5</pre>") || !strings.Contains(p.body, "<pre>2.75</pre>") {
		t.Errorf("compare: %d\n%s", p.status, p.body)
	}
	if p := b.get("/console/registry/abalone/compare?a=1&b=zz"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "ValidationException") {
		t.Errorf("compare with a bad version: %d", p.status)
	}

	csrf := b.csrf("/console/registry/abalone")
	for name, form := range map[string]url.Values{
		"no CSRF token":    {"status": {"Approved"}, "comment": {"lgtm"}},
		"wrong CSRF token": {"status": {"Approved"}, "comment": {"lgtm"}, "csrf": {csrf[:len(csrf)-2] + "xx"}},
	} {
		if p := b.post("/console/registry/abalone/2/status", form); p.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, p.status)
		}
	}
	if got := approvalOf(t, s.server, "abalone", 2); got != "PendingManualApproval|" {
		t.Fatalf("after forged approvals: %s", got)
	}
	// Another session's token is not this session's.
	other := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	if p := b.post("/console/registry/abalone/2/status", url.Values{"status": {"Approved"}, "csrf": {other.csrf("/console/registry")}}); p.status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d", p.status)
	}
	// A page of another origin that somehow holds the token is refused too.
	forged, _ := http.NewRequest(http.MethodPost, b.base+"/console/registry/abalone/2/status", strings.NewReader(url.Values{"status": {"Approved"}, "csrf": {csrf}}.Encode()))
	forged.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	forged.Header.Set("Origin", "http://evil.example")
	if p := b.do(forged); p.status != http.StatusForbidden {
		t.Errorf("a form posted from another origin: %d, want 403", p.status)
	}
	if got := approvalOf(t, s.server, "abalone", 2); got != "PendingManualApproval|" {
		t.Fatalf("after forged approvals: %s", got)
	}
	p = b.post("/console/registry/abalone/2/status", url.Values{"status": {"Approved"}, "comment": {"mse 3.25 <b>ok</b>"}, "csrf": {csrf}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", p.status, p.body)
	}
	if got := approvalOf(t, s.server, "abalone", 2); got != "Approved|mse 3.25 <b>ok</b>" {
		t.Errorf("after the approval: %s", got)
	}
	if p := b.get(p.location); !strings.Contains(p.body, "mse 3.25 &lt;b&gt;ok&lt;/b&gt;") {
		t.Errorf("the comment is not shown escaped")
	}
	if p := b.post("/console/registry/abalone/3/status", url.Values{"status": {"Maybe"}, "csrf": {csrf}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "ValidationException") {
		t.Errorf("a bad status: %d", p.status)
	}

	// The audit trail holds the console's approval, by the admin, with its decision.
	p = b.get("/console/audit?action=UpdateModelPackage&principal=user/admin&verify=1")
	if p.status != http.StatusOK || !strings.Contains(p.body, "model-package/abalone/2") || !strings.Contains(p.body, `data-chain="intact"`) {
		t.Errorf("audit search: %d\n%s", p.status, p.body)
	}
	if n := strings.Count(p.body, "<td>sagemaker:UpdateModelPackage</td>"); n != 2 { // the approval and the refused bad status
		t.Errorf("audit search found %d UpdateModelPackage records, want 2", n)
	}
	if p := b.get("/console/audit?from=yesterday"); p.status != http.StatusBadRequest {
		t.Errorf("audit search with a bad time: %d", p.status)
	}

	// A principal without registry permissions: the AccessDenied reason, not an empty list.
	keyID, secret := newUser(t, s.server, "nobody", "")
	nb := signedIn(t, s.server, keyID, secret)
	p = nb.get("/console/registry")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "AccessDenied") || !strings.Contains(p.body, "sagemaker:ListModelPackageGroups") {
		t.Errorf("registry for a principal without permissions: %d\n%s", p.status, p.body)
	}
	if p := nb.get("/console/audit"); p.status != http.StatusForbidden || !strings.Contains(p.body, "cloudtrail:LookupEvents") {
		t.Errorf("audit for a principal without permissions: %d", p.status)
	}
	// A reader may look but not approve; the refusal names the action.
	keyID, secret = newUser(t, s.server, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:List*","sagemaker:Describe*","s3:GetObject"],"Resource":"*"}]}`)
	rd := signedIn(t, s.server, keyID, secret)
	if p := rd.get("/console/registry/abalone"); p.status != http.StatusOK || !strings.Contains(p.body, "<figcaption>mse</figcaption>") {
		t.Errorf("the reader's group page: %d", p.status)
	}
	p = rd.post("/console/registry/abalone/3/status", url.Values{"status": {"Approved"}, "comment": {"sneaky"}, "csrf": {rd.csrf("/console/registry/abalone")}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "sagemaker:UpdateModelPackage") {
		t.Errorf("the reader approves: %d\n%s", p.status, p.body)
	}
	if got := approvalOf(t, s.server, "abalone", 3); got != "PendingManualApproval|" {
		t.Errorf("after the reader's refused approval: %s", got)
	}
	if p := b.get("/console/audit?principal=user/reader&action=UpdateModelPackage"); !strings.Contains(p.body, `data-state="deny"`) {
		t.Errorf("the refusal is not in the audit trail:\n%s", p.body)
	}
	// An explicit Deny wins over an Allow of everything.
	keyID, secret = newUser(t, s.server, "denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"sagemaker:UpdateModelPackage","Resource":"arn:aws:sagemaker:us-east-1:`+s.account["data-science"]+`:model-package/abalone/*"}]}`)
	dn := signedIn(t, s.server, keyID, secret)
	p = dn.post("/console/registry/abalone/3/status", url.Values{"status": {"Rejected"}, "csrf": {dn.csrf("/console/registry/abalone")}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "explicit deny") {
		t.Errorf("approval under an explicit Deny: %d\n%s", p.status, p.body)
	}
	if got := approvalOf(t, s.server, "abalone", 3); got != "PendingManualApproval|" {
		t.Errorf("after the denied rejection: %s", got)
	}
	// Another account's admin: the group is not there for it, as the API answers.
	st := s.profile["staging"]
	sb := signedIn(t, s.server, st.AccessKeyID, st.SecretAccessKey)
	if p := sb.get("/console/registry/abalone"); (p.status != http.StatusBadRequest && p.status != http.StatusNotFound) || strings.Contains(p.body, "models of abalone") || strings.Contains(p.body, "figcaption") {
		t.Errorf("another account's group page: %d\n%s", p.status, p.body)
	}
	if p := sb.post("/console/registry/abalone/3/status", url.Values{"status": {"Approved"}, "csrf": {sb.csrf("/console/registry")}}); p.status == http.StatusSeeOther {
		t.Errorf("another account approves: %d", p.status)
	}
	if got := approvalOf(t, s.server, "abalone", 3); got != "PendingManualApproval|" {
		t.Errorf("after another account's approval: %s", got)
	}
	if p := sb.get("/console/audit?account=" + s.account["data-science"]); strings.Contains(p.body, "user/admin") && strings.Contains(p.body, "<td>"+s.account["data-science"]+"</td>") {
		t.Errorf("a member account's admin sees the data-science account's audit records")
	}
}

// TestConsoleOneTimeLink: `slipway console --print-link` prints a link that signs in once;
// a link request signed with a wrong secret is refused; an expired link is refused.
func TestConsoleOneTimeLink(t *testing.T) {
	s := startConsole(t)
	ds := s.profile["data-science"]
	link := func(secret string) (string, error) {
		path := filepath.Join(t.TempDir(), "credentials")
		mustDo(t, os.WriteFile(path, []byte("[p]\naws_access_key_id = "+ds.AccessKeyID+"\naws_secret_access_key = "+secret+"\n"), 0o600))
		var out, errOut bytes.Buffer
		if rc := cli.Run(context.Background(), []string{"console", "--endpoint", s.url, "--credentials", path, "--profile", "p", "--print-link"}, &out, &errOut); rc != 0 {
			return "", &cliError{errOut.String()}
		}
		return strings.TrimSpace(out.String()), nil
	}
	if _, err := link(ds.SecretAccessKey + "x"); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a link asked with a wrong secret: %v", err)
	}
	u, err := link(ds.SecretAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, s.url+"/console/signin/link?token=") {
		t.Fatalf("link = %q", u)
	}
	token := strings.TrimPrefix(u, s.url+"/console/signin/link?token=")
	b := newBrowser(t, s.url, nil)
	p := b.get(strings.TrimPrefix(u, s.url))
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="token"`) {
		t.Fatalf("link page: %d", p.status)
	}
	if p := b.post("/console/signin/link", url.Values{"token": {token}}); p.status != http.StatusSeeOther || !hasCookie(p, console.SessionCookie) {
		t.Fatalf("using the link: %d", p.status)
	}
	if p := b.get("/console/registry"); p.status != http.StatusOK || !strings.Contains(p.body, "user/admin") {
		t.Errorf("signed in by link: %d", p.status)
	}
	again := newBrowser(t, s.url, nil)
	if p := again.post("/console/signin/link", url.Values{"token": {token}}); p.status != http.StatusUnauthorized || hasCookie(p, console.SessionCookie) {
		t.Errorf("the link a second time: %d, want 401", p.status)
	}
	u, err = link(ds.SecretAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	s.advance(6 * time.Minute)
	// The CLI signs with the wall clock; the server's moved on, so use the link only.
	if p := again.post("/console/signin/link", url.Values{"token": {strings.TrimPrefix(u, s.url+"/console/signin/link?token=")}}); p.status != http.StatusUnauthorized {
		t.Errorf("an expired link: %d, want 401", p.status)
	}
	// An unsigned link request is refused.
	resp, err := http.Post(s.url+"/console/link", "application/json", strings.NewReader("{}"))
	mustDo(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an unsigned link request: %d", resp.StatusCode)
	}
}

type cliError struct{ msg string }

func (e *cliError) Error() string { return e.msg }

// TestConsoleSwitchRole: the management account's admin switches into a member account's
// access role (its trust policy allows the management account) and acts there; a member
// account's admin may not assume another member's role, and sees why.
func TestConsoleSwitchRole(t *testing.T) {
	s := startConsole(t)
	ds, st := s.profile["data-science"], s.profile["staging"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	csrf := b.csrf("/console/switch")
	if p := b.post("/console/switch", url.Values{"account": {s.account["staging"]}, "role": {"OrganizationAccountAccessRole"}}); p.status != http.StatusForbidden {
		t.Errorf("switch without a CSRF token: %d", p.status)
	}
	p := b.post("/console/switch", url.Values{"csrf": {csrf}, "account": {s.account["staging"]}, "role": {"OrganizationAccountAccessRole"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("switch: %d\n%s", p.status, p.body)
	}
	want := "arn:aws:sts::" + s.account["staging"] + ":assumed-role/OrganizationAccountAccessRole/console-admin"
	if p := b.get("/console/registry"); !strings.Contains(p.body, want) || !strings.Contains(p.body, "Switch back") {
		t.Errorf("after switching, the page does not act as %s:\n%s", want, p.body)
	}
	if p := b.post("/console/switch/back", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("switch back: %d", p.status)
	}
	if p := b.get("/console/registry"); !strings.Contains(p.body, "arn:aws:iam::"+s.account["data-science"]+":user/admin") {
		t.Errorf("after switching back:\n%s", p.body)
	}
	sb := signedIn(t, s.server, st.AccessKeyID, st.SecretAccessKey)
	p = sb.post("/console/switch", url.Values{"csrf": {sb.csrf("/console/switch")}, "role_arn": {"arn:aws:iam::" + s.account["production"] + ":role/OrganizationAccountAccessRole"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "sts:AssumeRole") {
		t.Errorf("staging assumes production's role: %d\n%s", p.status, p.body)
	}
}

// TestConsolePages: the organization, pipelines (DAG, steps, start), endpoints and
// deployments (stage by stage, approval with a summary, its history) pages, as the admin.
func TestConsolePages(t *testing.T) {
	s := startConsole(t)
	ds := s.profile["data-science"]
	ctx := context.Background()
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)

	p := b.get("/console/org")
	for _, want := range []string{"data-science", "staging", "production", s.account["staging"], "SCP FullAWSAccess"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("org page lacks %q", want)
		}
	}

	// Pipelines: a two-step pipeline that fails at its second step.
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	role := newPipelineRole(t, s.server)
	def := `{"Version":"2020-12-01","Steps":[{"Name":"Check","Type":"Condition","Arguments":{"Conditions":[{"Type":"Equals","LeftValue":1,"RightValue":1}],"IfSteps":[{"Name":"Stop","Type":"Fail","Arguments":{"ErrorMessage":"stopped <b>on purpose</b>"}}],"ElseSteps":[]}}]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("dag"), PipelineDefinition: aws.String(def), RoleArn: aws.String(role), ClientRequestToken: token()})
	mustDo(t, err)
	if p := b.get("/console/pipelines"); !strings.Contains(p.body, `href="/console/pipelines/dag"`) {
		t.Errorf("pipelines page:\n%s", p.body)
	}
	csrf := b.csrf("/console/pipelines")
	p = b.post("/console/pipelines/dag/start", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/console/pipelines/dag/executions/") {
		t.Fatalf("start: %d → %q\n%s", p.status, p.location, p.body)
	}
	exec := p.location
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		live := b.get(exec + "/live")
		if strings.Contains(live.body, `"status":"Failed"`) && strings.Contains(live.body, `"step:Stop":"Failed"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the execution never failed: %s", live.body)
		}
	}
	p = b.get(exec)
	for _, want := range []string{`<svg class="dag"`, `data-state-of="step:Check" data-state="Succeeded"`, `data-state-of="step:Stop" data-state="Failed"`, `class="edge"`, "stopped &lt;b&gt;on purpose&lt;/b&gt;", `data-poll="` + exec + `/live"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("execution page lacks %q", want)
		}
	}
	if p := b.post(exec+"/retry", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Errorf("retry: %d\n%s", p.status, p.body)
	}
	// Stopping is the admin's to do: accepted, or refused by the domain because the execution
	// has ended again — never refused by authorization, never an internal error.
	if p := b.post(exec+"/stop", url.Values{"csrf": {csrf}}); p.status == http.StatusForbidden || p.status >= 500 {
		t.Errorf("stop: %d\n%s", p.status, p.body)
	}

	// Endpoints: an endpoint whose model data is not a model fails, with its reason shown.
	s3c := s3.NewFromConfig(s.cfg("data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("nowhere-" + s.account["data-science"])})
	mustDo(t, err)
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nowhere-" + s.account["data-science"]), Key: aws.String("model.tar.gz"), Body: strings.NewReader("not a model")})
	mustDo(t, err)
	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("m"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("slipway/xgboost"), ModelDataUrl: aws.String("s3://nowhere-" + s.account["data-science"] + "/model.tar.gz")}})
	mustDo(t, err)
	_, err = sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("c"), ProductionVariants: []smtypes.ProductionVariant{{
		VariantName: aws.String("blue"), ModelName: aws.String("m"), InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialVariantWeight: aws.Float32(1)}}})
	mustDo(t, err)
	_, err = sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("c")})
	mustDo(t, err)
	if p := b.get("/console/endpoints"); !strings.Contains(p.body, `href="/console/endpoints/ep"`) || !strings.Contains(p.body, `data-poll="/console/endpoints/live"`) {
		t.Errorf("endpoints page:\n%s", p.body)
	}
	if p := b.get("/console/endpoints/live"); !strings.Contains(p.body, `"status:ep":`) {
		t.Errorf("endpoints live: %s", p.body)
	}
	p = b.get("/console/endpoints/ep")
	for _, want := range []string{"<td>blue</td>", "<td>m</td>", "ml.m5.large"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("endpoint page lacks %q:\n%s", want, p.body)
		}
	}
	if p := b.get("/console/endpoints/nosuch"); p.status != http.StatusBadRequest && p.status != http.StatusNotFound {
		t.Errorf("an endpoint that does not exist: %d", p.status)
	}

	// Deployments: the deploy pipeline waits at its manual approval; the operator approves
	// with a summary; a data scientist is refused with the reason.
	d := newDeploySetup(t, s.server)
	cp := cpOf(d.ds.sm)
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		p = b.get("/console/deployments/model-deploy")
		if strings.Contains(p.body, "Waiting for approval: ApproveDeployment / Approve") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deployment never waited for its approval:\n%s", p.body)
		}
	}
	if !strings.Contains(p.body, `data-state-of="stage:DeployStaging" data-state="Succeeded"`) {
		t.Errorf("the staging stage is not shown succeeded:\n%s", p.body)
	}
	if p := b.get("/console/deployments"); !strings.Contains(p.body, `href="/console/deployments/model-deploy"`) {
		t.Errorf("deployments page:\n%s", p.body)
	}
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(p.body)
	if tok == nil {
		t.Fatalf("no approval token on the page")
	}
	// The page's poller gets the same approval form, with the session's CSRF token, so the form
	// appears without a reload once an execution reaches the approval.
	liveApprovals := func() (string, string) {
		t.Helper()
		var v map[string]string
		live := b.get("/console/deployments/model-deploy/live")
		if err := json.Unmarshal([]byte(live.body), &v); err != nil {
			t.Fatalf("deployment live: %v\n%s", err, live.body)
		}
		return v["approvals"], v["approvals#sig"]
	}
	html, sig := liveApprovals()
	if sig == "" || !strings.Contains(html, `action="/console/deployments/model-deploy/approval"`) ||
		!strings.Contains(html, `name="token" value="`+tok[1]+`"`) || !strings.Contains(html, `name="csrf" value="`+csrfRE.FindStringSubmatch(p.body)[1]+`"`) {
		t.Errorf("the live approvals do not carry the page's form (sig %q):\n%s", sig, html)
	}
	if !strings.Contains(p.body, `data-live-html="approvals" data-sig="`+sig+`"`) {
		t.Errorf("the page's approvals are not marked for live updates with signature %q", sig)
	}
	keyID, secret := newUser(t, s.server, "scientist", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`)
	sc := signedIn(t, s.server, keyID, secret)
	form := url.Values{"stage": {"ApproveDeployment"}, "action": {"Approve"}, "token": {tok[1]}, "status": {"Approved"}, "summary": {"looks fine"}}
	form.Set("csrf", sc.csrf("/console/deployments/model-deploy"))
	if p := sc.post("/console/deployments/model-deploy/approval", form); p.status != http.StatusForbidden || !strings.Contains(p.body, "codepipeline:PutApprovalResult") {
		t.Errorf("the scientist approves: %d\n%s", p.status, p.body)
	}
	form.Set("csrf", b.csrf("/console/deployments/model-deploy"))
	form.Set("summary", "staging <i>verified</i>")
	if p := b.post("/console/deployments/model-deploy/approval", form); p.status != http.StatusSeeOther {
		t.Fatalf("the admin approves: %d\n%s", p.status, p.body)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		live := b.get("/console/deployments/model-deploy/live")
		if strings.Contains(live.body, `"stage:DeployProd":"Succeeded"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("production never deployed: %s", live.body)
		}
	}
	if html, sig := liveApprovals(); html != "" || sig != "" {
		t.Errorf("after the decision the live approvals still offer a form (sig %q):\n%s", sig, html)
	}
	p = b.get("/console/deployments/model-deploy")
	if !strings.Contains(p.body, "staging &lt;i&gt;verified&lt;/i&gt;") || !strings.Contains(p.body, "user/admin") || strings.Contains(p.body, "Waiting for approval") {
		t.Errorf("approval history:\n%s", p.body)
	}
}

// newPipelineRole makes a role pipelines may run as.
func newPipelineRole(t *testing.T, s *server) string {
	c := iam.NewFromConfig(s.cfg("data-science"))
	r, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("pipelines"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	mustDo(t, err)
	_, err = c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String("pipelines"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
	mustDo(t, err)
	return *r.Role.Arn
}

// TestConsoleSessionSurvivesRestart: sessions are store records, so a restarted server (same
// data directory) keeps them; a session of a key deleted meanwhile ends.
func TestConsoleSessionSurvivesRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run := func() (*app.App, *httptest.Server) {
		a, err := app.New(context.Background(), cfg, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Start(context.Background())
		return a, httptest.NewServer(a.Handler())
	}
	a, hs := run()
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	mustDo(t, err)
	ds := profiles["data-science"]
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{"data-science": {AccessKeyID: ds.AccessKeyID, SecretAccessKey: ds.SecretAccessKey}}}
	keyID, secret := newUser(t, s, "temp", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:List*","Resource":"*"}]}`)
	admin := cookie(signedIn(t, s, ds.AccessKeyID, ds.SecretAccessKey).signIn(ds.AccessKeyID, ds.SecretAccessKey), console.SessionCookie)
	temp := cookie(newBrowser(t, hs.URL, nil).signIn(keyID, secret), console.SessionCookie)
	if admin == nil || temp == nil {
		t.Fatal("no session cookies")
	}
	_, err = iam.NewFromConfig(s.cfg("data-science")).DeleteAccessKey(context.Background(), &iam.DeleteAccessKeyInput{UserName: aws.String("temp"), AccessKeyId: aws.String(keyID)})
	mustDo(t, err)
	hs.Close()
	mustDo(t, a.Close())

	a, hs = run()
	defer func() { hs.Close(); a.Close() }()
	b := newBrowser(t, hs.URL, nil)
	replayCookie(t, b, hs.URL, admin)
	if p := b.get("/console/registry"); p.status != http.StatusOK || !strings.Contains(p.body, "user/admin") {
		t.Errorf("the admin's session after a restart: %d", p.status)
	}
	b = newBrowser(t, hs.URL, nil)
	replayCookie(t, b, hs.URL, temp)
	if p := b.get("/console/registry"); p.status != http.StatusSeeOther {
		t.Errorf("the session of a deleted key: %d, want the sign-in page", p.status)
	}
}

// TestConsolePathLeavesS3Alone: a bucket named "console", addressed path-style, is still
// the API's: signed requests under /console/ go to S3.
func TestConsolePathLeavesS3Alone(t *testing.T) {
	s := start(t, "")
	ctx := context.Background()
	c := s3.NewFromConfig(s.cfg("data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("console")})
	mustDo(t, err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("console"), Key: aws.String("signin"), Body: strings.NewReader("object, not a page")})
	mustDo(t, err)
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("console"), Key: aws.String("signin")})
	mustDo(t, err)
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "object, not a page" {
		t.Errorf("GetObject console/signin = %q", body)
	}
	resp, err := http.Get(s.url + "/console/signin")
	mustDo(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="secret_access_key"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("unsigned GET /console/signin: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}
