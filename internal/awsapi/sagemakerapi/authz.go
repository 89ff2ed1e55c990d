package sagemakerapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of the registry's operations (see docs/registry.md).
const (
	groupARN    = "arn:aws:sagemaker:{Region}:{Account}:model-package-group/{ModelPackageGroupName}"
	packagesARN = "arn:aws:sagemaker:{Region}:{Account}:model-package/{ModelPackageGroupName}/*"
	packageARN  = "arn:aws:sagemaker:{Region}:{Account}:model-package/{ModelPackageGroupName}/{ModelPackageVersion}"
	taggedARN   = "{ResourceArn}"

	trainingJobARN   = "arn:aws:sagemaker:{Region}:{Account}:training-job/{TrainingJobName}"
	processingJobARN = "arn:aws:sagemaker:{Region}:{Account}:processing-job/{ProcessingJobName}"
	transformJobARN  = "arn:aws:sagemaker:{Region}:{Account}:transform-job/{TransformJobName}"

	modelARN          = "arn:aws:sagemaker:{Region}:{Account}:model/{ModelName}"
	endpointConfigARN = "arn:aws:sagemaker:{Region}:{Account}:endpoint-config/{EndpointConfigName}"
	endpointARN       = "arn:aws:sagemaker:{Region}:{Account}:endpoint/{EndpointName}"
)

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	return append([]awsapi.Authz{
		{Operation: "CreateModelPackageGroup", Action: "sagemaker:CreateModelPackageGroup", Resources: []string{groupARN}},
		{Operation: "DescribeModelPackageGroup", Action: "sagemaker:DescribeModelPackageGroup", Resources: []string{groupARN}, Tagged: true},
		{Operation: "ListModelPackageGroups", Action: "sagemaker:ListModelPackageGroups", Resources: []string{"*"}},
		{Operation: "DeleteModelPackageGroup", Action: "sagemaker:DeleteModelPackageGroup", Resources: []string{groupARN}, Tagged: true},
		{Operation: "PutModelPackageGroupPolicy", Action: "sagemaker:PutModelPackageGroupPolicy", Resources: []string{groupARN}, Tagged: true},
		{Operation: "GetModelPackageGroupPolicy", Action: "sagemaker:GetModelPackageGroupPolicy", Resources: []string{groupARN}, Tagged: true},
		{Operation: "DeleteModelPackageGroupPolicy", Action: "sagemaker:DeleteModelPackageGroupPolicy", Resources: []string{groupARN}, Tagged: true},
		// The new version has no tags: the group's are the resource tags.
		{Operation: "CreateModelPackage", Action: "sagemaker:CreateModelPackage", Resources: []string{packagesARN}, Tagged: true},
		{Operation: "DescribeModelPackage", Action: "sagemaker:DescribeModelPackage", Resources: []string{packageARN}, Tagged: true},
		// Either resource may grant; a Deny on either denies. The group's tags apply to both.
		{Operation: "ListModelPackages", Action: "sagemaker:ListModelPackages", Resources: []string{packagesARN, groupARN}, Tagged: true},
		{Operation: "UpdateModelPackage", Action: "sagemaker:UpdateModelPackage", Resources: []string{packageARN}, Tagged: true},
		{Operation: "DeleteModelPackage", Action: "sagemaker:DeleteModelPackage", Resources: []string{packageARN}, Tagged: true},
		{Operation: "AddTags", Action: "sagemaker:AddTags", Resources: []string{taggedARN}, Tagged: true},
		{Operation: "ListTags", Action: "sagemaker:ListTags", Resources: []string{taggedARN}, Tagged: true},
		{Operation: "DeleteTags", Action: "sagemaker:DeleteTags", Resources: []string{taggedARN}, Tagged: true},
		// Jobs (docs/jobs.md). Creating a training or processing job also needs iam:PassRole on
		// its RoleArn with iam:PassedToService sagemaker.amazonaws.com, decided by the identity
		// service. A job's tags are stored with it but are not yet aws:ResourceTag/* keys.
		{Operation: "CreateTrainingJob", Action: "sagemaker:CreateTrainingJob", Resources: []string{trainingJobARN}},
		{Operation: "DescribeTrainingJob", Action: "sagemaker:DescribeTrainingJob", Resources: []string{trainingJobARN}},
		{Operation: "ListTrainingJobs", Action: "sagemaker:ListTrainingJobs", Resources: []string{"*"}},
		{Operation: "StopTrainingJob", Action: "sagemaker:StopTrainingJob", Resources: []string{trainingJobARN}},
		{Operation: "CreateProcessingJob", Action: "sagemaker:CreateProcessingJob", Resources: []string{processingJobARN}},
		{Operation: "DescribeProcessingJob", Action: "sagemaker:DescribeProcessingJob", Resources: []string{processingJobARN}},
		{Operation: "ListProcessingJobs", Action: "sagemaker:ListProcessingJobs", Resources: []string{"*"}},
		{Operation: "StopProcessingJob", Action: "sagemaker:StopProcessingJob", Resources: []string{processingJobARN}},
		{Operation: "CreateTransformJob", Action: "sagemaker:CreateTransformJob", Resources: []string{transformJobARN}},
		{Operation: "DescribeTransformJob", Action: "sagemaker:DescribeTransformJob", Resources: []string{transformJobARN}},
		{Operation: "ListTransformJobs", Action: "sagemaker:ListTransformJobs", Resources: []string{"*"}},
		{Operation: "StopTransformJob", Action: "sagemaker:StopTransformJob", Resources: []string{transformJobARN}},
		// Serving (docs/serving.md). Resource names are lower case in ARNs, as SageMaker writes
		// them. CreateModel also needs iam:PassRole on its ExecutionRoleArn (to
		// sagemaker.amazonaws.com) and, for a ModelPackageName, sagemaker:DescribeModelPackage
		// on the package (another account's only when its group policy grants it); the role
		// must be able to read the model data. Tags are stored but are not aws:ResourceTag/* keys.
		{Operation: "CreateModel", Action: "sagemaker:CreateModel", Resources: []string{modelARN}},
		{Operation: "DescribeModel", Action: "sagemaker:DescribeModel", Resources: []string{modelARN}},
		{Operation: "ListModels", Action: "sagemaker:ListModels", Resources: []string{"*"}},
		{Operation: "DeleteModel", Action: "sagemaker:DeleteModel", Resources: []string{modelARN}},
		{Operation: "CreateEndpointConfig", Action: "sagemaker:CreateEndpointConfig", Resources: []string{endpointConfigARN}},
		{Operation: "DescribeEndpointConfig", Action: "sagemaker:DescribeEndpointConfig", Resources: []string{endpointConfigARN}},
		{Operation: "ListEndpointConfigs", Action: "sagemaker:ListEndpointConfigs", Resources: []string{"*"}},
		{Operation: "DeleteEndpointConfig", Action: "sagemaker:DeleteEndpointConfig", Resources: []string{endpointConfigARN}},
		{Operation: "CreateEndpoint", Action: "sagemaker:CreateEndpoint", Resources: []string{endpointARN}},
		{Operation: "DescribeEndpoint", Action: "sagemaker:DescribeEndpoint", Resources: []string{endpointARN}},
		{Operation: "ListEndpoints", Action: "sagemaker:ListEndpoints", Resources: []string{"*"}},
		{Operation: "UpdateEndpoint", Action: "sagemaker:UpdateEndpoint", Resources: []string{endpointARN}},
		{Operation: "UpdateEndpointWeightsAndCapacities", Action: "sagemaker:UpdateEndpointWeightsAndCapacities", Resources: []string{endpointARN}},
		{Operation: "DeleteEndpoint", Action: "sagemaker:DeleteEndpoint", Resources: []string{endpointARN}},
	}, append(pipelineOperations(), projectOperations()...)...)
}
