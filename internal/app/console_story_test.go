package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/chromedp/chromedp"
)

// cstoryShots is where a subtest's screenshots go: $SLIPWAY_TEST_ARTIFACTS/<test> when that
// is set, else the test's artifact directory (kept with go test -artifacts -outputdir DIR).
func cstoryShots(t *testing.T) string {
	dir := t.ArtifactDir()
	if base := os.Getenv("SLIPWAY_TEST_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		mustDo(t, os.MkdirAll(dir, 0o755))
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// shot saves a screenshot of the whole page as dir/name.png.
func (tab *chromiumTab) shot(dir, name string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, chromiumStep)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tab.t.Fatalf("screenshot %s: %v", name, err)
	}
	mustDo(tab.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// waitLong is waitJS for what takes a deploy's while: up to a minute.
func (tab *chromiumTab) waitLong(js, what string) {
	tab.t.Helper()
	if !tab.waitWithin(js, time.Minute, 100*time.Millisecond) {
		tab.t.Fatalf("waited a minute for %s, at %s: %s", what, tab.location(), tab.text("main"))
	}
}

// cstoryStates is the deployment page's stages and their states, as its live poll keeps them.
const cstoryStates = `[...document.querySelectorAll('[data-state-of^="stage:"]')].map(e => e.getAttribute('data-state-of').slice(6) + '=' + e.getAttribute('data-state')).join(' ')`

// consoleStory is the story in the browser, on a project of the built-in template
// multi-account-deployment (dprojOn: two staging accounts and a production account). A data
// scientist approves the registered version in the registry and watches, without reloading,
// the deploy pipeline deploy it to staging, test it there and wait for the production
// approval; the data scientist's own Approve of that is refused with its reason and changes
// nothing; the operator approves it and watches production deploy; the production endpoint
// serves, and the admin sees it serve the version: in "which version is where", and on the
// endpoint's page in the production account (switched into), with the invocations just made.
// Each step leaves a screenshot.
func consoleStory(t *testing.T, br *chromiumBrowser, s *consoleServer, e *dprojEnv, ad *chromiumTab) {
	e.t = t
	ctx := context.Background()
	shots := cstoryShots(t)
	dsAccount, prodAccount := s.account["data-science"], e.acct["production"]
	deployPage := "/console/deployments/" + e.deploy
	// The version as the model-build pipeline registers it, with its evaluation report.
	_, err := e.ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &e.bucket, Key: aws.String("model-build/x1/evaluation/evaluation.json"),
		Body: strings.NewReader(`{"regression_metrics":{"mse":{"value":0.0},"r2":{"value":1.0}}}`)})
	mustDo(t, err)
	version := e.register()
	before := len(e.executions())

	scKey, scSecret := newUser(t, s.server, "scientist", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["sagemaker:Describe*","sagemaker:List*","sagemaker:UpdateModelPackage","s3:GetObject","s3:ListBucket","codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`)
	opKey, opSecret := newUser(t, s.server, "operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*"],"Resource":"*"},
		{"Effect":"Allow","Action":["codepipeline:Get*","codepipeline:List*","codepipeline:PutApprovalResult"],"Resource":"arn:aws:codepipeline:us-east-1:`+dsAccount+`:`+e.deploy+`*"}]}`)

	sc := br.tab(t, s.url)
	sc.signIn(scKey, scSecret)
	sc.submit(chromedp.Click(chromedp.CSS(`a[href="/console/registry/` + e.project + `"]`)))
	if st := sc.text(`tbody tr:first-child .status`); st != "PendingManualApproval" {
		t.Fatalf("the registered version is shown %q", st)
	}
	if got := sc.eval(`[...document.querySelectorAll('figcaption')].map(f => f.textContent).join(',')`); got != "mse,r2" {
		t.Errorf("the group's metric charts: %q (%s)", got, sc.text(".warn"))
	}
	sc.shot(shots, "1-registry-pending")
	form := `form[action="/console/registry/` + e.project + `/1/status"]`
	sc.do(chromedp.SendKeys(chromedp.CSS(form+` input[name=comment]`), "mse 0 on held-out rows"))
	sc.submit(chromedp.Click(chromedp.CSS(form + ` button[value=Approved]`)))
	if got := approvalOf(t, s.server, e.project, 1); got != "Approved|mse 0 on held-out rows" {
		t.Fatalf("after the scientist's Approve: %s", got)
	}
	if st := sc.text(`tbody tr:first-child .status`); st != "Approved" {
		t.Errorf("the page shows the version %q after approving it", st)
	}
	sc.shot(shots, "2-registry-approved")

	// The deployment page follows the execution the approval started, in place.
	sc.open(deployPage)
	sc.eval(`window.cstoryStayed = 'yes'`)
	sc.waitLong(`document.querySelector('[data-state-of="stage:TestStaging"]').getAttribute('data-state') === 'Succeeded' &&
		document.querySelector('[data-state-of="stage:ApproveDeployment"]').getAttribute('data-state') === 'InProgress'`, "staging deployed and tested, production waiting")
	if got := sc.eval(cstoryStates); got != "Source=Succeeded Build=Succeeded DeployStaging=Succeeded TestStaging=Succeeded ApproveDeployment=InProgress DeployProd=NotStarted" {
		t.Errorf("while production waits, the stages are %q", got)
	}
	if sc.eval(`window.cstoryStayed`) != "yes" {
		t.Errorf("the deployment page reloaded to update")
	}
	if n := len(e.executions()); n != before+1 {
		t.Errorf("the approval started %d executions, want 1", n-before)
	}
	for _, acct := range []string{"staging", "staging-2"} {
		if got := e.served("staging", acct); got != version {
			t.Errorf("staging account %s serves %q, want %s", acct, got, version)
		}
	}
	sc.shot(shots, "3-staging-deployed")

	// The approval's form appeared on the page without a reload; the data scientist may not
	// approve production.
	sc.waitLong(`!!document.querySelector('form[action$="/approval"] h2')`, "the approval form appears live")
	if sc.eval(`window.cstoryStayed`) != "yes" {
		t.Errorf("the deployment page reloaded to show the approval form")
	}
	if h := sc.text(`form[action$="/approval"] h2`); h != "Waiting for approval: ApproveDeployment / ApproveDeployment" {
		t.Fatalf("the deployment page's approval: %q", h)
	}
	sc.allow(deployPage + "/approval")
	sc.do(chromedp.SendKeys(chromedp.CSS(`form[action$="/approval"] textarea[name=summary]`), "ship it"))
	sc.submit(chromedp.Click(chromedp.CSS(`form[action$="/approval"] button[value=Approved]`)))
	if msg := sc.text(`.error[role=alert]`); !strings.HasPrefix(msg, "AccessDenied: ") || !strings.Contains(msg, "codepipeline:PutApprovalResult") {
		t.Errorf("the data scientist's production approval: the page says %q", msg)
	}
	sc.shot(shots, "4-scientist-refused")
	id := aws.ToString(e.executions()[0].PipelineExecutionId)
	waitApproval(t, e.cp, e.deploy, "ApproveDeployment", "ApproveDeployment", id) // still waiting
	if got := e.served("prod", "production"); got != "" {
		t.Fatalf("production serves %s after a refused approval", got)
	}
	sc.noErrors()

	// The operator approves, and watches production deploy.
	op := br.tab(t, s.url)
	op.signIn(opKey, opSecret)
	op.open(deployPage)
	op.do(chromedp.SendKeys(chromedp.CSS(`form[action$="/approval"] textarea[name=summary]`), "staging <b>tested</b>"))
	op.shot(shots, "5-operator-approves")
	op.submit(chromedp.Click(chromedp.CSS(`form[action$="/approval"] button[value=Approved]`)))
	if msg := op.text(".error"); msg != "" {
		t.Fatalf("the operator's approval: %s", msg)
	}
	op.eval(`window.cstoryStayed = 'yes'`)
	op.waitLong(`document.querySelector('[data-state-of="stage:DeployProd"]').getAttribute('data-state') === 'Succeeded'`, "production deployed")
	if op.eval(`window.cstoryStayed`) != "yes" {
		t.Errorf("the deployment page reloaded to update")
	}
	op.open(deployPage)
	operator := "arn:aws:iam::" + dsAccount + ":user/operator"
	if got := op.eval(`[...document.querySelectorAll('tr')].filter(r => r.textContent.includes('` + operator + `')).map(r => r.children[2].textContent + ' ' + r.children[4].textContent).join('|')`); got != "Approved staging <b>tested</b>" {
		t.Errorf("the approval history's row of the operator: %q", got)
	}
	if op.eval(`String(!!document.querySelector('form[action$="/approval"]'))`) != "false" {
		t.Errorf("the approval is still offered after the operator's decision")
	}
	op.shot(shots, "6-production-deployed")
	op.noErrors()

	// The production endpoint serves the version: three invocations as its clients make them.
	for i := 0; i < 3; i++ {
		out, err := e.in["production"].rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(e.project + "-prod"),
			ContentType: aws.String("text/csv"), Body: []byte("1," + strconv.Itoa(i))})
		mustDo(t, err)
		if got, want := strings.TrimSpace(string(out.Body)), strconv.Itoa(2+2*i); got != want && got != want+".0" {
			t.Errorf("the production endpoint answers %q to 1,%d, want %s", got, i, want)
		}
	}
	if got := e.served("prod", "production"); got != version {
		t.Errorf("production serves %q, want %s", got, version)
	}
	ad.open("/console/where")
	cell := func(account string) string {
		return ad.eval(`(() => { const i = [...document.querySelectorAll('table.where thead th')].findIndex(h => h.getAttribute('data-account') === '` + account + `');
			const r = [...document.querySelectorAll('table.where tbody tr')].find(r => r.querySelector('th').textContent === '` + e.project + `');
			return r && i > 0 ? r.children[i].textContent.replace(/\s+/g, ' ').trim() : 'no cell' })()`)
	}
	for stage, acct := range map[string]string{"prod": "production", "staging": "staging", "staging-2": "staging-2"} {
		ep := e.project + "-" + strings.TrimSuffix(stage, "-2")
		if got := cell(e.acct[acct]); !strings.HasPrefix(got, "v1 on "+ep+"/AllTraffic InService") {
			t.Errorf("which version is where, %s: %q", acct, got)
		}
	}
	ad.shot(shots, "7-where")
	ad.open("/console/switch")
	ad.do(chromedp.SendKeys(chromedp.CSS(`input[name=account]`), prodAccount),
		chromedp.SendKeys(chromedp.CSS(`input[name=role]`), "OrganizationAccountAccessRole"))
	ad.submit(chromedp.Click(chromedp.CSS(`main form button`)))
	ad.open("/console/endpoints/" + e.project + "-prod")
	if got := ad.text(`[data-live=status]`) + " " + ad.text(`[data-live="invocations:AllTraffic"]`) + " " + ad.text(`[data-live="5xx:AllTraffic"]`); got != "InService 3 0" {
		t.Errorf("the production endpoint's page: status, invocations, 5xx: %q", got)
	}
	ad.shot(shots, "8-production-endpoint")
	ad.submit(chromedp.Click(chromedp.Search(`//button[text()="Switch back"]`)))
	ad.noErrors()
	sc.noErrors()
	// The other users' pages stop polling.
	sc.do(chromedp.Navigate("about:blank"))
	op.do(chromedp.Navigate("about:blank"))
}

