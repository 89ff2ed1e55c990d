package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/credfile"
)

// readProfile reads one profile's long-term keys from an AWS shared-credentials file.
func readProfile(t *testing.T, path, profile string) aws.Credentials {
	t.Helper()
	profiles, err := credfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := profiles[profile]
	if p.AccessKeyID == "" || p.SecretAccessKey == "" {
		t.Fatalf("%s has no keys for profile [%s]", path, profile)
	}
	return aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
}

func sdkConfig(endpoint string, c aws.Credentials) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.StaticCredentialsProvider{Value: c},
		RetryMaxAttempts: 1,
	}
}

// TestRestartKeepsState stops a server and starts another on the same data directory: the
// credentials file is left alone, its keys and temporary credentials issued before the restart
// still work, and the registry carries on where it stood (approval kept, next version numbered on).
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := startServer(t)
	ds := readProfile(t, s.Creds, "data-science")
	sm := sagemaker.NewFromConfig(sdkConfig(s.URL, ds))
	if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("restart")}); err != nil {
		t.Fatalf("CreateModelPackageGroup: %v", err)
	}
	var arns []string
	for range 2 {
		out, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("restart")})
		if err != nil {
			t.Fatalf("CreateModelPackage: %v", err)
		}
		arns = append(arns, aws.ToString(out.ModelPackageArn))
	}
	if _, err := sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{
		ModelPackageArn: aws.String(arns[1]), ModelApprovalStatus: smtypes.ModelApprovalStatusApproved,
		ApprovalDescription: aws.String("before the restart"),
	}); err != nil {
		t.Fatalf("UpdateModelPackage: %v", err)
	}
	who, err := sts.NewFromConfig(sdkConfig(s.URL, ds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	staging := readProfile(t, s.Creds, "staging")
	stWho, err := sts.NewFromConfig(sdkConfig(s.URL, staging)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity (staging): %v", err)
	}
	roleARN := "arn:aws:iam::" + aws.ToString(stWho.Account) + ":role/OrganizationAccountAccessRole"
	assumed, err := sts.NewFromConfig(sdkConfig(s.URL, ds)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("across-restart"),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	before, err := os.ReadFile(s.Creds)
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()

	s2 := startServerAt(t, s.DataDir)
	after, err := os.ReadFile(s2.Creds)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("the credentials file changed across the restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	sm2 := sagemaker.NewFromConfig(sdkConfig(s2.URL, ds))
	d, err := sm2.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arns[1])})
	if err != nil {
		t.Fatalf("DescribeModelPackage after the restart: %v", err)
	}
	if got, want := d.ModelApprovalStatus, smtypes.ModelApprovalStatusApproved; got != want {
		t.Errorf("after the restart ModelApprovalStatus = %s, want %s", got, want)
	}
	if got, want := aws.ToString(d.ApprovalDescription), "before the restart"; got != want {
		t.Errorf("after the restart ApprovalDescription = %q, want %q", got, want)
	}
	out, err := sm2.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("restart")})
	if err != nil {
		t.Fatalf("CreateModelPackage after the restart: %v", err)
	}
	if got, want := aws.ToString(out.ModelPackageArn), strings.TrimSuffix(arns[1], "/2")+"/3"; got != want {
		t.Errorf("the first version after the restart is %s, want %s", got, want)
	}
	who2, err := sts.NewFromConfig(sdkConfig(s2.URL, ds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity after the restart: %v", err)
	}
	if aws.ToString(who2.Arn) != aws.ToString(who.Arn) {
		t.Errorf("the data-science admin is %s after the restart, was %s", aws.ToString(who2.Arn), aws.ToString(who.Arn))
	}
	tmp := aws.Credentials{
		AccessKeyID:     aws.ToString(assumed.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(assumed.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(assumed.Credentials.SessionToken),
	}
	role, err := sts.NewFromConfig(sdkConfig(s2.URL, tmp)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("temporary credentials issued before the restart, used after it: %v", err)
	}
	if got, want := aws.ToString(role.Arn), "arn:aws:sts::"+aws.ToString(stWho.Account)+":assumed-role/OrganizationAccountAccessRole/across-restart"; got != want {
		t.Errorf("temporary credentials act as %s, want %s", got, want)
	}
}
