package codebuildapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// projectARN is the resource of CodeBuild's operations, as IAM names it: a build project
// (builds are authorized on their project).
const projectARN = "arn:aws:codebuild:{Region}:{Account}:project/{Name}"

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "codebuild:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("CreateProject", projectARN),
		op("UpdateProject", projectARN),
		op("BatchGetProjects", projectARN),
		op("ListProjects", "*"),
		op("DeleteProject", projectARN),
		op("StartBuild", projectARN),
		op("BatchGetBuilds", projectARN),
		op("ListBuildsForProject", projectARN),
		op("StopBuild", projectARN),
	}
}
