package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/slipwayclient"
)

// A team's template: a bucket (its seed code's home), a model package group named after the
// project (it takes Tags, so the project's tags land on it), a log group, and a parameter
// without a default that must match a pattern.
const teamManifest = `{"Name": "team-bucket", "Description": "a bucket, a group and a log group",
  "Parameters": [{"Name": "Team", "Description": "who owns it"}],
  "SeedCode": {"BucketOutput": "BucketName", "Prefix": "seed", "Archive": "seed.zip"}}`

const teamTemplate = `Parameters:
  SageMakerProjectName: {Type: String}
  SageMakerProjectId: {Type: String}
  Team: {Type: String, AllowedPattern: "^[a-z]+$"}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "proj-${SageMakerProjectId}"
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties:
      ModelPackageGroupName: !Ref SageMakerProjectName
      ModelPackageGroupDescription: a project's group
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/projects/${SageMakerProjectName}/${Team}"
Outputs:
  BucketName: {Value: !Ref Bucket}
  LogGroup: {Value: !Ref Logs}
`

func teamFiles() []slipwayclient.TemplateFile {
	return []slipwayclient.TemplateFile{{Path: "manifest.json", Content: []byte(teamManifest)}, {Path: "template.yaml", Content: []byte(teamTemplate)},
		{Path: "seed/config.json", Content: []byte(`{"stage": "dev"}`)}, {Path: "seed/src/README.md", Content: []byte("hello")}}
}

func smCfg(c *sagemaker.Client) aws.Config {
	o := c.Options()
	return aws.Config{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint, Retryer: connRetryer}
}

