package e2e

import (
	"path/filepath"
	"testing"
	"time"
)

// TestLogsCLI runs testdata/logs_cli.sh with the AWS CLI v2 against a fresh server.
func TestLogsCLI(t *testing.T) {
	t.Parallel()
	requireExecutable(t, "/usr/bin/aws", "apt-get install awscli")
	requireExecutable(t, "/usr/bin/python3", "apt-get install python3-boto3")
	s := startServer(t)
	script, err := filepath.Abs("testdata/logs_cli.sh")
	if err != nil {
		t.Fatal(err)
	}
	env := append(clientEnv(t, s), "AWS=/usr/bin/aws", "PYTHON=/usr/bin/python3", "STORY_WORK="+t.TempDir())
	out, err := runScript(t, slowdown*600*time.Second, env, "/bin/bash", script)
	checkSummary(t, "logs_cli.sh", out, err)
}

// TestLogsBoto3 runs testdata/logs_boto3.py with Debian's boto3 against a fresh server.
func TestLogsBoto3(t *testing.T) {
	t.Parallel()
	requireExecutable(t, "/usr/bin/python3", "apt-get install python3-boto3")
	s := startServer(t)
	script, err := filepath.Abs("testdata/logs_boto3.py")
	if err != nil {
		t.Fatal(err)
	}
	out, err := runScript(t, slowdown*240*time.Second, clientEnv(t, s), "/usr/bin/python3", "-u", script)
	checkSummary(t, "logs_boto3.py", out, err)
}
