package arn

// CodeBuildProject returns a build project's ARN: arn:aws:codebuild:REGION:ACCOUNT:project/NAME.
func CodeBuildProject(region, account, name string) string {
	return "arn:aws:codebuild:" + region + ":" + account + ":project/" + name
}

// CodeBuildBuild returns a build's ARN: arn:aws:codebuild:REGION:ACCOUNT:build/PROJECT:UUID.
func CodeBuildBuild(region, account, id string) string {
	return "arn:aws:codebuild:" + region + ":" + account + ":build/" + id
}
