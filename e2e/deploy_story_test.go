package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/algorithms/sample"
)

// TestDeployStoryBoto3 runs testdata/story_boto3.py with Debian's boto3 against a fresh
// server whose organization is deployOrg: the whole story of a multi-account-deployment
// project, from create-project to a production invocation, through the calls its people
// would make (the data scientist builds and approves, the operator approves production).
func TestDeployStoryBoto3(t *testing.T) {
	requireExecutable(t, "/usr/bin/python3", "apt-get install python3-boto3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import boto3, botocore").CombinedOutput(); err != nil {
		t.Fatalf("/usr/bin/python3 cannot import boto3 (apt-get install python3-boto3): %v\n%s", err, out)
	}
	dir := t.TempDir()
	s := startServer(t, "--org", writeFile(t, filepath.Join(dir, "org.yaml"), deployOrg))
	script, err := filepath.Abs("testdata/story_boto3.py")
	if err != nil {
		t.Fatal(err)
	}
	abalone := writeFile(t, filepath.Join(dir, "abalone.csv"), string(sample.Abalone()))
	out, err := runScript(t, slowdown*240*time.Second, append(clientEnv(t, s), "ABALONE="+abalone), "/usr/bin/python3", "-u", script)
	checkSummary(t, "story_boto3.py", out, err)
	if n := verifyAudit(t, s); n == 0 {
		t.Errorf("the audit trail holds no records after the story")
	}
}
