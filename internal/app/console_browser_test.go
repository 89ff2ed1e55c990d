package app_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/slipway-ml/slipway/internal/cli"
)

// TestConsoleInChromium drives the console with a real browser: headless Chromium (Debian's
// package, which scripts/test.sh installs) against a real server on 127.0.0.1. One browser;
// each user is a browser context of its own (its own cookies), each a tab. Every page the
// test sees must leave no JavaScript error, exception or CSP violation on the browser's
// console; a document the test expects to be refused (401, 403) may log its status.
func TestConsoleInChromium(t *testing.T) {
	br := chromiumStart(t, chromiumPath(t)) // it starts while the server does
	s := startConsole(t)
	ctx := context.Background()
	ds := s.profile["data-science"]
	dsAccount, stAccount := s.account["data-science"], s.account["staging"]
	admin := "arn:aws:iam::" + dsAccount + ":user/admin"

	// What the pages show: a group with two versions waiting for approval, a principal whose
	// explicit Deny forbids approving them, and a pipeline whose first step waits for a
	// callback the test sends (so the page is open while the step changes state).
	registryWith(t, s.server, "abalone", "an abalone model", "4.5", "3.25")
	deniedKey, deniedSecret := newUser(t, s.server, "denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"sagemaker:UpdateModelPackage","Resource":"arn:aws:sagemaker:us-east-1:`+dsAccount+`:model-package/abalone/*"}]}`)
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("wait"), RoleArn: aws.String(newPipelineRole(t, s.server)), ClientRequestToken: token(),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Steps":[
{"Name":"Wait","Type":"Callback","SqsQueueUrl":"https://sqs.us-east-1.amazonaws.com/` + dsAccount + `/q"},
{"Name":"Check","Type":"Condition","DependsOn":["Wait"],"Arguments":{"Conditions":[{"Type":"Equals","LeftValue":1,"RightValue":1}],"IfSteps":[],"ElseSteps":[]}}]}`)})
	mustDo(t, err)
	// A version registered by a build pipeline (its page shows its lineage), and a deploy
	// pipeline whose page shows each stage's transition and its Disable form.
	le := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: dsAccount, org: map[string]string{}}
	lrole := le.pipelineRole("lineage-" + dsAccount)
	_, err = sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("traced")})
	mustDo(t, err)
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("lineagebuild"), RoleArn: aws.String(lrole), ClientRequestToken: token(),
		PipelineDefinition: aws.String(lineageDefinition(lrole, "lineage-"+dsAccount, "traced"))})
	mustDo(t, err)
	build, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("lineagebuild"), ClientRequestToken: token()})
	mustDo(t, err)
	deploy := newDeploySetup(t, s.server)
	_, err = cpOf(deploy.ds.sm).CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: deploy.pipeline("model-deploy")})
	mustDo(t, err)
	// The story's project: a deploy pipeline into two staging accounts and production.
	story := dprojOn(t, s.server, "story", nil)

	t.Run("sign in with keys", func(t *testing.T) {
		tab := br.tab(t, s.url)
		tab.open("/console/registry/abalone")
		if p := tab.location(); p != "/console/signin?next="+url.QueryEscape("/console/registry/abalone") {
			t.Fatalf("without a session: at %s, want the sign-in page keeping the target", p)
		}
		if f := tab.eval(`document.activeElement.name`); f != "access_key_id" {
			t.Errorf("the sign-in page focuses %q, want the access key field", f)
		}
		tab.allow("/console/signin") // the refused sign-in answers 401
		tab.do(chromedp.SendKeys(chromedp.CSS(`input[name=access_key_id]`), ds.AccessKeyID),
			chromedp.SendKeys(chromedp.CSS(`input[name=secret_access_key]`), ds.SecretAccessKey+"x"))
		tab.submit(chromedp.Click(chromedp.CSS(`form button`)))
		if e := tab.text(`.error[role=alert]`); e != "The access key or its secret is not valid." {
			t.Errorf("a wrong secret: the page says %q; body %q", e, tab.text("body"))
		}
		if v := tab.eval(`document.querySelector('input[name=access_key_id]').value`); v != ds.AccessKeyID {
			t.Errorf("after a refusal the key field holds %q, want the key typed", v)
		}
		if tab.eval(`document.cookie`) != "" {
			t.Errorf("cookies readable by script: %q", tab.eval(`document.cookie`))
		}
		tab.do(chromedp.SendKeys(chromedp.CSS(`input[name=secret_access_key]`), ds.SecretAccessKey))
		tab.submit(chromedp.KeyEvent(kb.Enter)) // the focus is in the secret field: Enter submits
		if p := tab.location(); p != "/console/registry/abalone" {
			t.Fatalf("after signing in: at %s, want the page asked for", p)
		}
		if who := tab.text(`.principal`); who != admin {
			t.Errorf("signed in as %q, want %s", who, admin)
		}
		// The session cookie as the browser holds it: HttpOnly (not in document.cookie),
		// SameSite=Strict, scoped to /console/, ending with the session's 12 hours.
		if tab.eval(`document.cookie`) != "" {
			t.Errorf("the session cookie is readable by script: %q", tab.eval(`document.cookie`))
		}
		ck := tab.cookie("slipway_console")
		if ck == nil || !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteStrict || ck.Path != "/console/" || ck.Secure {
			t.Fatalf("session cookie = %+v", ck)
		}
		if left := time.Until(time.Unix(int64(ck.Expires), 0)); left < 11*time.Hour || left > 13*time.Hour {
			t.Errorf("the session cookie ends in %v, want about 12 hours", left)
		}
		tab.noErrors()
	})

	t.Run("one-time link", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if rc := cli.Run(ctx, []string{"console", "--endpoint", s.url, "--credentials", s.app.CredentialsPath(), "--profile", "data-science", "--print-link"}, &out, &errOut); rc != 0 {
			t.Fatalf("slipway console --print-link: %d: %s", rc, errOut.String())
		}
		link := strings.TrimSpace(out.String())
		tab := br.tab(t, s.url)
		tab.do(chromedp.Navigate(link))
		if f := tab.eval(`document.activeElement.textContent`); f != "Sign in" {
			t.Errorf("the link's page focuses %q, want its Sign in button", f)
		}
		tab.submit(chromedp.KeyEvent(kb.Enter))
		if p, who := tab.location(), tab.text(`.principal`); p != "/console/registry" || who != admin {
			t.Errorf("after the link: at %s as %q", p, who)
		}
		again := br.tab(t, s.url)
		again.allow("/console/signin/link")
		again.do(chromedp.Navigate(link))
		again.submit(chromedp.Click(chromedp.CSS(`form button`)))
		if e := again.text(`.error`); !strings.Contains(e, "already used") || again.eval(`String(!!document.querySelector('.principal'))`) != "false" {
			t.Errorf("the link a second time: %q", e)
		}
		tab.noErrors()
		again.noErrors()
	})

	ad := br.tab(t, s.url)
	ad.signIn(ds.AccessKeyID, ds.SecretAccessKey)

	t.Run("navigate", func(t *testing.T) {
		for _, n := range []struct{ link, path, title string }{
			{"Organization", "/console/org", "Organization"},
			{"Model registry", "/console/registry", "Model registry"},
			{"Pipelines", "/console/pipelines", "Pipelines"},
			{"Endpoints", "/console/endpoints", "Endpoints"},
			{"Deployments", "/console/deployments", "Deployments"},
			{"Audit", "/console/audit", "Audit"},
		} {
			ad.submit(chromedp.Click(chromedp.Search(`//nav//a[text()="` + n.link + `"]`)))
			if p := ad.location(); p != n.path {
				t.Errorf("%s: at %s, want %s", n.link, p, n.path)
			}
			if h := ad.text("h1"); !strings.HasPrefix(h, n.title) {
				t.Errorf("%s: the heading is %q", n.link, h)
			}
			if cur := ad.eval(`document.querySelector('nav a[aria-current=page]')?.textContent ?? ''`); cur != n.link {
				t.Errorf("%s: the nav marks %q as current", n.link, cur)
			}
			if e := ad.text(".error"); e != "" {
				t.Errorf("%s: %s", n.link, e)
			}
			if n.link == "Organization" && !strings.Contains(ad.text("main"), stAccount) {
				t.Errorf("the organization page does not show the staging account")
			}
		}
		ad.open("/console/registry")
		ad.submit(chromedp.Click(chromedp.CSS(`a[href="/console/registry/abalone"]`)))
		if got := ad.eval(`[...document.querySelectorAll('figcaption')].map(f => f.textContent).join(',')`); got != "mse,r2" {
			t.Errorf("the group's charts: %q", got)
		}
		ad.noErrors()
	})

	t.Run("keyboard approval", func(t *testing.T) {
		ad.open("/console/registry/abalone")
		// From the top of the page, Tab reaches the skip link, every section of the nav, then
		// version 1's comment and Approve button; the focus is visible on each.
		seen := map[string]bool{}
		var comment bool
		for i := 0; ; i++ {
			if i == 40 {
				t.Fatalf("40 Tabs never reached the Approve button; focused: %v", seen)
			}
			ad.do(chromedp.KeyEvent(kb.Tab))
			f := ad.eval(`(() => { const e = document.activeElement;
				const outline = getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth;
				const form = e.form ? e.form.getAttribute('action') : '';
				return (e.closest('nav') ? 'nav:' : '') + e.tagName + ':' + (e.name || '') + ':' + e.textContent.trim() + ':' + form + '|' + outline })()`)
			desc, outline, _ := strings.Cut(f, "|")
			seen[desc] = true
			if strings.HasPrefix(outline, "none") {
				t.Errorf("the focus on %s is not visible (outline %s)", desc, outline)
			}
			if desc == "INPUT:comment::/console/registry/abalone/1/status" && !comment {
				ad.do(chromedp.KeyEvent("keyboard ok"))
				comment = true
			}
			if desc == "BUTTON:status:Approve:/console/registry/abalone/1/status" {
				break
			}
		}
		for _, n := range []string{"Organization", "Model registry", "Pipelines", "Endpoints", "Deployments", "Audit"} {
			if !seen["nav:A::"+n+":"] {
				t.Errorf("Tab never reached the nav's %s; focused: %v", n, seen)
			}
		}
		if !seen["A::Skip to content:"] || !comment {
			t.Errorf("Tab never reached the skip link or the comment; focused: %v", seen)
		}
		ad.submit(chromedp.KeyEvent(kb.Enter))
		if got := approvalOf(t, s.server, "abalone", 1); got != "Approved|keyboard ok" {
			t.Errorf("after Enter on Approve: %s", got)
		}
		if st := ad.text(`tbody tr:first-child .status`); st != "Approved" {
			t.Errorf("the page shows version 1 %q after the approval", st)
		}
		if st := ad.eval(`document.querySelector('tbody tr:nth-child(2) .status').textContent`); st != "PendingManualApproval" {
			t.Errorf("version 2 is %q", st)
		}
		ad.noErrors()
	})

	t.Run("explicit deny", func(t *testing.T) {
		tab := br.tab(t, s.url)
		tab.signIn(deniedKey, deniedSecret)
		tab.open("/console/registry/abalone")
		tab.allow("/console/registry/abalone/2/status")
		tab.submit(chromedp.Click(chromedp.CSS(`form[action="/console/registry/abalone/2/status"] button[value=Approved]`)))
		e := tab.text(`.error[role=alert]`)
		if !strings.HasPrefix(e, "AccessDenied: ") || !strings.Contains(e, "sagemaker:UpdateModelPackage") || !strings.Contains(e, "explicit deny") {
			t.Errorf("an approval under an explicit Deny: the page says %q", e)
		}
		if got := approvalOf(t, s.server, "abalone", 2); got != "PendingManualApproval|" {
			t.Errorf("after the denied approval: %s", got)
		}
		tab.noErrors()
	})

	t.Run("cross-origin form", func(t *testing.T) {
		// A page of another origin (another port of 127.0.0.1: the same site, so the
		// SameSite=Strict cookie goes along) posts the approval form: without the token, and
		// with the session's real token (as if it leaked), which the Origin check refuses.
		ad.open("/console/registry/abalone")
		csrf := ad.eval(`document.querySelector('input[name=csrf]').value`)
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			form := `<form method="post" action="` + s.url + `/console/registry/abalone/2/status"><input type="hidden" name="status" value="Approved">`
			fmt.Fprintf(w, `<!doctype html><title>prize</title>%s<button id="bare">win</button></form>%s<input type="hidden" name="csrf" value="%s"><button id="leaked">win</button></form>`, form, form, csrf)
		}))
		defer evil.Close()
		ad.allow("/console/registry/abalone/2/status")
		ad.allow("/favicon.ico") // the browser's own request for the plain-text refusal, which has no icon
		for _, button := range []string{"#bare", "#leaked"} {
			ad.do(chromedp.Navigate(evil.URL))
			ad.submit(chromedp.Click(chromedp.CSS(button)))
			if body := ad.text("body"); !strings.Contains(body, "CSRF token is missing or wrong") {
				t.Errorf("the form %s from %s: %q", button, evil.URL, body)
			}
			if got := approvalOf(t, s.server, "abalone", 2); got != "PendingManualApproval|" {
				t.Fatalf("after the form %s from another origin: %s", button, got)
			}
		}
		ad.noErrors()
	})

	t.Run("switch role", func(t *testing.T) {
		ad.open("/console/registry")
		ad.submit(chromedp.Click(chromedp.CSS(`.who a[href="/console/switch"]`)))
		ad.do(chromedp.SendKeys(chromedp.CSS(`input[name=account]`), stAccount),
			chromedp.SendKeys(chromedp.CSS(`input[name=role]`), "OrganizationAccountAccessRole"))
		ad.submit(chromedp.Click(chromedp.CSS(`main form button`)))
		role := "arn:aws:sts::" + stAccount + ":assumed-role/OrganizationAccountAccessRole/console-admin"
		if who, flash := ad.text(".principal"), ad.text(".flash"); who != role || flash != "Now acting as "+role {
			t.Errorf("after switching: acting as %q, flash %q", who, flash)
		}
		// The staging account has no abalone group.
		if strings.Contains(ad.text("main"), "abalone") {
			t.Errorf("the switched-into account lists the data-science account's groups")
		}
		ad.submit(chromedp.Click(chromedp.Search(`//button[text()="Switch back"]`)))
		if who := ad.text(".principal"); who != admin {
			t.Errorf("after switching back: acting as %q", who)
		}
		ad.noErrors()
	})

	var execPath string
	t.Run("live DAG", func(t *testing.T) {
		ad.open("/console/pipelines/wait")
		ad.submit(chromedp.Click(chromedp.Search(`//button[text()="Start an execution"]`)))
		execPath = ad.location()
		id := strings.TrimPrefix(execPath, "/console/pipelines/wait/executions/")
		if id == execPath || id == "" {
			t.Fatalf("after starting: at %s", execPath)
		}
		arn := "arn:aws:sagemaker:us-east-1:" + dsAccount + ":pipeline/wait/execution/" + id
		cb := waitingCallback(t, sm, arn, "Wait")
		ad.waitJS(`document.querySelector('svg.dag [data-state-of="step:Wait"]').getAttribute('data-state') === 'Executing'`, "the Wait node executing")
		if st := ad.eval(`document.querySelector('svg.dag [data-state-of="step:Check"]').getAttribute('data-state') + ' ' + (document.querySelector('[data-live="step:Check"]')?.textContent ?? 'no row')`); st != "NotStarted NotStarted" {
			t.Errorf("Check's node and row while Wait waits: %q", st)
		}
		// Every state's colour is readable: Executing and NotStarted are on the page now.
		for _, scheme := range []string{"light", "dark"} {
			ad.emulate(scheme)
			if bad := ad.eval(chromiumContrastJS); bad != "" {
				t.Errorf("%s mode, a running execution: text below WCAG AA contrast:\n%s", scheme, bad)
			}
		}
		ad.emulate("")
		ad.eval(`window.cbrowserStayed = 'yes'`)
		stroke := ad.eval(`getComputedStyle(document.querySelector('svg.dag [data-state-of="step:Wait"] rect')).stroke`)
		_, err := sm.SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(cb), ClientRequestToken: token()})
		mustDo(t, err)
		ad.waitJS(`document.querySelector('svg.dag [data-state-of="step:Check"]').getAttribute('data-state') === 'Succeeded' &&
			document.querySelector('[data-live=status]').textContent === 'Succeeded'`, "the DAG and the status to show the execution succeeded")
		if ad.eval(`window.cbrowserStayed`) != "yes" {
			t.Errorf("the page reloaded to update")
		}
		if st := ad.eval(`document.querySelector('svg.dag [data-state-of="step:Wait"]').getAttribute('data-state') + ' ' + document.querySelector('[data-live="step:Wait"]').textContent`); st != "Succeeded Succeeded" {
			t.Errorf("Wait's node and row: %q", st)
		}
		if after := ad.eval(`getComputedStyle(document.querySelector('svg.dag [data-state-of="step:Wait"] rect')).stroke`); after == stroke {
			t.Errorf("the Wait node's colour did not change (%s)", after)
		}
		ad.noErrors()
	})

	t.Run("lineage and transitions", func(t *testing.T) {
		if d := waitExecution(t, sm, *build.PipelineExecutionArn, 120*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
			t.Fatalf("the build: %s", d.PipelineExecutionStatus)
		}
		ad.open("/console/registry/traced")
		ad.submit(chromedp.Click(chromedp.CSS(`a[href="/console/registry/traced/1"]`)))
		if got := ad.eval(`[...document.querySelectorAll('[data-lineage]')].map(e => e.getAttribute('data-lineage')).join(',')`); got != "execution,register,training,processing" {
			t.Errorf("the version page's lineage: %q", got)
		}
		ad.open("/console/deployments/model-deploy")
		ad.do(chromedp.SendKeys(chromedp.CSS(`form[action$="/transition"] input[name=reason]`), "freeze"))
		ad.submit(chromedp.KeyEvent(kb.Enter))
		if got := ad.eval(`document.querySelector('[data-transition]').getAttribute('data-transition') + ' ' + document.querySelector('.flash').textContent`); got != "disabled The transition into DeployStaging is disabled" {
			t.Errorf("after disabling from the keyboard: %q", got)
		}
		ad.noErrors()
	})

	t.Run("markup renders inert", func(t *testing.T) { consoleInert(t, s, ad) })

	t.Run("the whole story", func(t *testing.T) { consoleStory(t, br, s, story, ad) })

	t.Run("light and dark", func(t *testing.T) {
		chromiumNeed(t, execPath)
		colors := map[string]string{}
		for _, scheme := range []string{"light", "dark"} {
			ad.emulate(scheme)
			for _, path := range []string{"/console/registry/abalone", execPath, "/console/org", "/console/registry/traced/1", "/console/deployments/model-deploy",
				"/console/deployments/" + story.deploy, "/console/where"} {
				ad.open(path)
				colors[scheme] = ad.eval(`getComputedStyle(document.body).backgroundColor`)
				if bad := ad.eval(chromiumContrastJS); bad != "" {
					t.Errorf("%s mode, %s: text below WCAG AA contrast:\n%s", scheme, path, bad)
				}
			}
		}
		ad.emulate("")
		if colors["light"] == colors["dark"] {
			t.Errorf("light and dark mode share the background %s", colors["light"])
		}
		if l, d := chromiumLuminance(colors["light"]), chromiumLuminance(colors["dark"]); l < 0.8 || d > 0.1 {
			t.Errorf("backgrounds: light %s (%.2f), dark %s (%.2f)", colors["light"], l, colors["dark"], d)
		}
		ad.noErrors()
	})

	t.Run("phone width", func(t *testing.T) {
		chromiumNeed(t, execPath)
		ad.do(chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
		for _, path := range []string{"/console/org", "/console/registry", "/console/registry/abalone", "/console/registry/abalone/compare?a=1&b=2",
			"/console/pipelines", "/console/pipelines/wait", execPath, "/console/endpoints", "/console/deployments", "/console/audit", "/console/switch",
			"/console/registry/traced/1", "/console/deployments/model-deploy", "/console/deployments/" + story.deploy, "/console/where",
			"/console/registry/inert", "/console/registry/inert/compare?a=1&b=2"} {
			ad.open(path)
			if w := ad.eval(`String(document.documentElement.clientWidth)`); w != "375" {
				t.Fatalf("the layout viewport is %s wide", w)
			}
			// A mobile browser zooms out to fit a page wider than the screen: the visual
			// viewport (innerWidth) then grows past 375.
			if wide := ad.eval(chromiumOverflowJS); wide != "" || ad.eval(`String(window.innerWidth)`) != "375" {
				t.Errorf("%s is wider than 375 px: %s", path, wide)
			}
		}
		ad.do(chromedp.ResetViewport())
		ad.noErrors()
	})

	t.Run("sign out", func(t *testing.T) {
		tab := br.tab(t, s.url)
		tab.signIn(ds.AccessKeyID, ds.SecretAccessKey)
		tab.submit(chromedp.Click(chromedp.Search(`//button[text()="Sign out"]`)))
		if p := tab.location(); p != "/console/signin" {
			t.Errorf("after signing out: at %s", p)
		}
		if ck := tab.cookie("slipway_console"); ck != nil {
			t.Errorf("the session cookie is still there: %+v", ck)
		}
		tab.open("/console/org")
		if p := tab.location(); p != "/console/signin?next=%2Fconsole%2Forg" {
			t.Errorf("after signing out, the org page: at %s", p)
		}
		tab.noErrors()
	})

	// Last, as it moves the server's clock: a session idle for 31 minutes ends, and an open
	// page that polls finds out by itself (its live JSON answers 401) and goes to the sign-in
	// page, which leads back to it.
	t.Run("idle timeout", func(t *testing.T) {
		chromiumNeed(t, execPath)
		ad.open(execPath)
		ad.eval(`window.cbrowserStayed = 'yes'`)
		s.advance(31 * time.Minute)
		ad.waitJS(`location.pathname === '/console/signin'`, "the idle page to go to the sign-in page")
		if p := ad.location(); p != "/console/signin?next="+url.QueryEscape(execPath) {
			t.Errorf("after the idle timeout: at %s", p)
		}
		ad.allow(execPath + "/live") // the poll that found the session ended
		ad.noErrors()
	})
}

// chromiumNeed stops a subtest that needs the live DAG's execution when there is none.
func chromiumNeed(t *testing.T, execPath string) {
	if execPath == "" {
		t.Fatal("the live DAG subtest made no execution to look at")
	}
}

// chromiumPath is Debian's Chromium (scripts/test.sh installs it). The browser tests need it:
// without it they fail, as every test's prerequisite does.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium to run the console's browser tests: apt-get install chromium (scripts/test.sh installs it)")
	return ""
}

// chromiumBrowser is one headless Chromium for a test, in a temporary profile.
type chromiumBrowser struct {
	ctx   context.Context
	exe   string
	ready chan error // the browser's start, then closed
}

// chromiumStart starts the browser; its first tab waits for it.
func chromiumStart(t *testing.T, exe string) *chromiumBrowser {
	dir, err := os.MkdirTemp("", "slipway-chromium-")
	mustDo(t, err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.UserDataDir(dir),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		for i := 0; i < 50 && os.RemoveAll(dir) != nil; i++ { // the browser's children may still write a moment
			time.Sleep(100 * time.Millisecond)
		}
	})
	b := &chromiumBrowser{ctx: bctx, exe: exe, ready: make(chan error, 1)}
	// The first action on a chromedp context starts what it stands for (here the browser),
	// which lives as long as that action's context: so no deadline on it, and the wait for
	// it is bounded where it is awaited.
	go func() { b.ready <- chromedp.Do(bctx); close(b.ready) }()
	return b
}

// chromiumAwait waits for a chromedp context's first action, at most a minute.
func chromiumAwait(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no answer in 60 s", what)
	}
}

// chromiumTab is a tab in a browser context of its own (its own cookies): one user.
type chromiumTab struct {
	t       *testing.T
	base    string
	ctx     context.Context
	mu      sync.Mutex
	msgs    []chromedp.ConsoleMessage
	allowed map[string]bool // URL paths that the test expects to be refused
}

// chromiumStep bounds each step of a tab.
const chromiumStep = 20 * time.Second

func (b *chromiumBrowser) tab(t *testing.T, base string) *chromiumTab {
	t.Helper()
	chromiumAwait(t, b.ready, "starting "+b.exe)
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tab := &chromiumTab{t: t, base: base, ctx: ctx, allowed: map[string]bool{}}
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx) }()
	chromiumAwait(t, opened, "a new tab")
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tab.mu.Lock()
			tab.msgs = append(tab.msgs, m)
			tab.mu.Unlock()
		}
	}()
	return tab
}

func (tab *chromiumTab) do(steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, chromiumStep)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tab.t.Fatalf("in the browser, at %s: %v", tab.location(), err)
	}
}

// eval evaluates a script in the page and returns its value as a string ("" for none).
func (tab *chromiumTab) eval(js string) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, chromiumStep)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
	if err != nil {
		tab.t.Fatalf("evaluating %s: %v", js, err)
	}
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// location is the page's path and query.
func (tab *chromiumTab) location() string {
	ctx, cancel := context.WithTimeout(tab.ctx, chromiumStep)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return v
}

// text is the trimmed text of the first element a selector matches, "" when none does.
func (tab *chromiumTab) text(sel string) string {
	tab.t.Helper()
	return tab.eval(`(document.querySelector(` + strconv.Quote(sel) + `)?.textContent ?? '').trim()`)
}

// open loads a page of the console.
func (tab *chromiumTab) open(path string) {
	tab.t.Helper()
	tab.do(chromedp.Navigate(tab.base + path))
}

// submit runs an action that leaves the page (a click, a key) and waits for the next page
// to have loaded.
func (tab *chromiumTab) submit(a chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	tab.eval(`window.cbrowserLeaving = true`)
	tab.do(a)
	tab.waitJS(`window.cbrowserLeaving === undefined && document.readyState === 'complete'`, "the next page")
}

// waitJS waits until a script is true in the page (errors, as while a page loads, are false).
func (tab *chromiumTab) waitJS(js, what string) {
	tab.t.Helper()
	if !tab.waitWithin(js, chromiumStep, 50*time.Millisecond) {
		tab.t.Fatalf("waited %v for %s, at %s", chromiumStep, what, tab.location())
	}
}

// waitWithin evaluates js every poll until it is true, answering false if it is not within limit.
func (tab *chromiumTab) waitWithin(js string, limit, poll time.Duration) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(poll) {
		ctx, cancel := context.WithTimeout(tab.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+js+`) } catch (e) { return false } })()`))
		cancel()
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func (tab *chromiumTab) signIn(keyID, secret string) {
	tab.t.Helper()
	tab.open("/console/signin")
	tab.do(chromedp.SendKeys(chromedp.CSS(`input[name=access_key_id]`), keyID),
		chromedp.SendKeys(chromedp.CSS(`input[name=secret_access_key]`), secret))
	tab.submit(chromedp.Click(chromedp.CSS(`form button`)))
	if p := tab.location(); p != "/console/registry" && p != "/console/" {
		tab.t.Fatalf("signing in as %s: at %s: %s", keyID, p, tab.text(".error"))
	}
}

// cookie is the browser's cookie of the console by that name, nil when there is none.
func (tab *chromiumTab) cookie(name string) *network.Cookie {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, chromiumStep)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tab.base + "/console/"}})
	if err != nil {
		tab.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// emulate sets prefers-color-scheme ("" for the browser's own).
func (tab *chromiumTab) emulate(scheme string) {
	tab.t.Helper()
	p := emulation.SetEmulatedMediaParams{}
	if scheme != "" {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	ctx, cancel := context.WithTimeout(tab.ctx, chromiumStep)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, p); err != nil {
		tab.t.Fatal(err)
	}
}

// allow lets a document at this path log its refusal (401, 403) on the console.
func (tab *chromiumTab) allow(path string) {
	tab.mu.Lock()
	tab.allowed[path] = true
	tab.mu.Unlock()
}

var chromiumRefusal = regexp.MustCompile(`status of 40[13] `)

// noErrors fails the test for every error, exception or CSP violation the tab's pages logged
// since the last call, but for the refusals the test expects.
func (tab *chromiumTab) noErrors() {
	tab.t.Helper()
	time.Sleep(100 * time.Millisecond) // the last events arrive
	tab.mu.Lock()
	msgs := tab.msgs
	tab.msgs = nil
	tab.mu.Unlock()
	for _, m := range msgs {
		// Errors and exceptions; warnings only from the page's own console calls (the
		// browser's own warnings change with its version).
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException && (m.Type != chromedp.ConsoleWarning || m.Source != "") {
			continue
		}
		if m.Source == "network" && chromiumRefusal.MatchString(m.Text) {
			if u, err := url.Parse(m.URL); err == nil && tab.allowed[u.Path] {
				continue
			}
		}
		tab.t.Errorf("the browser's console: %s (%s %s:%d)", m, m.Source, m.URL, m.Line)
	}
}

// chromiumContrastJS lists the page's visible text whose colour on its background is below
// WCAG 2's AA contrast (4.5:1, or 3:1 for large text), one per line.
const chromiumContrastJS = `(() => {
  const rgb = s => { const m = /rgba?\(([^)]+)\)/.exec(s); if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bgOf = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; }
    return { r: 255, g: 255, b: 255, a: 1 }; };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || !(el.checkVisibility && el.checkVisibility())) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const r = el.getBoundingClientRect(); if (r.width < 2 || r.height < 2 || r.right < 0) continue;
    const cs = getComputedStyle(el), fg = rgb(cs.color); if (!fg) continue;
    const l1 = lum(fg), l2 = lum(bgOf(el)), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + JSON.stringify(el.textContent.trim().slice(0, 40)) +
      ': ' + cs.color + ' on ' + getComputedStyle(document.body).backgroundColor + ' = ' + ratio.toFixed(2) + ' < ' + need);
  }
  return out.join('\n');
})()`

// chromiumOverflowJS is "" when the page is no wider than the viewport; otherwise the page's
// width and the elements that stick out (not those inside a box that scrolls sideways).
const chromiumOverflowJS = `(() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w) return '';
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= w + 1 || r.width === 0) continue;
    // A box that scrolls sideways holds what is inside it, but for absolutely positioned
    // elements whose containing block is outside it.
    let scrolled = getComputedStyle(el).position === 'absolute' || getComputedStyle(el).position === 'fixed' ? null : false;
    if (scrolled === null) { out.push(el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className : '') + ' (absolute) ' + Math.round(r.left) + '..' + Math.round(r.right)); continue; }
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o !== 'visible') { scrolled = true; break; } }
    if (!scrolled) out.push(el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    if (out.length === 5) break;
  }
  return 'page ' + document.documentElement.scrollWidth + ' px: ' + out.join(', ');
})()`

// chromiumLuminance is the relative luminance of a CSS rgb() colour, -1 when it is not one.
func chromiumLuminance(css string) float64 {
	m := regexp.MustCompile(`rgba?\((\d+), (\d+), (\d+)`).FindStringSubmatch(css)
	if m == nil {
		return -1
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseFloat(m[i+1], 64)
		v /= 255
		if v <= 0.03928 {
			v /= 12.92
		} else {
			v = math.Pow((v+0.055)/1.055, 2.4)
		}
		l += w * v
	}
	return l
}
