package cli

import (
	"context"
	"os"
	"strings"
	"testing"
)

// helpCommands lists every help text of the CLI; each is a golden file in testdata/help/.
var helpCommands = [][]string{
	{"help"},
	{"server", "-h"},
	{"demo", "-h"},
	{"audit", "-h"},
	{"audit", "verify", "-h"},
	{"version", "-h"},
	{"algo", "help"},
	{"algo", "prep", "-h"},
	{"algo", "train", "-h"},
	{"algo", "train", "xgboost", "-h"},
	{"algo", "train", "linear", "-h"},
	{"algo", "evaluate", "-h"},
	{"algo", "predict", "-h"},
	{"pipelines", "watch", "-h"},
	{"pipelines", "explain-cache", "-h"},
	{"models", "lineage", "-h"},
	{"projects", "create", "-h"},
	{"projects", "list", "-h"},
	{"projects", "show", "-h"},
	{"projects", "delete", "-h"},
	{"templates", "add", "-h"},
	{"templates", "list", "-h"},
	{"templates", "show", "-h"},
	{"templates", "delete", "-h"},
	{"build", "deploy-config", "-h"},
	{"build", "check-approved", "-h"},
	{"build", "test-endpoints", "-h"},
	{"models", "help"},
	{"models", "list", "-h"},
	{"models", "show", "-h"},
	{"models", "approve", "-h"},
	{"models", "reject", "-h"},
	{"deployments", "help"},
	{"deployments", "list", "-h"},
	{"deployments", "watch", "-h"},
	{"deployments", "approve", "-h"},
	{"deployments", "reject", "-h"},
	{"console", "-h"},
}

// unsetSlipwayEnv clears SLIPWAY_* so flag defaults in help texts are the built-in ones.
func unsetSlipwayEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SLIPWAY_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// TestHelpTexts: every help text goes to stdout with exit status 0, has a description and an
// example, and matches its golden file (go test ./internal/cli -run TestHelp -update rewrites them).
func TestHelpTexts(t *testing.T) {
	unsetSlipwayEnv(t)
	for _, args := range helpCommands {
		name := strings.Join(args, "-")
		t.Run(name, func(t *testing.T) {
			var out, errOut strings.Builder
			if code := Run(context.Background(), args, &out, &errOut); code != exitOK {
				t.Fatalf("slipway %s exited %d, want 0; stderr:\n%s", strings.Join(args, " "), code, errOut.String())
			}
			if errOut.Len() > 0 {
				t.Errorf("help wrote to stderr: %q", errOut.String())
			}
			for _, want := range []string{"usage: slipway", "\nexample:\n  slipway "} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the help lacks %q:\n%s", want, out.String())
				}
			}
			golden(t, "help/"+name+".golden", out.String())
		})
	}
	// slipway help CMD is slipway CMD -h.
	var a, b strings.Builder
	Run(context.Background(), []string{"help", "server"}, &a, &b)
	Run(context.Background(), []string{"server", "-h"}, &b, &b)
	if a.String() != b.String() {
		t.Errorf("slipway help server differs from slipway server -h")
	}
}

// TestServerHelpListsEverything: the flags and the environment variables of the server.
func TestServerHelpListsEverything(t *testing.T) {
	unsetSlipwayEnv(t)
	var out strings.Builder
	Run(context.Background(), []string{"server", "--help"}, &out, &out)
	for _, want := range []string{"--region", "--log-level", "--listen", "--data-dir", "--database", "--org", "--master-key-file",
		"SLIPWAY_DATA_DIR", "SLIPWAY_LISTEN", "SLIPWAY_DATABASE", "SLIPWAY_ORG", "SLIPWAY_REGION", "SLIPWAY_LOG_LEVEL",
		"SLIPWAY_MASTER_KEY_FILE", "SLIPWAY_MASTER_KEY "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("server --help lacks %q", want)
		}
	}
	out.Reset()
	Run(context.Background(), []string{"audit", "verify", "--help"}, &out, &out)
	for _, unwanted := range []string{"--listen", "--region", "--org", "--master-key-file", "--log-level"} {
		if strings.Contains(out.String(), unwanted) {
			t.Errorf("audit verify --help lists the server-only flag %s", unwanted)
		}
	}
}

// TestExitCodes: 0 done, 1 the command failed, 2 the command line is wrong.
func TestExitCodes(t *testing.T) {
	unsetSlipwayEnv(t)
	dir := t.TempDir()
	os.WriteFile(dir+"/file", []byte("x"), 0o600)
	tests := []struct {
		args       []string
		code       int
		wantStderr string
	}{
		{[]string{"version"}, exitOK, ""},
		{[]string{"--help"}, exitOK, ""},
		{nil, exitUsage, "usage: slipway <command>"},
		{[]string{"fly"}, exitUsage, `unknown command "fly"`},
		{[]string{"server", "--bogus"}, exitUsage, "flag provided but not defined: -bogus\nRun \"slipway server -h\""},
		{[]string{"server", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"audit"}, exitUsage, "slipway audit verify"},
		{[]string{"audit", "verify", "--listen", "x"}, exitUsage, "-listen"},
		{[]string{"version", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"algo"}, exitUsage, "usage: slipway algo"},
		{[]string{"algo", "train", "forest"}, exitUsage, `unknown algorithm "forest"`},
		{[]string{"server", "--log-level", "loud"}, exitFailure, `--log-level "loud"`},
		{[]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dir + "/file/sub"}, exitFailure, "--data-dir"},
		{[]string{"audit", "verify", "--data-dir", dir + "/file/sub"}, exitFailure, "--data-dir"},
		{[]string{"algo", "evaluate", "--model", dir + "/none", "--test", dir + "/none"}, exitFailure, "none"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			code := Run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.wantStderr)
			}
		})
	}
}
