package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// registryEnv is a server with a group "g" of data-science holding one version, and the
// SageMaker clients of the data-science and staging admins.
type registryEnv struct {
	s                 *server
	ds, staging       *sagemaker.Client
	dsIAM             *iam.Client
	dsAcct, stAcct    string
	groupARN, pkgsARN string
}

func newRegistryEnv(t *testing.T) *registryEnv {
	ctx := context.Background()
	s := start(t, "")
	e := &registryEnv{s: s, ds: sagemaker.NewFromConfig(s.cfg("data-science")), staging: sagemaker.NewFromConfig(s.cfg("staging")),
		dsIAM: iam.NewFromConfig(s.cfg("data-science")), dsAcct: s.account["data-science"], stAcct: s.account["staging"]}
	out, err := e.ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	e.groupARN = *out.ModelPackageGroupArn
	e.pkgsARN = fmt.Sprintf("arn:aws:sagemaker:us-east-1:%s:model-package/g/*", e.dsAcct)
	return e
}

// userWith creates a data-science user holding policy and returns its SageMaker client.
func (e *registryEnv) userWith(t *testing.T, name, policy string) *sagemaker.Client {
	t.Helper()
	ctx := context.Background()
	if _, err := e.dsIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dsIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	k, err := e.dsIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return sagemaker.NewFromConfig(e.s.cfgFor(credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
}

func (e *registryEnv) share(t *testing.T, statements ...string) {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
	if _, err := e.ds.PutModelPackageGroupPolicy(context.Background(), &sagemaker.PutModelPackageGroupPolicyInput{ModelPackageGroupName: aws.String("g"), ResourcePolicy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
}

// TestListModelPackagesDenyOnPackagesStandsOverTheWire is issue 6's hole 2 as it was found: a
// group policy allowing staging ListModelPackages on the group and denying it on the packages
// let staging list (the Deny was retried away).
func TestListModelPackagesDenyOnPackagesStandsOverTheWire(t *testing.T) {
	ctx := context.Background()
	e := newRegistryEnv(t)
	root := fmt.Sprintf(`{"AWS":"arn:aws:iam::%s:root"}`, e.stAcct)
	e.share(t,
		fmt.Sprintf(`{"Effect":"Allow","Principal":%s,"Action":"sagemaker:ListModelPackages","Resource":["%s","%s"]}`, root, e.groupARN, e.pkgsARN),
		fmt.Sprintf(`{"Effect":"Deny","Principal":%s,"Action":"sagemaker:ListModelPackages","Resource":"%s"}`, root, e.pkgsARN))
	_, err := e.staging.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(e.groupARN)})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("staging lists past the group policy's Deny: err = %v", err)
	}
	if !strings.Contains(err.Error(), "explicit deny") {
		t.Errorf("the denial does not say an explicit deny decided: %v", err)
	}
	reader := e.userWith(t, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"sagemaker:ListModelPackages","Resource":"`+e.pkgsARN+`"}]}`)
	if _, err := reader.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("g")}); code(err) != "AccessDeniedException" {
		t.Errorf("identity-policy Deny on the packages: err = %v, want AccessDeniedException", err)
	}
}

// TestTagConditionsOverTheWire: a group tagged frozen=true stops ListModelPackages and
// CreateModelPackage under a tag-conditioned Deny (hole 3), and FROZEN=false beside it does not
// weaken that Deny on DescribeModelPackageGroup, 30 times out of 30 (hole 4).
func TestTagConditionsOverTheWire(t *testing.T) {
	ctx := context.Background()
	e := newRegistryEnv(t)
	tag := func(k, v string) smtypes.Tag { return smtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := e.ds.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(e.groupARN), Tags: []smtypes.Tag{tag("frozen", "true")}}); err != nil {
		t.Fatal(err)
	}
	u := e.userWith(t, "builder", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":["sagemaker:ListModelPackages","sagemaker:CreateModelPackage","sagemaker:DescribeModelPackageGroup"],"Resource":"*",
		 "Condition":{"StringEquals":{"aws:ResourceTag/frozen":"true"}}}]}`)
	if _, err := u.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("g")}); code(err) != "AccessDeniedException" {
		t.Errorf("ListModelPackages of a frozen group: err = %v, want AccessDeniedException", err)
	}
	if _, err := u.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("g")}); code(err) != "AccessDeniedException" {
		t.Errorf("CreateModelPackage in a frozen group: err = %v, want AccessDeniedException", err)
	}
	if _, err := e.ds.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(e.groupARN), Tags: []smtypes.Tag{tag("FROZEN", "false")}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.ds.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(e.groupARN)})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("ListTags = %v, %v; want frozen and FROZEN, two keys", tags, err)
	}
	denied := 0
	for i := 0; i < 30; i++ {
		if _, err := u.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("g")}); code(err) == "AccessDeniedException" {
			denied++
		}
	}
	if denied != 30 {
		t.Errorf("%d of 30 Describes denied with frozen=true and FROZEN=false, want 30", denied)
	}
}