// consoleInert puts markup and script in every kind of name and text the console shows that
// its owner chooses — a group's and a version's description, a metric's name in a metrics
// report, an approval comment typed in the console, a pipeline's description, a parameter's
// value, a Fail step's message, an audit search's words — and checks in the browser that
// none of it runs (the payloads set window.cstoryXSS), none of it becomes an element, and
// each is shown as the text it is. The registry's compare view and its metric charts are
// reached through their forms and links on the way.
func consoleInert(t *testing.T, s *consoleServer, ad *chromiumTab) {
	ctx := context.Background()
	dsAccount := s.account["data-science"]
	sm := sagemaker.NewFromConfig(s.cfg("data-science"))
	s3c := clientsOf(s.cfg("data-science")).s3
	const (
		inGroup     = `<script>window.cstoryXSS='group'</script>`
		inVersion   = `"><img src=x onerror="window.cstoryXSS='version'">`
		inMetric    = `<img src=x onerror=window.cstoryXSS='metric'>`
		inComment   = `</td><script>window.cstoryXSS='comment'</script>`
		inPipeline  = `<svg onload="window.cstoryXSS='pipeline'"></svg>`
		inParameter = `<iframe srcdoc="<script>parent.cstoryXSS='parameter'</script>"></iframe>`
		inFailure   = `<script>window.cstoryXSS='failure'</script>`
		inSearch    = `"><script>window.cstoryXSS='search'</script>`
	)
	bucket := "metrics-" + dsAccount // registryWith's
	_, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("inert"), ModelPackageGroupDescription: aws.String(inGroup)})
	mustDo(t, err)
	metricKey, _ := json.Marshal(inMetric)
	for i, v := range []string{"1.5", "2.5"} {
		key := "inert/" + strconv.Itoa(i) + ".json"
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader([]byte(`{"regression_metrics":{` + string(metricKey) + `:{"value":` + v + `}}}`))})
		mustDo(t, err)
		_, err = sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("inert"), ModelPackageDescription: aws.String(inVersion),
			ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval,
			InferenceSpecification: &smtypes.InferenceSpecification{Containers: []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost")}},
				SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}},
			ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{ContentType: aws.String("application/json"),
				S3Uri: aws.String("s3://" + bucket + "/" + key)}}}})
		mustDo(t, err)
	}
	param, _ := json.Marshal(inParameter)
	failure, _ := json.Marshal(inFailure)
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("inert"), PipelineDescription: aws.String(inPipeline),
		RoleArn: aws.String("arn:aws:iam::" + dsAccount + ":role/pipelines"), ClientRequestToken: token(),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Parameters":[{"Name":"Note","Type":"String","DefaultValue":` + string(param) + `}],
