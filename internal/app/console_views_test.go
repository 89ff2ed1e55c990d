package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// TestConsoleStepLogsAndExplain: a job step's page shows its job's log lines (escaped), and
// its live JSON carries them as text; the explain page names the argument that made the
// cache miss; a bad lines= is refused; a reader without logs permissions sees the step and the
// logs' AccessDenied reason; a principal without permissions sees the step's refusal.
func TestConsoleStepLogsAndExplain(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	ds := s.profile["data-science"]
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	sm := e.admin.sm
	role := e.pipelineRole("console-steps")
	def := `{"Version":"2020-12-01","Parameters":[{"Name":"Word","Type":"String","DefaultValue":"a"}],
"Steps":[{"Name":"Work","Type":"Processing","CacheConfig":{"Enabled":true,"ExpireAfter":"PT1H"},
 "Arguments":{"RoleArn":"` + role + `",
  "AppSpecification":{"ImageUri":"` + sklearnImage + `","ContainerEntrypoint":["python3","-c","import os; print('<script>alert(1)</script> word=' + os.environ['WORD'])"]},
  "Environment":{"WORD":{"Get":"Parameters.Word"}},
  "ProcessingResources":{"ClusterConfig":{"InstanceCount":1,"InstanceType":"ml.m5.large","VolumeSizeInGB":1}}}}]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("logged"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	run := func(word string) string {
		t.Helper()
		out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("logged"), ClientRequestToken: token(),
			PipelineParameters: []smtypes.Parameter{{Name: aws.String("Word"), Value: aws.String(word)}}})
		e.must(err)
		if d := waitExecution(t, sm, *out.PipelineExecutionArn, 90*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s", *out.PipelineExecutionArn, d.PipelineExecutionStatus)
		}
		return (*out.PipelineExecutionArn)[strings.LastIndexByte(*out.PipelineExecutionArn, '/')+1:]
	}
	run("a")
	second := run("b")
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	stepPath := "/console/pipelines/logged/executions/" + second + "/steps/Work"
	if p := b.get("/console/pipelines/logged/executions/" + second); !strings.Contains(p.body, `href="`+stepPath+`"`) ||
		!strings.Contains(p.body, `<a href="`+stepPath+`"><g class="node"`) {
		t.Errorf("the execution page does not link its step:\n%s", p.body)
	}
	var p page
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p = b.get(stepPath)
		if strings.Contains(p.body, "word=b") || time.Now().After(deadline) {
			break
		}
	}
	if p.status != http.StatusOK || !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt; word=b") || strings.Contains(p.body, "<script>alert") {
		t.Errorf("step page: %d, want the log line escaped:\n%s", p.status, p.body)
	}
	for _, want := range []string{"/aws/sagemaker/ProcessingJobs", `data-poll="` + stepPath + `/live?lines=200"`, `class="logs follow"`, stepPath + "/explain", "miss"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("step page lacks %q", want)
		}
	}
	if live := b.get(stepPath + "/live"); live.status != http.StatusOK || !strings.Contains(live.body, `\u003cscript\u003ealert(1)\u003c/script\u003e word=b`) ||
		!strings.Contains(live.body, `"status":"Succeeded"`) {
		t.Errorf("step live: %d %s", live.status, live.body)
	}
	if p := b.get(stepPath + "?lines=0"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "ValidationException") {
		t.Errorf("lines=0: %d", p.status)
	}
	if p := b.get("/console/pipelines/logged/executions/" + second + "/steps/Nope"); p.status != http.StatusNotFound {
		t.Errorf("a step that does not exist: %d", p.status)
	}
	p = b.get(stepPath + "/explain")
	for _, want := range []string{`data-explain="miss"`, "<code>$.Environment.WORD</code>", "<pre>&#34;a&#34;</pre>", "<pre>&#34;b&#34;</pre>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("explain page lacks %q:\n%s", want, p.body)
		}
	}

	// A reader of pipelines without logs permissions: the step, and the logs' refusal.
	keyID, secret := newUser(t, s.server, "piperead", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*"],"Resource":"*"}]}`)
	rd := signedIn(t, s.server, keyID, secret)
	if p := rd.get(stepPath); p.status != http.StatusOK || !strings.Contains(p.body, "AccessDenied") || !strings.Contains(p.body, "logs:DescribeLogStreams") ||
		strings.Contains(p.body, "word=b") {
		t.Errorf("the reader's step page: %d\n%s", p.status, p.body)
	}
	keyID, secret = newUser(t, s.server, "nobody", "")
	nb := signedIn(t, s.server, keyID, secret)
	for _, path := range []string{stepPath, stepPath + "/explain", stepPath + "/live"} {
		if p := nb.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "sagemaker:DescribePipelineExecution") || strings.Contains(p.body, "word=b") {
			t.Errorf("%s without permissions: %d\n%s", path, p.status, p.body)
		}
	}
	// The logs' reads are in the audit trail, as the admin.
	if p := b.get("/console/audit?action=GetLogEvents&principal=user/admin"); !strings.Contains(p.body, "<td>logs:GetLogEvents</td>") {
		t.Errorf("the log reads are not audited:\n%s", p.body)
	}
}

