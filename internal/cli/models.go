package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

var modelsLineageHelp = helpText{
	usage: "slipway models lineage GROUP/VERSION [flags]",
	desc: `Prints where a registered model version came from, through the server's SageMaker API:
the model package, the pipeline execution that registered it (MetadataProperties.GeneratedBy),
the RegisterModel step, the training job that produced its model data and that job's input
data URIs (one line per channel). The step and the training job are the ones the pipelines
engine records in the package's CustomerMetadataProperties (slipway:PipelineStepName,
slipway:TrainingStepName, slipway:TrainingJobArn).`,
	example: `slipway models lineage abalone/1 --profile data-science`,
}

// runModelsLineage runs slipway models lineage.
func runModelsLineage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("models lineage", modelsLineageHelp, stdout, stderr)
	var cf clientFlags
	cf.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	group, version, err := oneVersion(pos)
	if err != nil {
		return err
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	return printLineage(ctx, sagemaker.NewFromConfig(cfg), stdout, group, version)
}

// printLineage follows a model version back to its execution, step, training job and data.
func printLineage(ctx context.Context, sm *sagemaker.Client, w io.Writer, group string, version int32) error {
	var pkgARN string
	p := sagemaker.NewListModelPackagesPaginator(sm, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(group)})
	for p.HasMorePages() && pkgARN == "" {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range page.ModelPackageSummaryList {
			if aws.ToInt32(s.ModelPackageVersion) == version {
				pkgARN = aws.ToString(s.ModelPackageArn)
			}
		}
	}
	if pkgARN == "" {
		return fmt.Errorf("model package group %s has no version %d", group, version)
	}
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(pkgARN)})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "model package  %s (%s)\n", pkgARN, pkg.ModelApprovalStatus)
	if pkg.InferenceSpecification != nil {
		for _, c := range pkg.InferenceSpecification.Containers {
			if u := aws.ToString(c.ModelDataUrl); u != "" {
				fmt.Fprintf(w, "  model data   %s\n", u)
			}
		}
	}
	execution := ""
	if pkg.MetadataProperties != nil {
		execution = aws.ToString(pkg.MetadataProperties.GeneratedBy)
	}
	if execution == "" {
		fmt.Fprintln(w, "execution      (none recorded: the version was not registered by a pipeline)")
		return nil
	}
	md := pkg.CustomerMetadataProperties
	x, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(execution)})
	if err != nil {
		return fmt.Errorf("the package names execution %s: %w", execution, err)
	}
	fmt.Fprintf(w, "execution      %s (%s)\n", execution, x.PipelineExecutionStatus)
	steps, err := sm.ListPipelineExecutionSteps(ctx, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(execution)})
	if err != nil {
		return err
	}
	stepLine := func(label, name string) {
		for _, s := range steps.PipelineExecutionSteps {
			if aws.ToString(s.StepName) == name {
				fmt.Fprintf(w, "%-14s %s (%s)\n", label, name, s.StepStatus)
				return
			}
		}
		fmt.Fprintf(w, "%-14s %s (not in the execution)\n", label, name)
	}
	if name := md["slipway:PipelineStepName"]; name != "" {
		stepLine("step", name)
	}
	job := md["slipway:TrainingJobArn"]
	if job == "" {
		fmt.Fprintln(w, "training job   (none recorded: no Training step of the execution produced the model data)")
		return nil
	}
	if name := md["slipway:TrainingStepName"]; name != "" {
		stepLine("training step", name)
	}
	jobName := job[strings.LastIndex(job, "/")+1:]
	tj, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(jobName)})
	if err != nil {
		return fmt.Errorf("the package names training job %s: %w", job, err)
	}
	fmt.Fprintf(w, "training job   %s (%s)\n", aws.ToString(tj.TrainingJobArn), tj.TrainingJobStatus)
	inputs := map[string]string{}
	var channels []string
	for _, c := range tj.InputDataConfig {
		if c.DataSource != nil && c.DataSource.S3DataSource != nil {
			inputs[aws.ToString(c.ChannelName)] = aws.ToString(c.DataSource.S3DataSource.S3Uri)
			channels = append(channels, aws.ToString(c.ChannelName))
		}
	}
	sort.Strings(channels)
	for _, c := range channels {
		fmt.Fprintf(w, "  input %-6s %s\n", c, inputs[c])
	}
	if tj.ModelArtifacts != nil {
		fmt.Fprintf(w, "  output       %s\n", aws.ToString(tj.ModelArtifacts.S3ModelArtifacts))
	}
	return nil
}