// TestApprovalStatusConditionOverTheWire: a group policy granting staging CreateModelPackage
// only with sagemaker:ModelApprovalStatus = PendingManualApproval keeps staging from
// registering packages already Approved.
func TestApprovalStatusConditionOverTheWire(t *testing.T) {
	ctx := context.Background()
	e := newRegistryEnv(t)
	e.share(t, fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sagemaker:CreateModelPackage","Resource":"%s",
		"Condition":{"StringEquals":{"sagemaker:ModelApprovalStatus":"PendingManualApproval"}}}`, e.stAcct, e.pkgsARN))
	_, err := e.staging.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String(e.groupARN), ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
	if code(err) != "AccessDeniedException" {
		t.Errorf("staging registers Approved: err = %v, want AccessDeniedException", err)
	}
	if _, err := e.staging.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String(e.groupARN)}); err != nil {
		t.Errorf("staging registers for review: %v", err)
	}
	ps, err := e.ds.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps.ModelPackageSummaryList {
		if p.ModelApprovalStatus != smtypes.ModelApprovalStatusPendingManualApproval {
			t.Errorf("%s is %s", *p.ModelPackageArn, p.ModelApprovalStatus)
		}
	}
}

// TestTagRulesOverTheWire: 50 tags at most, ListTags pages, an ARN of another region is refused (ValidationException),
// without writing, and another account reaches no tags even when the group policy grants it all.
func TestTagRulesOverTheWire(t *testing.T) {
	ctx := context.Background()
	e := newRegistryEnv(t)
	var tags []smtypes.Tag
	for i := 0; i < 50; i++ {
		tags = append(tags, smtypes.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
	}
	if _, err := e.ds.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(e.groupARN), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	_, err := e.ds.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(e.groupARN), Tags: []smtypes.Tag{{Key: aws.String("one-more"), Value: aws.String("v")}}})
	if code(err) != "ValidationException" {
		t.Errorf("a 51st tag: err = %v, want ValidationException", err)
	}
	page, err := e.ds.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(e.groupARN), MaxResults: aws.Int32(50)})
	if err != nil || len(page.Tags) != 50 || page.NextToken != nil {
		t.Errorf("ListTags MaxResults 50 = %d tags, token %v, %v; want 50 and no token", len(page.Tags), page.NextToken, err)
	}
	if _, err := e.ds.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(e.groupARN), NextToken: aws.String("bogus")}); code(err) != "ValidationException" {
		t.Errorf("ListTags with a forged NextToken: err = %v, want ValidationException", err)
	}

	west := strings.Replace(e.groupARN, "us-east-1", "us-west-2", 1)
	if _, err := e.ds.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(west), Tags: tags[:1]}); code(err) != "ValidationException" {
		t.Errorf("AddTags on %s: err = %v, want ValidationException (another region)", west, err)
	}
	if _, err := e.ds.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(west)}); code(err) != "ValidationException" {
		t.Errorf("ListTags on %s: err = %v, want ValidationException (another region)", west, err)
	}

	e.share(t, fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sagemaker:*","Resource":"*"}`, e.stAcct))
	if _, err := e.staging.AddTags(ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(e.groupARN), Tags: tags[:1]}); code(err) != "AccessDeniedException" {
		t.Errorf("cross-account AddTags: err = %v, want AccessDeniedException", err)
	}
	if _, err := e.staging.DeleteTags(ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(e.groupARN), TagKeys: []string{"k00"}}); code(err) != "AccessDeniedException" {
		t.Errorf("cross-account DeleteTags: err = %v, want AccessDeniedException", err)
	}
	if _, err := e.staging.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(e.groupARN)}); code(err) != "AccessDeniedException" {
		t.Errorf("cross-account ListTags: err = %v, want AccessDeniedException", err)
	}
	if page, err := e.ds.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(e.groupARN)}); err != nil || len(page.Tags) != 50 {
		t.Errorf("after the refused calls: %d tags, %v; want the 50", len(page.Tags), err)
	}
}