// TestConsoleEndpointChartsAndCapture: an endpoint's page charts its invocations and errors
// and shows its newest captured invocations, payloads escaped; bad query parameters are
// refused; a principal without cloudwatch or s3 permissions sees the reasons.
func TestConsoleEndpointChartsAndCapture(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	ds := s.profile["data-science"]
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	e.servingArtifact()
	_, err := e.admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("console-capture")})
	e.must(err)
	_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("authz-serving"), PolicyName: aws.String("capture"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::console-capture/*"}]}`)})
	e.must(err)
	name := e.captureEndpoint(captureConfig("s3://console-capture/dc", 100, smtypes.CaptureModeInput, smtypes.CaptureModeOutput))
	// A capture record with markup in it, as anything writing to the destination could leave.
	_, err = e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("console-capture"), Key: aws.String("dc/" + name + "/AllTraffic/2020/01/01/00/old.jsonl"),
		Body: strings.NewReader(`{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"<img src=x onerror=alert(1)>","encoding":"CSV"}},"eventMetadata":{"eventId":"e","inferenceTime":"2020-01-01T00:00:00.000Z"},"eventVersion":"0"}` + "\n")})
	e.must(err)
	for i := range 3 {
		_, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"),
			Body: fmt.Appendf(nil, "%d,1\n", i), InferenceId: aws.String(fmt.Sprintf("inf-%d", i))})
		e.must(err)
	}
	if _, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"),
		Body: []byte("not,numbers\n")}); err == nil {
		t.Fatal("a bad payload was answered")
	}
	s.app.FlushDataCapture()

	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	p := b.get("/console/endpoints/" + name)
	if p.status != http.StatusOK {
		t.Fatalf("endpoint page: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{`data-variant-metrics="AllTraffic"`, `>4</span> invocations`, `<svg class="series"`, "Model latency", "s3://console-capture/dc",
		"<pre>2,1\n</pre>", "inf-2", "&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("endpoint page lacks %q", want)
		}
	}
	if live := b.get("/console/endpoints/" + name + "/live?minutes=60"); !strings.Contains(live.body, `"invocations:AllTraffic":"4"`) {
		t.Errorf("endpoint live lacks the window's invocations: %s", live.body)
	}
	if !strings.Contains(p.body, `data-poll="/console/endpoints/`+name+`/live?minutes=60"`) {
		t.Errorf("the endpoint page does not poll its window's totals")
	}
	if !strings.Contains(p.body, `>1</span> 4xx`) && !strings.Contains(p.body, `>1</span> 5xx`) {
		t.Errorf("the failed invocation is not counted as an error")
	}
	if strings.Contains(p.body, "<img src=x") {
		t.Errorf("a captured payload's markup is not escaped")
	}
	if strings.Index(p.body, "inf-2") > strings.Index(p.body, "inf-0") {
		t.Errorf("the samples are not newest first")
	}
	if p := b.get("/console/endpoints/" + name + "?samples=1"); strings.Contains(p.body, "inf-1") || !strings.Contains(p.body, "inf-2") {
		t.Errorf("samples=1 does not show only the newest")
	}
	for _, q := range []string{"minutes=1", "minutes=x", "samples=51", "samples=-1"} {
		if p := b.get("/console/endpoints/" + name + "?" + q); p.status != http.StatusBadRequest || !strings.Contains(p.body, "ValidationException") {
			t.Errorf("%s: %d", q, p.status)
		}
	}
	// A reader of SageMaker only: the endpoint, and the reasons for the charts and samples.
	keyID, secret := newUser(t, s.server, "epread", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*"],"Resource":"*"}]}`)
	rd := signedIn(t, s.server, keyID, secret)
	p = rd.get("/console/endpoints/" + name)
	if p.status != http.StatusOK || !strings.Contains(p.body, "cloudwatch:GetMetricData") || !strings.Contains(p.body, "s3:ListBucket") || strings.Contains(p.body, "inf-2") ||
		strings.Contains(p.body, `<svg class="series"`) {
		t.Errorf("the reader's endpoint page: %d\n%s", p.status, p.body)
	}
	// The charts read CloudWatch's metrics as the principal: an explicit Deny of
	// GetMetricData wins over an Allow of everything, and the live totals are left out too.
	keyID, secret = newUser(t, s.server, "nocharts", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"cloudwatch:GetMetricData","Resource":"*"}]}`)
	nc := signedIn(t, s.server, keyID, secret)
	p = nc.get("/console/endpoints/" + name)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-problem="metrics"`) || !strings.Contains(p.body, "explicit deny") || strings.Contains(p.body, `<svg class="series"`) ||
		!strings.Contains(p.body, "inf-2") {
		t.Errorf("the endpoint page under a Deny of GetMetricData: %d\n%s", p.status, p.body)
	}
	if live := nc.get("/console/endpoints/" + name + "/live?minutes=60"); live.status != http.StatusOK || strings.Contains(live.body, "invocations:") {
		t.Errorf("endpoint live under a Deny of GetMetricData: %d %s", live.status, live.body)
	}
	keyID, secret = newUser(t, s.server, "nobody", "")
	if p := signedIn(t, s.server, keyID, secret).get("/console/endpoints/" + name); p.status != http.StatusForbidden || !strings.Contains(p.body, "sagemaker:DescribeEndpoint") {
		t.Errorf("the endpoint page without permissions: %d", p.status)
	}
}

// TestConsoleWhere: which version serves where, across the accounts the principal may read:
// the management account's admin reads staging and production through their
// OrganizationAccountAccessRole; staging's admin sees staging only, and nothing names
// production; a principal without permissions gets the AccessDenied reason.
func TestConsoleWhere(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	serve := func(profile, group string, versions int) {
		c := clientsOf(s.cfg(profile))
		bucket := "where-" + s.account[profile]
		_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		mustDo(t, err)
		_, err = c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("model.tar.gz"), Body: strings.NewReader("x")})
		mustDo(t, err)
		_, err = c.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(group)})
		mustDo(t, err)
		var pkg string
		for range versions {
			out, err := c.sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String(group),
				InferenceSpecification: &smtypes.InferenceSpecification{
					Containers:            []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/linear"), ModelDataUrl: aws.String("s3://" + bucket + "/model.tar.gz")}},
					SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}},
				ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
			mustDo(t, err)
			pkg = *out.ModelPackageArn
		}
		r, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("where-serving"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
		mustDo(t, err)
		role := *r.Role.Arn
		_, err = c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("where-serving"), PolicyName: aws.String("read"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`)})
		mustDo(t, err)
		_, err = c.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(group + "-model"), ExecutionRoleArn: aws.String(role),
			PrimaryContainer: &smtypes.ContainerDefinition{ModelPackageName: aws.String(pkg)}})
		mustDo(t, err)
		_, err = c.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(group + "-config"), ProductionVariants: []smtypes.ProductionVariant{{
			VariantName: aws.String("blue"), ModelName: aws.String(group + "-model"), InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
		mustDo(t, err)
		_, err = c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(group + "-" + profile), EndpointConfigName: aws.String(group + "-config")})
		mustDo(t, err)
	}
	serve("staging", "churn", 2)
	serve("production", "churn", 1)
	stg, prod := s.account["staging"], s.account["production"]

	ds := s.profile["data-science"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	p := b.get("/console/where")
	if p.status != http.StatusOK {
		t.Fatalf("where: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{`data-account="` + stg + `"`, `data-account="` + prod + `"`, "<th scope=\"row\">" + stg + "/churn</th>", "<th scope=\"row\">" + prod + "/churn</th>",
		"<strong>v2</strong> on <code>churn-staging</code>/blue", "<strong>v1</strong> on <code>churn-production</code>/blue"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("where lacks %q", want)
		}
	}
	if p := b.get("/console/audit?action=AssumeRole&principal=user/admin"); !strings.Contains(p.body, "OrganizationAccountAccessRole") {
		t.Errorf("the role sessions the view assumed are not audited")
	}
	// A second look reuses the role sessions: no new AssumeRole.
	before := strings.Count(b.get("/console/audit?action=AssumeRole").body, "<td>sts:AssumeRole</td>")
	b.get("/console/where")
	if after := strings.Count(b.get("/console/audit?action=AssumeRole").body, "<td>sts:AssumeRole</td>"); after != before {
		t.Errorf("a second look assumed the roles again: %d → %d AssumeRole records", before, after)
	}

	st := s.profile["staging"]
	sb := signedIn(t, s.server, st.AccessKeyID, st.SecretAccessKey)
	p = sb.get("/console/where")
	if p.status != http.StatusOK || !strings.Contains(p.body, "<strong>v2</strong> on <code>churn-staging</code>") {
		t.Errorf("staging's where: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, prod) || strings.Contains(p.body, "churn-production") || strings.Contains(p.body, s.account["data-science"]) {
		t.Errorf("staging's admin sees accounts it cannot read:\n%s", p.body)
	}
	keyID, secret := newUser(t, s.server, "nobody", "")
	nb := signedIn(t, s.server, keyID, secret)
	if p := nb.get("/console/where"); p.status != http.StatusForbidden || !strings.Contains(p.body, "sagemaker:ListEndpoints") || strings.Contains(p.body, stg) {
		t.Errorf("where without permissions: %d\n%s", p.status, p.body)
	}
}

// TestConsoleWhereLinksDeployment: a deploy pipeline whose staging stage's stack makes an
// endpoint of a model package version: the "where" view shows the version in staging, linked
// to the execution that deployed it.
func TestConsoleWhereLinksDeployment(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	d := newDeploySetup(t, s.server)
	stg := s.account["staging"]
	template := linearEndpointTemplate(t, d.staging, "where-models-"+stg, "linear", "linear-staging")
	// The deploy pipeline deploys the template; production never comes (nobody approves).
	_, err := d.ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.source), Key: aws.String(d.srcKey), Body: bytes.NewReader(zipOf(t, "template.json", template))})
	mustDo(t, err)
	_, err = cpOf(d.ds.sm).CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	ds := s.profile["data-science"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	var p page
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p = b.get("/console/deployments/model-deploy")
		if strings.Contains(p.body, "Waiting for approval") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deployment never reached its approval:\n%s", p.body)
		}
	}
	exec := regexp.MustCompile(`<tr id="execution-([^"]+)">`).FindStringSubmatch(p.body)
	if exec == nil {
		t.Fatalf("no execution on the deployment page:\n%s", p.body)
	}
	p = b.get("/console/where")
	for _, want := range []string{"<th scope=\"row\">" + stg + "/linear</th>", "<strong>v1</strong> on <code>linear-staging</code>/AllTraffic",
		`<a href="/console/deployments/model-deploy#execution-` + exec[1] + `">model-deploy · DeployStaging`, "model-deploy/DeployStaging"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("where lacks %q:\n%s", want, p.body)
		}
	}
}

// linearEndpointTemplate readies c's account to serve a linear model from a deploy stack: bucket
// holds the model, the role model-exec may read it, the role pipeline-deployer may make SageMaker
// resources, and group holds an approved version of it. It answers a template whose stack makes
// the endpoint named endpoint of that version.
func linearEndpointTemplate(t *testing.T, c clients, bucket, group, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	mustDo(t, err)
	_, err = c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("linear/model.tar.gz"), Body: bytes.NewReader(linearModelTarGz(t))})
	mustDo(t, err)
	r, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("model-exec"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	mustDo(t, err)
	_, err = c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("model-exec"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`)})
	mustDo(t, err)
	_, err = c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-deployer"), PolicyName: aws.String("serve"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:*","iam:PassRole"],"Resource":"*"}]}`)})
	mustDo(t, err)
	_, err = c.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(group)})
	mustDo(t, err)
	pkg, err := c.sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String(group),
		InferenceSpecification: &smtypes.InferenceSpecification{
			Containers:            []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/linear"), ModelDataUrl: aws.String("s3://" + bucket + "/linear/model.tar.gz")}},
			SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}},
		ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
	mustDo(t, err)
	return `{"Resources":{
"Model":{"Type":"AWS::SageMaker::Model","Properties":{"Containers":[{"ModelPackageName":"` + *pkg.ModelPackageArn + `"}],"ExecutionRoleArn":"` + *r.Role.Arn + `"}},
"Config":{"Type":"AWS::SageMaker::EndpointConfig","Properties":{"ProductionVariants":[{"InitialInstanceCount":1,"InitialVariantWeight":1.0,"InstanceType":"ml.m5.large","ModelName":{"Fn::GetAtt":["Model","ModelName"]},"VariantName":"AllTraffic"}]}},
"Endpoint":{"Type":"AWS::SageMaker::Endpoint","Properties":{"EndpointName":"` + endpoint + `","EndpointConfigName":{"Fn::GetAtt":["Config","EndpointConfigName"]}}}}}`
}
