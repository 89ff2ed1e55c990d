package app_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// quickDefinition is a pipeline of one Condition step: its executions succeed at once.
const quickDefinition = `{"Version":"2020-12-01","Parameters":[{"Name":"N","Type":"Integer","DefaultValue":1}],
"Steps":[{"Name":"Check","Type":"Condition","Arguments":{"Conditions":[{"Type":"Equals","LeftValue":{"Get":"Parameters.N"},"RightValue":1}],"IfSteps":[],"ElseSteps":[]}}]}`

// sleepingDefinition is a pipeline whose one processing job sleeps: its executions stay
// Executing until stopped.
func sleepingDefinition(role string) string {
	return `{"Version":"2020-12-01","Steps":[{"Name":"Sleep","Type":"Processing","Arguments":{"RoleArn":"` + role + `",
"AppSpecification":{"ImageUri":"` + sklearnImage + `","ContainerEntrypoint":["python3","-c","import time; time.sleep(600)"]},
"ProcessingResources":{"ClusterConfig":{"InstanceCount":1,"InstanceType":"ml.m5.xlarge","VolumeSizeInGB":1}}}}]}`
}

var tokenSeq = time.Now().UnixNano()

// token returns a fresh ClientRequestToken (32 characters or more).
func token() *string {
	tokenSeq++
	return aws.String("token-" + strings.Repeat("0", 20) + time.Unix(0, tokenSeq).Format("150405.000000000"))
}

func (e *authzEnv) sharedPipelineRole() string {
	if e.org["PipelineRole"] == "" {
		e.org["PipelineRole"] = e.pipelineRole("authz-pipes")
	}
	return e.org["PipelineRole"]
}

// pipeline makes a pipeline of def (quickDefinition when "") and returns its variables.
func (e *authzEnv) pipelineOf(def string) map[string]string {
	if def == "" {
		def = quickDefinition
	}
	name := e.name("pipe")
	_, err := e.admin.sm.CreatePipeline(context.Background(), &sagemaker.CreatePipelineInput{PipelineName: aws.String(name),
		RoleArn: aws.String(e.sharedPipelineRole()), PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	return map[string]string{"PipelineName": name, "RoleArn": e.sharedPipelineRole()}
}

func (e *authzEnv) pipeline() map[string]string { return e.pipelineOf("") }

// execution starts an execution of a new quick pipeline and waits until it ends.
func (e *authzEnv) execution() map[string]string {
	v := e.pipeline()
	out, err := e.admin.sm.StartPipelineExecution(context.Background(), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]), ClientRequestToken: token()})
	e.must(err)
	v["PipelineExecutionArn"] = *out.PipelineExecutionArn
	waitExecution(e.t, e.admin.sm, *out.PipelineExecutionArn, 30*time.Second)
	return v
}

// runningExecution starts an execution whose job sleeps.
func (e *authzEnv) runningExecution() map[string]string {
	v := e.pipelineOf(sleepingDefinition(e.sharedPipelineRole()))
	out, err := e.admin.sm.StartPipelineExecution(context.Background(), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]), ClientRequestToken: token()})
	e.must(err)
	v["PipelineExecutionArn"] = *out.PipelineExecutionArn
	return v
}

