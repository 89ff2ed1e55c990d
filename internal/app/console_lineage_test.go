package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// lineageDefinition is a build pipeline of every kind of step a version's lineage follows: a
// processing step (Prep) writes the training data, a training step (Train, the built-in linear
// learner) trains on it, a RegisterModel step registers its model artifact; another processing
// step (Elsewhere) runs beside them, upstream of nothing.
func lineageDefinition(role, bucket, group string) string {
	prep := "import os\nd='/opt/ml/processing/train'\nos.makedirs(d,exist_ok=True)\n" +
		"open(d+'/train.csv','w').write(''.join('%d,%d\\n' % (2*i+1, i) for i in range(20)))\n"
	processing := func(name, script string, outputs []any) map[string]any {
		args := map[string]any{
			"RoleArn":          role,
			"AppSpecification": map[string]any{"ImageUri": sklearnImage, "ContainerEntrypoint": []string{"python3", "-c", script}},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{
				"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
		}
		if outputs != nil {
			args["ProcessingOutputConfig"] = map[string]any{"Outputs": outputs}
		}
		return map[string]any{"Name": name, "Type": "Processing", "Arguments": args}
	}
	def := map[string]any{
		"Version": "2020-12-01",
		"Steps": []any{
			processing("Prep", prep, []any{map[string]any{"OutputName": "train",
				"S3Output": map[string]any{"S3Uri": "s3://" + bucket + "/prep/train", "LocalPath": "/opt/ml/processing/train", "S3UploadMode": "EndOfJob"}}}),
			processing("Elsewhere", "print('unrelated')", nil),
			map[string]any{"Name": "Train", "Type": "Training", "Arguments": map[string]any{
				"RoleArn": role,
				"AlgorithmSpecification": map[string]any{"TrainingImage": "slipway/linear", "TrainingInputMode": "File",
					"MetricDefinitions": []any{map[string]any{"Name": "train:rmse", "Regex": "train-rmse:([0-9.]+)"}}},
				"HyperParameters": map[string]any{"predictor_type": "regressor", "sagemaker_note": "<script>alert('hp')</script>"},
				"InputDataConfig": []any{map[string]any{"ChannelName": "train", "ContentType": "text/csv",
					"DataSource": map[string]any{"S3DataSource": map[string]any{"S3DataType": "S3Prefix",
						"S3Uri": map[string]any{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}}}}},
				"OutputDataConfig":  map[string]any{"S3OutputPath": "s3://" + bucket + "/model"},
				"ResourceConfig":    map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1},
				"StoppingCondition": map[string]any{"MaxRuntimeInSeconds": 600},
			}},
			map[string]any{"Name": "Register", "Type": "RegisterModel", "Arguments": map[string]any{
				"ModelPackageGroupName":   group,
				"ModelPackageDescription": "<img src=x onerror=alert('pkg')>",
				"ModelApprovalStatus":     "PendingManualApproval",
				"InferenceSpecification": map[string]any{
					"Containers":                 []any{map[string]any{"Image": "slipway/linear", "ModelDataUrl": map[string]any{"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}},
					"SupportedContentTypes":      []string{"text/csv"},
					"SupportedResponseMIMETypes": []string{"text/csv"},
				},
			}},
		},
	}
	b, _ := json.Marshal(def)
	return string(b)
}

// TestConsoleLineage: a version's page follows it back to the execution, the registering step,
// the training job (channels, hyperparameters, metrics, model artifact) and the processing
// step upstream of it (not the one beside it), shows its approval history after an approval
// from the page, and the endpoint that serves it. Markup in the description, a hyperparameter
// and the approval comment is escaped. A principal denied the training job (an explicit Deny
// over an Allow of everything) sees "not visible to you" without the job's name; one who may
// read the registry but not pipelines sees the execution as not visible, unnamed; another
// account's admin and a principal without permissions see the API's answer.
func TestConsoleLineage(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	sm := e.admin.sm
	bucket := "lineage-" + e.account
	role := e.pipelineRole(bucket)
	_, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("traced")})
	e.must(err)
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("lineagebuild"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(lineageDefinition(role, bucket, "traced")), ClientRequestToken: token()})
	e.must(err)
	out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("lineagebuild"), ClientRequestToken: token()})
	e.must(err)
	if d := waitExecution(t, sm, *out.PipelineExecutionArn, 120*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("the build: %s %s", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	execID := (*out.PipelineExecutionArn)[strings.LastIndexByte(*out.PipelineExecutionArn, '/')+1:]
	steps := stepsOf(t, sm, *out.PipelineExecutionArn)
	trainJob := aws.ToString(steps["Train"].Metadata.TrainingJob.Arn)
	trainJob = trainJob[strings.LastIndexByte(trainJob, '/')+1:]
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("arn:aws:sagemaker:us-east-1:" + e.account + ":model-package/traced/1")})
	e.must(err)
	modelData := aws.ToString(pkg.InferenceSpecification.Containers[0].ModelDataUrl)

	// An endpoint of the data-science account serves the version.
	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("traced-model"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &smtypes.ContainerDefinition{ModelPackageName: pkg.ModelPackageArn}})
	e.must(err)
	_, err = sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("traced-config"), ProductionVariants: []smtypes.ProductionVariant{{
		VariantName: aws.String("blue"), ModelName: aws.String("traced-model"), InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
	e.must(err)
	_, err = sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("traced-ep"), EndpointConfigName: aws.String("traced-config")})
	e.must(err)

	ds := s.profile["data-science"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	const path = "/console/registry/traced/1"
	if p := b.get("/console/registry/traced"); !strings.Contains(p.body, `<a href="`+path+`">1</a>`) {
		t.Errorf("the group page does not link the version:\n%s", p.body)
	}
	p := b.post(path+"/status", url.Values{"status": {"Approved"}, "comment": {"ok <b>bold</b>"}, "back": {"version"}, "csrf": {b.csrf(path)}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, path+"?") {
		t.Fatalf("approve from the version page: %d → %q\n%s", p.status, p.location, p.body)
	}
	p = b.get(path)
	if p.status != http.StatusOK {
		t.Fatalf("version page: %d\n%s", p.status, p.body)
	}
	execLink := "/console/pipelines/lineagebuild/executions/" + execID
	for _, want := range []string{
		`<a href="` + execLink + `">lineagebuild · <code>` + execID + `</code></a>`,
		`data-lineage="register"><a href="` + execLink + `/steps/Register">Register</a>`,
		`<a href="` + execLink + `/steps/Train">Train</a>`,
		`<code>` + trainJob + `</code>`,
		"<td>train</td><td><code>s3://" + bucket + "/prep/train</code></td>",
		"<td>predictor_type</td><td><code>regressor</code></td>",
		"&lt;script&gt;alert(&#39;hp&#39;)&lt;/script&gt;",
		"<td>train:rmse</td>",
		"<code>" + modelData + "</code>",
		`<a href="` + execLink + `/steps/Prep">Prep</a>`,
		"output train: <code>s3://" + bucket + "/prep/train</code>",
		"&lt;img src=x onerror=alert(&#39;pkg&#39;)&gt;",
		"ok &lt;b&gt;bold&lt;/b&gt;",
		"<code>traced-ep</code>/blue",
		`data-account="` + e.account + `"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("version page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, "<tr data-history>"); n != 2 {
		t.Errorf("%d approval history rows, want 2 (registered pending, approved)", n)
	}
	if strings.Contains(p.body, "Elsewhere") {
		t.Errorf("a processing step upstream of nothing is shown as the version's lineage")
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>bold"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("version page holds %q unescaped", bad)
		}
	}
	if p := b.get("/console/registry/traced/x"); p.status != http.StatusBadRequest {
		t.Errorf("a version that is not a number: %d", p.status)
	}
	if p := b.get("/console/registry/traced/9"); p.status != http.StatusBadRequest && p.status != http.StatusNotFound {
		t.Errorf("a version that does not exist: %d", p.status)
	}

	// An explicit Deny of the training job wins over an Allow of everything.
	keyID, secret := newUser(t, s.server, "notrain", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"sagemaker:DescribeTrainingJob","Resource":"*"}]}`)
	p = signedIn(t, s.server, keyID, secret).get(path)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-lineage="training" data-visible="no">not visible to you: you may not sagemaker:DescribeTrainingJob with an explicit deny`) ||
		strings.Contains(p.body, "<code>"+trainJob+"</code>") || strings.Contains(p.body, "predictor_type") || !strings.Contains(p.body, "/executions/"+execID) {
		t.Errorf("the version page under a Deny of the training job: %d\n%s", p.status, p.body)
	}
	// A reader of the registry alone: the execution is not visible, and not named.
	keyID, secret = newUser(t, s.server, "regread", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:DescribeModelPackage*","sagemaker:ListModelPackage*","sagemaker:ListEndpoints","sagemaker:DescribeEndpoint*","sagemaker:DescribeModel"],"Resource":"*"}]}`)
	p = signedIn(t, s.server, keyID, secret).get(path)
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-lineage="execution" data-visible="no">Pipeline execution: not visible to you: you may not sagemaker:DescribePipelineExecution`) ||
		strings.Contains(p.body, "/executions/"+execID) || strings.Contains(p.body, "lineagebuild") || strings.Contains(p.body, "<code>"+trainJob+"</code>") || !strings.Contains(p.body, "<code>traced-ep</code>/blue") {
		t.Errorf("the registry reader's version page: %d\n%s", p.status, p.body)
	}
	// Another account's admin, and a principal without permissions: the API's answers.
	st := s.profile["staging"]
	if p := signedIn(t, s.server, st.AccessKeyID, st.SecretAccessKey).get(path); (p.status != http.StatusBadRequest && p.status != http.StatusNotFound) ||
		strings.Contains(p.body, execID) || strings.Contains(p.body, "traced-ep") || strings.Contains(p.body, "onerror") {
		t.Errorf("another account's version page: %d\n%s", p.status, p.body)
	}
	keyID, secret = newUser(t, s.server, "nobody", "")
	if p := signedIn(t, s.server, keyID, secret).get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "sagemaker:DescribeModelPackage") || strings.Contains(p.body, execID) {
		t.Errorf("the version page without permissions: %d\n%s", p.status, p.body)
	}
}

// TestConsoleTransitions: a deploy pipeline's page shows each stage's inbound transition as
// GetPipelineState answers it, and its Enable/Disable actions: the admin disables one with a
// reason (who, when and why are shown) and enables it again; a reason CodePipeline refuses, a
// form without the CSRF token, a reader, an explicit Deny and another account's admin are each
// refused, and change nothing.
func TestConsoleTransitions(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	d := newDeploySetup(t, s.server)
	cp := cpOf(d.ds.sm)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	inbound := func(stage string) string { // enabled|by|reason of the stage's inbound transition, as the API answers
		t.Helper()
		st, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("model-deploy")})
		mustDo(t, err)
		for _, s := range st.StageStates {
			if aws.ToString(s.StageName) == stage && s.InboundTransitionState != nil {
				ts := s.InboundTransitionState
				by := aws.ToString(ts.LastChangedBy)
				return map[bool]string{true: "enabled", false: "disabled"}[ts.Enabled] + "|" + by[strings.LastIndexByte(by, '/')+1:] + "|" + aws.ToString(ts.DisabledReason)
			}
		}
		t.Fatalf("no stage %s", stage)
		return ""
	}
	ds := s.profile["data-science"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	const path = "/console/deployments/model-deploy"
	p := b.get(path)
	if p.status != http.StatusOK || strings.Count(p.body, `data-transition="enabled"`) != 3 || !strings.Contains(p.body, `<button name="op" value="disable">Disable transition into DeployProd</button>`) ||
		strings.Contains(p.body, "Disable transition into Source") {
		t.Fatalf("the stages' transitions (three, none for the first stage):\n%s", p.body)
	}
	csrf := b.csrf(path)
	form := func(op, stage, reason, token string) url.Values {
		return url.Values{"op": {op}, "stage": {stage}, "reason": {reason}, "csrf": {token}}
	}
	// Refusals that change nothing.
	if p := b.post(path+"/transition", form("disable", "DeployProd", "no token", "")); p.status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", p.status)
	}
	if p := b.post(path+"/transition", form("disable", "DeployProd", "<script>alert(1)</script>", csrf)); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "ValidationException") || strings.Contains(p.body, "<script>alert") {
		t.Errorf("a reason CodePipeline refuses: %d\n%s", p.status, p.body)
	}
	if p := b.post(path+"/transition", form("disable", "Source", "first", csrf)); p.status != http.StatusBadRequest {
		t.Errorf("the first stage's inbound transition: %d", p.status)
	}
	if p := b.post(path+"/transition", form("pause", "DeployProd", "x", csrf)); p.status != http.StatusBadRequest {
		t.Errorf("an unknown op: %d", p.status)
	}
	keyID, secret := newUser(t, s.server, "cpreader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`)
	rd := signedIn(t, s.server, keyID, secret)
	if p := rd.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `data-transition="enabled"`) {
		t.Errorf("the reader's deployment page: %d", p.status)
	}
	if p := rd.post(path+"/transition", form("disable", "DeployProd", "reader", rd.csrf(path))); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "codepipeline:DisableStageTransition") {
		t.Errorf("the reader disables: %d\n%s", p.status, p.body)
	}
	st := s.profile["staging"]
	sb := signedIn(t, s.server, st.AccessKeyID, st.SecretAccessKey)
	if p := sb.post(path+"/transition", form("disable", "DeployProd", "other account", sb.csrf("/console/deployments"))); p.status == http.StatusSeeOther {
		t.Errorf("another account's admin disables: %d", p.status)
	}
	if got := inbound("DeployProd"); got != "enabled||" {
		t.Fatalf("after the refusals: %s", got)
	}

	// The admin disables the transition into production, with a reason.
	p = b.post(path+"/transition", form("disable", "DeployProd", "freeze (release 1.2)", csrf))
	if p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", p.status, p.body)
	}
	if got := inbound("DeployProd"); got != "disabled|admin|freeze (release 1.2)" {
		t.Errorf("after the admin's disable: %s", got)
	}
	p = b.get(p.location)
	for _, want := range []string{`data-transition="disabled"`, "Transition disabled", "freeze (release 1.2)", "user/admin", "The transition into DeployProd is disabled",
		`<button name="op" value="enable">Enable transition into DeployProd</button>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page after disabling lacks %q", want)
		}
	}
	// An explicit Deny on the stage wins over an Allow of everything.
	keyID, secret = newUser(t, s.server, "cpdenied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"codepipeline:EnableStageTransition","Resource":"arn:aws:codepipeline:us-east-1:`+s.account["data-science"]+`:model-deploy/DeployProd"}]}`)
	dn := signedIn(t, s.server, keyID, secret)
	if p := dn.post(path+"/transition", form("enable", "DeployProd", "", dn.csrf(path))); p.status != http.StatusForbidden || !strings.Contains(p.body, "explicit deny") {
		t.Errorf("enable under an explicit Deny: %d\n%s", p.status, p.body)
	}
	if got := inbound("DeployProd"); got != "disabled|admin|freeze (release 1.2)" {
		t.Errorf("after the denied enable: %s", got)
	}
	if p := b.post(path+"/transition", form("enable", "DeployProd", "", csrf)); p.status != http.StatusSeeOther {
		t.Fatalf("enable: %d\n%s", p.status, p.body)
	}
	if got := inbound("DeployProd"); got != "enabled|admin|" {
		t.Errorf("after the admin's enable: %s", got)
	}
	if p := b.get(path); strings.Count(p.body, `data-transition="enabled"`) != 3 || !strings.Contains(p.body, "changed by arn:aws:iam::"+s.account["data-science"]+":user/admin") {
		t.Errorf("the page after enabling:\n%s", p.body)
	}
	if p := b.get("/console/audit?action=DisableStageTransition&principal=user/admin"); !strings.Contains(p.body, "<td>codepipeline:DisableStageTransition</td>") {
		t.Errorf("the console's DisableStageTransition is not audited")
	}
}

