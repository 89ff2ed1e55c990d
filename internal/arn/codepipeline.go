package arn

// CodePipeline returns a deploy pipeline's ARN: arn:aws:codepipeline:REGION:ACCOUNT:NAME.
func CodePipeline(region, account, name string) string {
	return "arn:aws:codepipeline:" + region + ":" + account + ":" + name
}

// CodePipelineAction returns the ARN IAM names an action of a pipeline's stage by
// (codepipeline:PutApprovalResult is authorized on it): …:PIPELINE/STAGE/ACTION.
func CodePipelineAction(region, account, pipeline, stage, action string) string {
	return CodePipeline(region, account, pipeline+"/"+stage+"/"+action)
}

// CodePipelineStage returns the ARN IAM names a stage of a pipeline by
// (codepipeline:EnableStageTransition, DisableStageTransition and RetryStageExecution are
// authorized on it): …:PIPELINE/STAGE.
func CodePipelineStage(region, account, pipeline, stage string) string {
	return CodePipeline(region, account, pipeline+"/"+stage)
}