func pipelineCases() map[string]opCase {
	p := func(v map[string]string) *string { return aws.String(v["PipelineName"]) }
	x := func(v map[string]string) *string { return aws.String(v["PipelineExecutionArn"]) }
	return map[string]opCase{
		"CreatePipeline": {func(e *authzEnv) map[string]string {
			return map[string]string{"PipelineName": e.name("newpipe"), "RoleArn": e.sharedPipelineRole()}
		}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: p(v), RoleArn: aws.String(v["RoleArn"]),
				PipelineDefinition: aws.String(quickDefinition), ClientRequestToken: token()})
			return err
		}},
		"DescribePipeline": {(*authzEnv).pipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: p(v)})
			return err
		}},
		"UpdatePipeline": {(*authzEnv).pipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.UpdatePipeline(ctx, &sagemaker.UpdatePipelineInput{PipelineName: p(v), PipelineDescription: aws.String("updated")})
			return err
		}},
		"DeletePipeline": {(*authzEnv).pipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DeletePipeline(ctx, &sagemaker.DeletePipelineInput{PipelineName: p(v), ClientRequestToken: token()})
			return err
		}},
		"ListPipelines": {func(*authzEnv) map[string]string { return map[string]string{} }, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListPipelines(ctx, &sagemaker.ListPipelinesInput{})
			return err
		}},
		"ListPipelineVersions": {(*authzEnv).pipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListPipelineVersions(ctx, &sagemaker.ListPipelineVersionsInput{PipelineName: p(v)})
			return err
		}},
		"StartPipelineExecution": {(*authzEnv).pipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: p(v), ClientRequestToken: token()})
			return err
		}},
		"ListPipelineExecutions": {(*authzEnv).pipeline, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListPipelineExecutions(ctx, &sagemaker.ListPipelineExecutionsInput{PipelineName: p(v)})
			return err
		}},
		"DescribePipelineExecution": {(*authzEnv).execution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: x(v)})
			return err
		}},
		"ListPipelineExecutionSteps": {(*authzEnv).execution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListPipelineExecutionSteps(ctx, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: x(v)})
			return err
		}},
		"ListPipelineParametersForExecution": {(*authzEnv).execution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListPipelineParametersForExecution(ctx, &sagemaker.ListPipelineParametersForExecutionInput{PipelineExecutionArn: x(v)})
			return err
		}},
		"DescribePipelineDefinitionForExecution": {(*authzEnv).execution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribePipelineDefinitionForExecution(ctx, &sagemaker.DescribePipelineDefinitionForExecutionInput{PipelineExecutionArn: x(v)})
			return err
		}},
		"StopPipelineExecution": {(*authzEnv).runningExecution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.StopPipelineExecution(ctx, &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: x(v), ClientRequestToken: token()})
			return err
		}},
	}
}

func withPipelineCases(m map[string]opCase) map[string]opCase {
	for op, c := range pipelineCases() {
		m[op] = c
	}
	for op, c := range pipelineAnswerCases() {
		m[op] = c
	}
	m["SlipwayExplainPipelineStepCache"] = explainCacheCase()
	return m
}

