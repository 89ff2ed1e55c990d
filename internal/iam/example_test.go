package iam_test

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/iam"
)

// A staging account reads a model package group in the data-science account: the cross-account
// request needs the group's resource policy and the caller's identity policy. Documents are
// checked with Validate where they are written and parsed with ParseStored for decisions.
func Example() {
	groupPolicy, err := iam.ParseStored(iam.Resource, `{"Version":"2012-10-17","Statement":[{"Sid":"StagingReads",
		"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},
		"Action":["sagemaker:DescribeModelPackage*","sagemaker:ListModelPackages"],
		"Resource":"arn:aws:sagemaker:us-east-1:111111111111:model-package*/churn*"}]}`)
	if err != nil {
		panic(err)
	}
	deployer, err := iam.ParseStored(iam.Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":"sagemaker:Describe*","Resource":"*"}]}`)
	if err != nil {
		panic(err)
	}
	req := iam.Request{
		Principal: iam.Principal{
			ARN:          "arn:aws:sts::222222222222:assumed-role/Deployer/pipeline",
			PrincipalARN: "arn:aws:iam::222222222222:role/Deployer",
			Account:      "222222222222",
		},
		Action:          "sagemaker:DescribeModelPackage",
		Resource:        "arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/3",
		ResourceAccount: "111111111111",
	}.WithGlobalKeys(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), "us-east-1", true)

	d := iam.Evaluate(req, iam.PolicySet{Identity: []*iam.Policy{deployer.WithName("DeployerRead")}, Resource: groupPolicy})
	fmt.Println(d.Allowed, d.Reason)

	_, err = iam.Validate(iam.RoleInlinePolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`)
	fmt.Println(err)
	// Output:
	// true allowed by identity policy "DeployerRead" Statement[0]; and by resource policy Statement[0] (Sid "StagingReads")
	// Statement[0]: Effect must be Allow or Deny, not "Permit"
}
