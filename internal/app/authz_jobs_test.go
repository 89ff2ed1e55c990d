package app_test

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// withJobCases adds the cases of the jobs' operations to the SageMaker cases.
func withJobCases(m map[string]opCase) map[string]opCase {
	for op, c := range jobCases() {
		m[op] = c
	}
	return m
}

const sagemakerTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// jobRole makes a role SageMaker may assume and returns its ARN.
func (e *authzEnv) jobRole() string {
	out, err := e.admin.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(e.name("jobrole")), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	e.must(err)
	return *out.Role.Arn
}

func trainingInput(name, role string) *sagemaker.CreateTrainingJobInput {
	return &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(name), RoleArn: aws.String(role),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{TrainingImage: aws.String("slipway/none"), TrainingInputMode: smtypes.TrainingInputModeFile},
		OutputDataConfig:       &smtypes.OutputDataConfig{S3OutputPath: aws.String("s3://authz-out/models")},
		ResourceConfig:         &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(1)},
		StoppingCondition:      &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
	}
}

func processingInput(name, role string) *sagemaker.CreateProcessingJobInput {
	return &sagemaker.CreateProcessingJobInput{
		ProcessingJobName: aws.String(name), RoleArn: aws.String(role),
		AppSpecification: &smtypes.AppSpecification{ImageUri: aws.String("slipway/none")},
		ProcessingResources: &smtypes.ProcessingResources{ClusterConfig: &smtypes.ProcessingClusterConfig{
			InstanceType: smtypes.ProcessingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(1)}},
	}
}

func transformInput(name string) *sagemaker.CreateTransformJobInput {
	return &sagemaker.CreateTransformJobInput{
		TransformJobName: aws.String(name), ModelName: aws.String("authz-model"),
		TransformInput: &smtypes.TransformInput{DataSource: &smtypes.TransformDataSource{S3DataSource: &smtypes.TransformS3DataSource{
			S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://authz-in/data")}}},
		TransformOutput:    &smtypes.TransformOutput{S3OutputPath: aws.String("s3://authz-out/batch")},
		TransformResources: &smtypes.TransformResources{InstanceType: smtypes.TransformInstanceTypeMlM5Large, InstanceCount: aws.Int32(1)},
	}
}

// stopped treats the refusal to stop a job that ended already as success: the engine may end a
// job (here, one it cannot run) before the case stops it, and that refusal comes after the
// authorization this test is about.
func stopped(err error) error {
	if err != nil && strings.Contains(err.Error(), "only a job in progress can be stopped") {
		return nil
	}
	return err
}

func jobCases() map[string]opCase {
	none := func(*authzEnv) map[string]string { return map[string]string{} }
	newTraining := func(e *authzEnv) map[string]string {
		return map[string]string{"TrainingJobName": e.name("tj"), "RoleArn": e.jobRole()}
	}
	training := func(e *authzEnv) map[string]string {
		v := newTraining(e)
		_, err := e.admin.sm.CreateTrainingJob(context.Background(), trainingInput(v["TrainingJobName"], v["RoleArn"]))
		e.must(err)
		return v
	}
	newProcessing := func(e *authzEnv) map[string]string {
		return map[string]string{"ProcessingJobName": e.name("pj"), "RoleArn": e.jobRole()}
	}
	processing := func(e *authzEnv) map[string]string {
		v := newProcessing(e)
		_, err := e.admin.sm.CreateProcessingJob(context.Background(), processingInput(v["ProcessingJobName"], v["RoleArn"]))
		e.must(err)
		return v
	}
	newTransform := func(e *authzEnv) map[string]string { return map[string]string{"TransformJobName": e.name("xj")} }
	transform := func(e *authzEnv) map[string]string {
		v := newTransform(e)
		_, err := e.admin.sm.CreateTransformJob(context.Background(), transformInput(v["TransformJobName"]))
		e.must(err)
		return v
	}
	type call = func(ctx context.Context, e *authzEnv, v map[string]string) error
	c := func(setup func(*authzEnv) map[string]string, f call) opCase { return opCase{setup, f} }
	return map[string]opCase{
		"CreateTrainingJob": c(newTraining, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreateTrainingJob(ctx, trainingInput(v["TrainingJobName"], v["RoleArn"]))
			return err
		}),
		"DescribeTrainingJob": c(training, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(v["TrainingJobName"])})
			return err
		}),
		"ListTrainingJobs": c(none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{})
			return err
		}),
		"StopTrainingJob": c(training, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String(v["TrainingJobName"])})
			return stopped(err)
		}),
		"CreateProcessingJob": c(newProcessing, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreateProcessingJob(ctx, processingInput(v["ProcessingJobName"], v["RoleArn"]))
			return err
		}),
		"DescribeProcessingJob": c(processing, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribeProcessingJob(ctx, &sagemaker.DescribeProcessingJobInput{ProcessingJobName: aws.String(v["ProcessingJobName"])})
			return err
		}),
		"ListProcessingJobs": c(none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{})
			return err
		}),
		"StopProcessingJob": c(processing, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.StopProcessingJob(ctx, &sagemaker.StopProcessingJobInput{ProcessingJobName: aws.String(v["ProcessingJobName"])})
			return stopped(err)
		}),
		"CreateTransformJob": c(newTransform, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreateTransformJob(ctx, transformInput(v["TransformJobName"]))
			return err
		}),
		"DescribeTransformJob": c(transform, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(v["TransformJobName"])})
			return err
		}),
		"ListTransformJobs": c(none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListTransformJobs(ctx, &sagemaker.ListTransformJobsInput{})
			return err
		}),
		"StopTransformJob": c(transform, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.StopTransformJob(ctx, &sagemaker.StopTransformJobInput{TransformJobName: aws.String(v["TransformJobName"])})
			return stopped(err)
		}),
	}
}