// TestPipelineRefusals: a role the caller may not pass, another account's pipeline and
// execution, an explicit Deny under an Allow of everything, and bad input are refused with
// the protocol's error, and change nothing.
func TestPipelineRefusals(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	_, err := e.admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("actor")})
	e.must(err)
	key, err := e.admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("actor")})
	e.must(err)
	e.actor = clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")))
	role := e.sharedPipelineRole()
	v := e.execution()

	pipelines := func(c clients) []string {
		t.Helper()
		out, err := c.sm.ListPipelines(ctx, &sagemaker.ListPipelinesInput{})
		e.must(err)
		var names []string
		for _, p := range out.PipelineSummaries {
			names = append(names, *p.PipelineName)
		}
		return names
	}
	executions := func() int {
		t.Helper()
		out, err := e.admin.sm.ListPipelineExecutions(ctx, &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String(v["PipelineName"])})
		e.must(err)
		return len(out.PipelineExecutionSummaries)
	}
	wantCode := func(what string, err error, wantc, contains string) {
		t.Helper()
		if !strings.Contains(code(err), wantc) || !strings.Contains(errText(err), contains) {
			t.Errorf("%s: %v; want %s saying %q", what, err, wantc, contains)
		}
	}

	// iam:PassRole refused: nothing is created.
	e.policy(allowEverything, `{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}`)
	_, err = e.actor.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("passrole"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(quickDefinition), ClientRequestToken: token()})
	wantCode("CreatePipeline without iam:PassRole", err, "AccessDenied", "iam:PassRole")

	// A definition in S3 is read as the caller: allowed, it is the pipeline's; denied, nothing is made.
	_, err = e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("authz-pipes"), Key: aws.String("defs/quick.json"), Body: strings.NewReader(quickDefinition)})
	e.must(err)
	loc := &smtypes.PipelineDefinitionS3Location{Bucket: aws.String("authz-pipes"), ObjectKey: aws.String("defs/quick.json")}
	e.policy(allowEverything)
	_, err = e.actor.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("froms3"), RoleArn: aws.String(role),
		PipelineDefinitionS3Location: loc, ClientRequestToken: token()})
	e.must(err)
	if d, err := e.admin.sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: aws.String("froms3")}); err != nil || aws.ToString(d.PipelineDefinition) != quickDefinition {
		t.Errorf("a pipeline defined in S3: %v", err)
	}
	e.policy(allowEverything, `{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`)
	_, err = e.actor.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("froms3denied"), RoleArn: aws.String(role),
		PipelineDefinitionS3Location: loc, ClientRequestToken: token()})
	wantCode("CreatePipeline from an object the caller may not read", err, "AccessDenied", "s3:GetObject")

	// An explicit Deny wins over Allow *, on the pipeline and on its executions by pattern.
	e.policy(allowEverything, `{"Effect":"Deny","Action":["sagemaker:StartPipelineExecution","sagemaker:DescribePipelineExecution"],"Resource":["arn:aws:sagemaker:us-east-1:`+e.account+`:pipeline/`+v["PipelineName"]+`","arn:aws:sagemaker:us-east-1:`+e.account+`:pipeline/`+v["PipelineName"]+`/execution/*"]}`)
	_, err = e.actor.sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]), ClientRequestToken: token()})
	wantCode("StartPipelineExecution under an explicit Deny", err, "AccessDenied", "explicit deny")
	_, err = e.actor.sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(v["PipelineExecutionArn"])})
	wantCode("DescribePipelineExecution under an explicit Deny", err, "AccessDenied", "explicit deny")
	if n := executions(); n != 1 {
		t.Errorf("%d executions after the refused start, want 1", n)
	}

	// Another account: its admin cannot read or start this account's pipeline or execution.
	other := clientsOf(s.cfg("staging"))
	parn := "arn:aws:sagemaker:us-east-1:" + e.account + ":pipeline/" + v["PipelineName"]
	_, err = other.sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: aws.String(parn)})
	wantCode("another account's DescribePipeline", err, "AccessDenied", "")
	_, err = other.sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(parn), ClientRequestToken: token()})
	wantCode("another account's StartPipelineExecution", err, "AccessDenied", "")
	_, err = other.sm.ListPipelineExecutionSteps(ctx, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(v["PipelineExecutionArn"])})
	wantCode("another account's ListPipelineExecutionSteps", err, "AccessDenied", "")
	_, err = other.sm.StopPipelineExecution(ctx, &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: aws.String(v["PipelineExecutionArn"]), ClientRequestToken: token()})
	wantCode("another account's StopPipelineExecution", err, "AccessDenied", "")
	if got := pipelines(other); len(got) != 0 {
		t.Errorf("another account lists %v", got)
	}
	if n := executions(); n != 1 {
		t.Errorf("%d executions after another account's start, want 1", n)
	}

	// Bad input: ValidationException naming what is wrong; nothing is created or started.
	before := pipelines(e.admin)
	if !strings.Contains(strings.Join(before, ","), "froms3") || strings.Contains(strings.Join(before, ","), "froms3denied") {
		t.Errorf("pipelines %v: want froms3 and not froms3denied", before)
	}
	for _, c := range []struct{ name, def, want string }{
		{"not JSON", `{"Version":`, "Invalid pipeline definition"},
		{"unknown step type", `{"Version":"2020-12-01","Steps":[{"Name":"A","Type":"Bogus","Arguments":{}}]}`, `step "A"`},
		{"missing parameter", `{"Version":"2020-12-01","Steps":[{"Name":"A","Type":"Fail","Arguments":{"ErrorMessage":{"Get":"Parameters.Nope"}}}]}`, "$.Steps[0]"},
		{"duplicate step", `{"Version":"2020-12-01","Steps":[{"Name":"A","Type":"Fail","Arguments":{}},{"Name":"A","Type":"Fail","Arguments":{}}]}`, `"A"`},
		{"a Lambda step without a function", `{"Version":"2020-12-01","Steps":[{"Name":"L","Type":"Lambda","Arguments":{}}]}`, "needs a FunctionArn"},
		{"retries", `{"Version":"2020-12-01","Steps":[{"Name":"A","Type":"Fail","Arguments":{},"RetryPolicies":[{"ExceptionType":["Step.SERVICE_FAULT"],"MaxAttempts":2}]}]}`, "RetryPolicies"},
	} {
		_, err := e.admin.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("bad"), RoleArn: aws.String(role),
			PipelineDefinition: aws.String(c.def), ClientRequestToken: token()})
		wantCode("CreatePipeline with "+c.name, err, "ValidationException", c.want)
	}
	_, err = e.admin.sm.UpdatePipeline(ctx, &sagemaker.UpdatePipelineInput{PipelineName: aws.String(v["PipelineName"]), PipelineDefinition: aws.String(`{"Version":"1999"}`)})
	wantCode("UpdatePipeline with a bad definition", err, "ValidationException", "Invalid pipeline definition")
	if vs, err := e.admin.sm.ListPipelineVersions(ctx, &sagemaker.ListPipelineVersionsInput{PipelineName: aws.String(v["PipelineName"])}); err != nil || len(vs.PipelineVersionSummaries) != 1 {
		t.Errorf("versions after a refused update: %v, %v; want 1", vs, err)
	}
	for _, c := range []struct {
		name   string
		params []smtypes.Parameter
		want   string
	}{
		{"a wrong type", []smtypes.Parameter{{Name: aws.String("N"), Value: aws.String("one")}}, "not an Integer"},
		{"an unknown name", []smtypes.Parameter{{Name: aws.String("Nope"), Value: aws.String("1")}}, `"Nope"`},
		{"a name twice", []smtypes.Parameter{{Name: aws.String("N"), Value: aws.String("1")}, {Name: aws.String("N"), Value: aws.String("2")}}, "more than once"},
	} {
		_, err := e.admin.sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]),
			PipelineParameters: c.params, ClientRequestToken: token()})
		wantCode("StartPipelineExecution with "+c.name, err, "ValidationException", c.want)
	}
	_, err = e.admin.sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(v["PipelineName"]), ClientRequestToken: token(),
		SelectiveExecutionConfig: &smtypes.SelectiveExecutionConfig{SelectedSteps: []smtypes.SelectedStep{{StepName: aws.String("Nope")}}, SourcePipelineExecutionArn: aws.String(v["PipelineExecutionArn"])}})
	wantCode("StartPipelineExecution selecting a step the pipeline lacks", err, "ValidationException", `no step "Nope"`)
	_, err = e.admin.sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: aws.String("nope")})
	wantCode("DescribePipeline of a missing pipeline", err, "ResourceNotFound", "does not exist")
	_, err = e.admin.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String(v["PipelineName"]), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(quickDefinition), ClientRequestToken: token()})
	wantCode("CreatePipeline of an existing name", err, "ValidationException", "Pipeline names must be unique within an AWS account and region")
	// A retry of a CreatePipeline that committed (same ClientRequestToken) gets the pipeline.
	tok := token()
	first, err := e.admin.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("retried"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(quickDefinition), ClientRequestToken: tok})
	e.must(err)
	again, err := e.admin.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("retried"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(quickDefinition), ClientRequestToken: tok})
	if err != nil || *again.PipelineArn != *first.PipelineArn {
		t.Errorf("a retried CreatePipeline: %v, %v", again, err)
	}
	before = append(before, "retried")
	sort.Strings(before)
	after := pipelines(e.admin)
	sort.Strings(after)
	if strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("pipelines %v after refused calls, want %v", after, before)
	}
	if n := executions(); n != 1 {
		t.Errorf("%d executions after refused starts, want 1", n)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