"Steps":[{"Name":"Stop","Type":"Fail","Arguments":{"ErrorMessage":` + string(failure) + `}}]}`)})
	mustDo(t, err)
	x, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("inert"), ClientRequestToken: token(),
		PipelineParameters: []smtypes.Parameter{{Name: aws.String("Note"), Value: aws.String(inParameter)}}})
	mustDo(t, err)
	if d := waitExecution(t, sm, *x.PipelineExecutionArn, 60*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed {
		t.Fatalf("the pipeline of payloads: %s", d.PipelineExecutionStatus)
	}
	execPath := "/console/pipelines/inert/executions/" + (*x.PipelineExecutionArn)[strings.LastIndex(*x.PipelineExecutionArn, "/")+1:]

	// inert fails the test when a payload ran or became an element, or when one it names is
	// not on the page as text.
	inert := func(path string, shown ...string) {
		t.Helper()
		if got := ad.eval(`(() => { const bad = [];
			if (window.cstoryXSS !== undefined) bad.push('ran: ' + window.cstoryXSS);
			for (const e of document.querySelectorAll('script:not([src]), iframe, img, [onerror], [onload]')) bad.push('element: ' + e.outerHTML.slice(0, 80));
			return bad.join('; ') })()`); got != "" {
			t.Errorf("%s: %s", path, got)
		}
		text := ad.eval(`document.body.textContent`)
		for _, want := range shown {
			if !strings.Contains(text, want) {
				t.Errorf("%s does not show %q as text", path, want)
			}
		}
	}
	ad.open("/console/registry")
	inert("the registry page", inGroup)
	ad.open("/console/registry/inert")
	inert("the group page", inGroup, inVersion, inMetric)
	// The chart of the metric across the two versions: its caption the metric's name, a point a version.
	if got := ad.eval(`[...document.querySelectorAll('figure')].map(f => f.querySelector('figcaption').textContent + ':' + f.querySelectorAll('svg.chart circle').length).join(',')`); got != inMetric+":2" {
		t.Errorf("the group's metric chart: %q", got)
	}
	form := `form[action="/console/registry/inert/1/status"]`
	ad.do(chromedp.SendKeys(chromedp.CSS(form+` input[name=comment]`), inComment))
	ad.submit(chromedp.Click(chromedp.CSS(form + ` button[value=Rejected]`)))
	if got := approvalOf(t, s.server, "inert", 1); got != "Rejected|"+inComment {
		t.Errorf("after rejecting with the comment: %s", got)
	}
	inert("the group page after the comment", inComment, inVersion)
	// Compare, through the group page's form: side by side, the differing rows marked.
	ad.do(chromedp.SendKeys(chromedp.CSS(`input[name=a]`), "1"), chromedp.SendKeys(chromedp.CSS(`input[name=b]`), "2"))
	ad.submit(chromedp.Click(chromedp.Search(`//button[text()="Compare"]`)))
	if p := ad.location(); p != "/console/registry/inert/compare?a=1&b=2" {
		t.Fatalf("the compare form led to %s", p)
	}
	inert("the compare page", inComment, inVersion, "metric "+inMetric)
	rows := ad.eval(`[...document.querySelectorAll('table.compare tbody tr')].filter(r => ['Approval status', 'Description', 'metric ` + strings.ReplaceAll(inMetric, `'`, `\'`) + `'].includes(r.querySelector('th').textContent))
		.map(r => r.querySelector('th').textContent.slice(0, 6) + '=' + [...r.querySelectorAll('td')].map(d => d.textContent.slice(0, 8)).join('/') + (r.classList.contains('diff') ? '*' : '')).join(' ')`)
	if rows != `Approv=Rejected/PendingM* Descri="><img s/"><img s metric=1.5/2.5*` {
		t.Errorf("compare's rows: %s", rows)
	}
	ad.open("/console/registry/inert/1")
	inert("the version page", inVersion)
	ad.open("/console/pipelines")
	inert("the pipelines page", inPipeline)
	ad.open(execPath)
	inert("the execution page", inParameter, inFailure)
	ad.open(execPath + "/steps/Stop")
	inert("the step page", inFailure)
	ad.open("/console/audit?principal=" + strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B").Replace(inSearch))
	inert("the audit search")
	if got := ad.eval(`document.querySelector('input[name=principal]')?.value ?? 'no field'`); got != inSearch {
		t.Errorf("the audit search's principal field holds %q", got)
	}
	ad.noErrors()
}