func waitProject(t *testing.T, sm *sagemaker.Client, name string, want ...smtypes.ProjectStatus) *sagemaker.DescribeProjectOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := sm.DescribeProject(context.Background(), &sagemaker.DescribeProjectInput{ProjectName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeProject %s: %v", name, err)
		}
		for _, w := range want {
			if out.ProjectStatus == w {
				return out
			}
		}
		if time.Now().After(deadline) {
			msg := ""
			if out.ServiceCatalogProvisionedProductDetails != nil {
				msg = aws.ToString(out.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage)
			}
			t.Fatalf("project %s is %s (%s), want %v", name, out.ProjectStatus, msg, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitProjectGone(t *testing.T, sm *sagemaker.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := sm.DescribeProject(context.Background(), &sagemaker.DescribeProjectInput{ProjectName: aws.String(name)})
		if err != nil {
			if code(err) != "ValidationException" {
				t.Fatalf("DescribeProject of a deleted project: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("project %s is still %s", name, out.ProjectStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func provisioning(template string, kv ...string) *smtypes.ServiceCatalogProvisioningDetails {
	d := &smtypes.ServiceCatalogProvisioningDetails{ProductId: aws.String(template)}
	for i := 0; i+1 < len(kv); i += 2 {
		d.ProvisioningParameters = append(d.ProvisioningParameters, smtypes.ProvisioningParameter{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return d
}

// TestProjectLifecycle: a team adds its template; a project made from it becomes a complete
// stack whose resources carry the project's tags, with the seed code (and its zip) in the
// project's bucket; an update of its parameters updates the stack; DeleteProject deletes the
// seed code, the stack and the project.
func TestProjectLifecycle(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := clientsOf(s.cfg("data-science"))
	sc := slipwayclient.New(s.cfg("data-science"))
	if _, _, err := sc.AddProjectTemplate(ctx, teamFiles()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sc.AddProjectTemplate(ctx, teamFiles()); code2(err) != "ResourceInUse" {
		t.Errorf("adding it twice: %v, want ResourceInUse", err)
	}
	list, err := sc.ListProjectTemplates(ctx)
	if err != nil || len(list) != 2 || list[0].TemplateName != "multi-account-deployment" || !list[0].BuiltIn || list[1].TemplateName != "team-bucket" || list[1].BuiltIn {
		t.Fatalf("ListProjectTemplates = %+v, %v", list, err)
	}
	desc, err := sc.DescribeProjectTemplate(ctx, "team-bucket")
	if err != nil || len(desc.SeedCode) != 2 || len(desc.Parameters) != 3 {
		t.Fatalf("DescribeProjectTemplate = %+v, %v", desc, err)
	}

	out, err := ds.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String("churn"), ProjectDescription: aws.String("churn model"),
		ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml"), Tags: []smtypes.Tag{{Key: aws.String("cost-center"), Value: aws.String("42")}}})
	if err != nil {
		t.Fatal(err)
	}
	p := waitProject(t, ds.sm, "churn", smtypes.ProjectStatusCreateCompleted, smtypes.ProjectStatusCreateFailed)
	if p.ProjectStatus != smtypes.ProjectStatusCreateCompleted {
		t.Fatalf("project: %s %s", p.ProjectStatus, aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage))
	}
	if aws.ToString(p.ProjectId) != aws.ToString(out.ProjectId) || aws.ToString(p.ProjectArn) != "arn:aws:sagemaker:us-east-1:"+s.account["data-science"]+":project/churn" ||
		aws.ToString(p.ServiceCatalogProvisioningDetails.ProductId) != "team-bucket" || p.CreatedBy == nil {
		t.Errorf("DescribeProject = %+v", p)
	}
	id := aws.ToString(out.ProjectId)
	stackName := "SC-" + s.account["data-science"] + "-pp-" + strings.TrimPrefix(id, "p-")
	cf := cfnOf(ds.sm)
	st := waitStack(t, cf, stackName)
	tags := map[string]string{}
	for _, tg := range st.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["sagemaker:project-name"] != "churn" || tags["sagemaker:project-id"] != id || tags["cost-center"] != "42" {
		t.Errorf("stack tags = %v", tags)
	}
	group, err := ds.sm.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	if err != nil || outputOf(waitStack(t, cf, stackName), "LogGroup") != "/projects/churn/ml" {
		t.Fatalf("the project's group: %+v, %v", group, err)
	}
	gt, err := ds.sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: group.ModelPackageGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	gtags := map[string]string{}
	for _, tg := range gt.Tags {
		gtags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if gtags["sagemaker:project-name"] != "churn" || gtags["sagemaker:project-id"] != id {
		t.Errorf("group tags = %v, want the project's", gtags)
	}
	bucket := "proj-" + id
	get := func(key string) []byte {
		o, err := ds.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("seed %s: %v", key, err)
		}
		defer o.Body.Close()
		b, _ := io.ReadAll(o.Body)
		return b
	}
	if got := string(get("seed/src/README.md")); got != "hello" {
		t.Errorf("seed/src/README.md = %q", got)
	}
	z, err := zip.NewReader(bytes.NewReader(get("seed/seed.zip")), int64(len(get("seed/seed.zip"))))
	if err != nil || len(z.File) != 2 || z.File[0].Name != "config.json" {
		t.Errorf("seed.zip: %v, %v", z, err)
	}

	ps, err := ds.sm.ListProjects(ctx, &sagemaker.ListProjectsInput{})
	if err != nil || len(ps.ProjectSummaryList) != 1 || aws.ToString(ps.ProjectSummaryList[0].ProjectName) != "churn" {
		t.Errorf("ListProjects = %+v, %v", ps, err)
	}

	// An update of the parameters updates the stack.
	_, err = ds.sm.UpdateProject(ctx, &sagemaker.UpdateProjectInput{ProjectName: aws.String("churn"),
		ServiceCatalogProvisioningUpdateDetails: &smtypes.ServiceCatalogProvisioningUpdateDetails{ProvisioningParameters: []smtypes.ProvisioningParameter{{Key: aws.String("Team"), Value: aws.String("ops")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := waitProject(t, ds.sm, "churn", smtypes.ProjectStatusUpdateCompleted, smtypes.ProjectStatusUpdateFailed); p.ProjectStatus != smtypes.ProjectStatusUpdateCompleted {
		t.Fatalf("update: %s %s", p.ProjectStatus, aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage))
	}
	if got := outputOf(waitStack(t, cf, stackName), "LogGroup"); got != "/projects/churn/ops" {
		t.Errorf("after the update, the log group is %s", got)
	}

	if _, err := ds.sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: aws.String("churn")}); err != nil {
		t.Fatal(err)
	}
	waitProjectGone(t, ds.sm, "churn")
	if _, err := ds.sm.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")}); err == nil {
		t.Error("the project's group survives its deletion")
	}
	if _, err := ds.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		t.Error("the project's bucket survives its deletion")
	}
	stacks, err := cf.ListStacks(ctx, &cloudformation.ListStacksInput{StackStatusFilter: []cfntypes.StackStatus{cfntypes.StackStatusCreateComplete, cfntypes.StackStatusUpdateComplete}})
	if err != nil || len(stacks.StackSummaries) != 0 {
		t.Errorf("live stacks after DeleteProject: %+v, %v", stacks, err)
	}
	// The name is free again.
	if _, err := ds.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String("churn"), ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml")}); err != nil {
		t.Errorf("a new project churn: %v", err)
	}
}

func outputOf(st cfntypes.Stack, key string) string {
	for _, o := range st.Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

func code2(err error) string {
	if e, ok := err.(*slipwayclient.Error); ok {
		return e.Code
	}
	return code(err)
}