// TestConsoleLineageDeployment: a deploy pipeline whose stack makes an endpoint of a version:
// the version's page shows the endpoint and links the deploy execution that made it; a
// principal who may not read the deploy pipelines sees the endpoint, and no pipeline is named.
func TestConsoleLineageDeployment(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	d := newDeploySetup(t, s.server)
	acct := s.account["data-science"]
	deployer := deployRole(t, d.ds.iam, d.pipelineRole)
	template := linearEndpointTemplate(t, d.ds, "lineage-models-"+acct, "served", "served-ep")
	_, err := d.ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.source), Key: aws.String(d.srcKey), Body: bytes.NewReader(zipOf(t, "template.json", template))})
	mustDo(t, err)
	decl := d.pipeline("served-deploy")
	decl.Stages = decl.Stages[:2]                            // Source, then DeployStaging …
	decl.Stages[1].Actions[0].RoleArn = aws.String(deployer) // … into the data-science account itself
	decl.Stages[1].Actions[0].Configuration["StackName"] = "served-stack"
	_, err = cpOf(d.ds.sm).CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: decl})
	mustDo(t, err)

	ds := s.profile["data-science"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		live := b.get("/console/deployments/served-deploy/live")
		if strings.Contains(live.body, `"stage:DeployStaging":"Succeeded"`) {
			break
		}
		if time.Now().After(deadline) || strings.Contains(live.body, `"stage:DeployStaging":"Failed"`) {
			t.Fatalf("the deploy stage never succeeded: %s\n%s", live.body, b.get("/console/deployments/served-deploy").body)
		}
	}
	exec := regexp.MustCompile(`<tr id="execution-([^"]+)">`).FindStringSubmatch(b.get("/console/deployments/served-deploy").body)
	if exec == nil {
		t.Fatal("no execution on the deployment page")
	}
	p := b.get("/console/registry/served/1")
	for _, want := range []string{"<code>served-ep</code>/AllTraffic", `data-account="` + acct + `"`,
		`<a href="/console/deployments/served-deploy#execution-` + exec[1] + `">served-deploy <code>` + exec[1] + `</code></a> · DeployStaging`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("version page lacks %q:\n%s", want, p.body)
		}
	}
	keyID, secret := newUser(t, s.server, "nocp", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"codepipeline:*","Resource":"*"}]}`)
	p = signedIn(t, s.server, keyID, secret).get("/console/registry/served/1")
	if p.status != http.StatusOK || !strings.Contains(p.body, "<code>served-ep</code>/AllTraffic") || strings.Contains(p.body, "served-deploy") || strings.Contains(p.body, exec[1]) {
		t.Errorf("the version page of a principal denied CodePipeline: %d\n%s", p.status, p.body)
	}
}
