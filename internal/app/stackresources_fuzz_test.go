package app

import (
	"encoding/json"
	"testing"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// FuzzStackResourceProperties feeds arbitrary evaluated properties (any JSON object, as a
// template's intrinsics may produce) to the property readers of the second set of resource
// types: each answers a value or an Invalid error, never a panic or another kind of error.
func FuzzStackResourceProperties(f *testing.F) {
	for _, seed := range []string{
		`{"DeploymentConfig":{"BlueGreenUpdatePolicy":{"TrafficRoutingConfiguration":{"Type":"LINEAR","WaitIntervalInSeconds":"5","LinearStepSize":{"Type":"CAPACITY_PERCENT","Value":50}}}}}`,
		`{"DeploymentConfig":{"RollingUpdatePolicy":{"MaximumBatchSize":{"Type":"INSTANCE_COUNT","Value":"x"}}}}`,
		`{"DeploymentConfig":{"AutoRollbackConfiguration":{"Alarms":[{"AlarmName":"a"}]}}}`,
		`{"DeploymentConfig":{"Colour":1}}`,
		`{"EventPattern":{"source":["a"]},"State":"ENABLED","Targets":[{"Id":"t","Arn":"arn:aws:logs:us-east-1:111122223333:log-group:g","InputTransformer":{"InputPathsMap":{"a":"$.detail"},"InputTemplate":"<a>"}}]}`,
		`{"EventPattern":"{\"source\":[\"a\"]}","Targets":[{"Id":1}],"Tags":[{"Key":"k"}]}`,
		`{"Targets":{"Id":"t"},"EventBusName":"arn:aws:events:us-east-1:111122223333:event-bus/b"}`,
		`{"PipelineDefinition":{"PipelineDefinitionBody":"{}"},"ParallelismConfiguration":{"MaxParallelExecutionSteps":"2"}}`,
		`{"PipelineDefinition":{"PipelineDefinitionS3Location":{"Bucket":"b","Key":"k","Version":"1"}}}`,
		`{"PipelineDefinition":{"PipelineDefinitionBody":"{}","PipelineDefinitionS3Location":{}},"ParallelismConfiguration":{"MaxParallelExecutionSteps":1.5}}`,
		`{"PolicyName":"p","PolicyDocument":{"Version":"2012-10-17"},"Roles":["r","arn:aws:iam::111122223333:role/x/y"],"Users":[3]}`,
		`{"PolicyName":"p","PolicyDocument":"{}","Groups":["g"]}`,
		`{"PolicyName":"p","PolicyDocument":[]}`,
		`{"Name":"d","RoleArn":"arn:aws:iam::111122223333:role/r","ArtifactStore":{"Type":"S3","Location":"b"},"Stages":[{"Name":"Source","Actions":[{"Name":"S","ActionTypeId":{"Category":"Source","Owner":"AWS","Provider":"S3","Version":"1"},"Configuration":{"S3Bucket":"b","PollForSourceChanges":false},"OutputArtifacts":[{"Name":"Out"}],"RunOrder":"1"}]}]}`,
		`{"Stages":[{"Name":"x","Actions":[{"ActionTypeId":[],"InputArtifacts":[{"Name":1}],"RunOrder":1.5}],"Blockers":[{}]}],"Variables":[{"Name":"v"}]}`,
		`{"Stages":[{"Name":"Source","Actions":[]},{"Name":"Deploy","Actions":[]}],"DisableInboundStageTransitions":[{"StageName":"Deploy","Reason":"freeze"},{"StageName":"Source"},{"StageName":1,"Reason":[]},"x"]}`,
		`{"Stages":[],"DisableInboundStageTransitions":{"StageName":"Deploy"}}`,
		`{"Name":"p","ServiceRole":"r","Source":{"Type":"CODEPIPELINE","BuildSpec":"version: 0.2"},"Artifacts":{"Type":"CODEPIPELINE"},"Environment":{"Type":"LINUX_CONTAINER","EnvironmentVariables":[{"Name":"A","Value":1}]},"TimeoutInMinutes":"30"}`,
		`{"AlarmName":"a","Namespace":"App","MetricName":"Errors","Dimensions":[{"Name":"Model","Value":"v2"}],"Statistic":"Sum","Period":"60","EvaluationPeriods":3,"DatapointsToAlarm":"2","Threshold":"0.5","ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"notBreaching","ActionsEnabled":false}`,
		`{"Namespace":"AWS/SageMaker","MetricName":"Invocation4XXErrors","Dimensions":[{"Name":"EndpointName"},{"Value":"v"},3],"Period":10.5,"Threshold":"x"}`,
		`{"Namespace":1,"Dimensions":{"Name":"a"},"AlarmActions":["arn:aws:sns:us-east-1:111122223333:t"],"Statistic":[]}`,
		`{"Namespace":"App","MetricName":"M","Statistic":"Sum","Period":60,"EvaluationPeriods":4611686018427387904,"Threshold":1,"ComparisonOperator":"LessThanThreshold"}`,
		`{"Namespace":"App","MetricName":"M","Statistic":"Sum","Period":1080863910568919040,"EvaluationPeriods":256,"Threshold":1,"ComparisonOperator":"LessThanThreshold"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var props map[string]any
		if json.Unmarshal([]byte(text), &props) != nil || props == nil {
			return
		}
		r := stacks.Request{LogicalID: "R", Name: "stack-R-ABC", Properties: props}
		check := func(what string, err error) {
			if err != nil && !errs.Is(err, errs.Invalid) {
				t.Fatalf("%s of %s: %v is not Invalid", what, text, err)
			}
		}
		_, err := deploymentPolicy(r)
		check("DeploymentConfig", err)
		_, err = ruleInput(r, "n", "default")
		check("rule", err)
		_, err = ruleTargets(r, props)
		check("Targets", err)
		_, err = ruleBus(r)
		check("EventBusName", err)
		_, err = pipelineDefinition(r)
		check("PipelineDefinition", err)
		_, err = pipelineParallel(r)
		check("ParallelismConfiguration", err)
		_, _, _, err = inlineSpec(r, props)
		check("IAM policy", err)
		_, err = policyPrincipals(r, props)
		check("principals", err)
		pl, err := codePipelineProvider{}.pipeline(r)
		check("AWS::CodePipeline::Pipeline", err)
		_, err = codePipelineProvider{}.inboundDisabled(r, pl)
		check("DisableInboundStageTransitions", err)
		_, err = buildProjectProvider{}.project(r)
		check("AWS::CodeBuild::Project", err)
		a, err := alarmOf("stack-R-ABC", props)
		check("AWS::CloudWatch::Alarm", err)
		if err == nil {
			// What the reader accepts, PutMetricAlarm's checks accept or refuse as Invalid; an
			// accepted alarm evaluates at most a week of periods (the evaluator allocates one
			// window per period).
			err = alarms.CheckAlarm(&a)
			check("the alarm's definition", err)
			if err == nil && (a.Period <= 0 || a.EvaluationPeriods < 1 || a.EvaluationPeriods > 7*24*3600/a.Period) {
				t.Fatalf("CheckAlarm accepted Period %d × EvaluationPeriods %d from %s", a.Period, a.EvaluationPeriods, text)
			}
		}
	})
}
