// The built-in multi-account-deployment template made into a project on a real server: every
// resource type it declares is made (a missing one makes the project CreateFailed, and this
// test fails). The whole story it enables runs in internal/cli's demo tests.

package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

func TestMultiAccountDeploymentProject(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := clientsOf(s.cfg("data-science"))
	roots, err := ds.org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ous, err := ds.org.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil {
		t.Fatal(err)
	}
	ou := map[string]string{}
	for _, o := range ous.OrganizationalUnits {
		ou[aws.ToString(o.Name)] = aws.ToString(o.Id)
	}
	if ou["staging"] == "" || ou["production"] == "" {
		t.Fatalf("the default organization's OUs: %v", ou)
	}
	for _, mode := range []string{"manual", "automated"} {
		name := "abalone-" + mode
		_, err := ds.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String(name),
			ServiceCatalogProvisioningDetails: provisioning("multi-account-deployment", "StagingOrganizationalUnitIds", ou["staging"],
				"ProductionOrganizationalUnitIds", ou["production"], "PromotionMode", mode)})
		if err != nil {
			t.Fatal(err)
		}
		p := waitProject(t, ds.sm, name, smtypes.ProjectStatusCreateCompleted, smtypes.ProjectStatusCreateFailed)
		if p.ProjectStatus != smtypes.ProjectStatusCreateCompleted {
			t.Fatalf("%s: %s: %s", name, p.ProjectStatus, aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage))
		}
		id := aws.ToString(p.ProjectId)
		policy, err := ds.sm.GetModelPackageGroupPolicy(ctx, &sagemaker.GetModelPackageGroupPolicyInput{ModelPackageGroupName: aws.String(name)})
		if err != nil || !strings.Contains(aws.ToString(policy.ResourcePolicy), ou["staging"]) || !strings.Contains(aws.ToString(policy.ResourcePolicy), ou["production"]) {
			t.Errorf("%s: group policy %v, %v", name, policy, err)
		}
		if _, err := ds.sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: aws.String(name + "-model-build")}); err != nil {
			t.Errorf("%s: the model-build pipeline: %v", name, err)
		}
		for _, key := range []string{"seed/seed.zip", "seed/staging-config.json", "seed/endpoint-config-template.yml"} {
			if _, err := ds.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sagemaker-project-" + id), Key: aws.String(key)}); err != nil {
				t.Errorf("%s: seed %s: %v", name, key, err)
			}
		}
	}
	for _, mode := range []string{"manual", "automated"} {
		if _, err := ds.sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: aws.String("abalone-" + mode)}); err != nil {
			t.Fatal(err)
		}
		waitProjectGone(t, ds.sm, "abalone-"+mode)
	}
}
