package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const urlLogGroupTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Name: {Type: String}
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Ref Name}
`

// TestStackTemplateURL: the Debian aws CLI's `s3 cp` and `cloudformation create-stack
// --template-url` make a stack from a template in this server's S3; AWS's URL forms name the same
// objects; another host's URL is refused; another account reads the object only when IAM and
// the bucket policy allow.
func TestStackTemplateURL(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := s.profile["data-science"]
	s3c := s.s3("data-science")
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cfn-templates")})
	must(t, err)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "lg.yml"), []byte(urlLogGroupTemplate), 0o600))
	// The Debian CLI (2.9) builds `cloudformation deploy --s3-bucket`'s S3 client without
	// --endpoint-url (it uploads to AWS), so the CLI's path here is `s3 cp` + `--template-url`.
	cli := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "/usr/bin/aws", append([]string{"--endpoint-url", s.url}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+ds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ds.SecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	key := "deploys/lg.yml"
	cli("s3", "cp", filepath.Join(dir, "lg.yml"), "s3://cfn-templates/"+key)
	cli("cloudformation", "create-stack", "--stack-name", "from-s3", "--template-url", s.url+"/cfn-templates/"+key, "--parameters", "ParameterKey=Name,ParameterValue=/from/s3")
	cf := cloudformation.NewFromConfig(s.cfg("data-science"))
	st := waitStack(t, cf, "from-s3")
	if st.StackStatus != "CREATE_COMPLETE" {
		t.Fatalf("stack from-s3 is %s", st.StackStatus)
	}

	for _, u := range []string{"https://cfn-templates.s3.amazonaws.com/" + key, "https://s3.us-east-1.amazonaws.com/cfn-templates/" + key, s.url + "/cfn-templates/" + key} {
		v, err := cf.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateURL: aws.String(u)})
		if err != nil || len(v.Parameters) != 1 {
			t.Errorf("ValidateTemplate(%s) = %v, %v", u, v, err)
		}
	}
	for u, want := range map[string]string{
		"https://evil.example.com/cfn-templates/" + key:    "does not name this server's S3",
		"http://169.254.169.254/latest/meta-data":          "does not name this server's S3",
		"https://cfn-templates.s3.amazonaws.com/missing.y": "does not exist",
		"file:///etc/passwd":                               "is not",
	} {
		_, err := cf.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateURL: aws.String(u)})
		if code(err) != "ValidationError" || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateTemplate(%s) = %v, want ValidationError saying %q", u, err, want)
		}
	}
	// Another account: refused by IAM/bucket policy (no policy shares the bucket); nothing made.
	stg := cloudformation.NewFromConfig(s.cfg("staging"))
	_, err = stg.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("stolen"),
		TemplateURL: aws.String("https://cfn-templates.s3.amazonaws.com/" + key), Parameters: nil})
	if !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("another account's CreateStack from the bucket: %v, want AccessDenied", err)
	}
	if _, err := stg.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("stolen")}); code(err) != "ValidationError" {
		t.Errorf("the refused stack exists: %v", err)
	}
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("both"), TemplateBody: aws.String(urlLogGroupTemplate),
		TemplateURL: aws.String("https://cfn-templates.s3.amazonaws.com/" + key)})
	if code(err) != "ValidationError" {
		t.Errorf("TemplateBody and TemplateURL: %v", err)
	}
}
