package awsapi

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBoto3 calls the server with Debian's boto3 (apt-get install python3-boto3), a client nobody
// here wrote, over loopback HTTP.
func TestBoto3(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		t.Fatalf("%s with boto3 is required (apt-get install python3-boto3): %v\n%s", python, err, out)
	}
	handlers := sagemakerHandlers()
	for k, v := range iamHandlers() {
		handlers[k] = v
	}
	handlers["sts/GetCallerIdentity"] = func(r *Request) (any, error) {
		return map[string]string{"UserId": r.Caller.UserID, "Account": r.Caller.Account, "Arn": r.Caller.ARN}, nil
	}
	handlers["sagemaker-runtime/InvokeEndpoint"] = func(r *Request) (any, error) {
		return map[string]any{"Body": []byte("echo:" + string(r.Body)), "ContentType": "text/plain"}, nil
	}
	env := newTestEnv(t, nil, handlers)
	cmd := exec.Command(python, "testdata/boto3_calls.py", env.http.URL)
	cmd.Env = []string{"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(`{
		"create": "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/churn",
		"describe": {"CreationTime": "2026-03-04T05:06:07.250000+00:00", "CreatedBy": "bob", "Status": "Completed"},
		"list": ["a", "b"],
		"sm_validation": {"code": "ValidationException", "status": 400, "message": "1 validation error detected: Value 'a b' at 'modelPackageGroupName' failed to satisfy constraint: Member must be a name of 1 to 63 letters, digits and hyphens (starting with a letter or digit, not ending with a hyphen), or the ARN of one (regular expression pattern: (arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-))"},
		"sm_missing": {"code": "ValidationException", "status": 400, "message": "ModelPackageGroup missing does not exist."},
		"role": {"Arn": "arn:aws:iam::111122223333:role/Deployer", "CreateDate": "2026-03-04T05:06:07.250000+00:00", "Tags": [{"Key": "team", "Value": "ds"}], "MaxSessionDuration": 3600},
		"roles": ["a", "b"],
		"iam_missing": {"code": "NoSuchEntity", "status": 404, "message": "The role with name nope cannot be found."},
		"identity": {"UserId": "AIDAALICE", "Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/alice"},
		"invoke": {"Body": "echo:1,2,3", "ContentType": "text/plain"}
	}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("boto3 results (-want +got):\n%s", diff)
	}
	// botocore sends JSON timestamps as whole epoch seconds, dropping the .25.
	in, _ := env.echo.got("sagemaker/ListModelPackageGroups")
	if diff := cmp.Diff(canon(t, []byte(`{"MaxResults":10,"CreationTimeAfter":"2026-03-04T05:06:07Z"}`)), canon(t, in)); diff != "" {
		t.Errorf("boto3's ListModelPackageGroups input (-want +got):\n%s", diff)
	}
	in, _ = env.echo.got("iam/CreateRole")
	if diff := cmp.Diff(canon(t, []byte(`{"RoleName":"Deployer","AssumeRolePolicyDocument":"{\"Version\":\"2012-10-17\"}","Tags":[{"Key":"a","Value":"1"}]}`)), canon(t, in)); diff != "" {
		t.Errorf("boto3's CreateRole input (-want +got):\n%s", diff)
	}
}
