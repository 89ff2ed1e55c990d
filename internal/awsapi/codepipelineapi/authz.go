package codepipelineapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of CodePipeline's operations, as IAM names them: a pipeline, a stage of one
// (EnableStageTransition, DisableStageTransition, RetryStageExecution), or an action of one of
// its stages (PutApprovalResult).
const (
	pipelineARN = "arn:aws:codepipeline:{Region}:{Account}:{Name}"
	stageARN    = "arn:aws:codepipeline:{Region}:{Account}:{Name}/{Stage}"
	actionARN   = "arn:aws:codepipeline:{Region}:{Account}:{Name}/{Stage}/{Action}"
)

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "codepipeline:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("CreatePipeline", pipelineARN),
		op("GetPipeline", pipelineARN),
		op("UpdatePipeline", pipelineARN),
		op("DeletePipeline", pipelineARN),
		op("ListPipelines", "*"),
		op("StartPipelineExecution", pipelineARN),
		op("GetPipelineExecution", pipelineARN),
		op("ListPipelineExecutions", pipelineARN),
		op("GetPipelineState", pipelineARN),
		op("PutApprovalResult", actionARN),
		op("ListActionExecutions", pipelineARN),
		op("StopPipelineExecution", pipelineARN),
		op("EnableStageTransition", stageARN),
		op("DisableStageTransition", stageARN),
		op("RetryStageExecution", stageARN),
	}
}
