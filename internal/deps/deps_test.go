// Package deps checks the import rules of ARCHITECTURE.md: domain packages never import the
// transport (awsapi), the store implementation, the composition root or the CLI; leaf packages
// (the policy engine, ARNs, errors) import the standard library and internal/errs only.

package deps

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/slipway-ml/slipway/internal/"

// leaves may import the standard library and these Slipway packages, nothing else.
var leaves = map[string][]string{
	"errs": nil,
	"arn":  {"errs"},
	"iam":  {"errs", "arn"},
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[strings.TrimPrefix(f[0], module)] = f[1:]
	}
	forbidden := map[string][]string{
		"iam":                {"awsapi", "store", "app", "cli", "identity", "registry", "org"},
		"arn":                {"awsapi", "store", "app", "cli", "iam"},
		"errs":               {""},
		"org":                {"awsapi", "store", "app", "cli"},
		"identity":           {"awsapi", "store", "app", "cli"},
		"registry":           {"awsapi", "store", "app", "cli"},
		"events":             {"awsapi", "store", "app", "cli"},
		"audit":              {"awsapi", "store", "app", "cli"},
		"awsapi":             {"store", "app", "cli"},
		"store":              {"awsapi", "app", "cli"},
		"algorithms/xgboost": {"awsapi", "store", "app", "cli"},
	}
	for pkg, allowed := range leaves {
		ds, ok := deps[pkg]
		if !ok {
			t.Errorf("leaf package %s does not exist: update the rules", pkg)
			continue
		}
	next:
		for _, d := range ds {
			first, _, _ := strings.Cut(d, "/")
			if !strings.Contains(first, ".") {
				continue // the standard library
			}
			for _, a := range allowed {
				if d == module+a {
					continue next
				}
			}
			t.Errorf("leaf package %s imports %s; it may import only the standard library and %v", pkg, d, allowed)
		}
	}
	for pkg, bad := range forbidden {
		ds, ok := deps[pkg]
		if !ok {
			t.Errorf("package %s does not exist: update the rules", pkg)
			continue
		}
		for _, d := range ds {
			rel, ok := strings.CutPrefix(d, module)
			if !ok {
				continue
			}
			for _, b := range bad {
				if b == "" && rel != "" || b != "" && (rel == b || strings.HasPrefix(rel, b+"/")) {
					t.Errorf("%s imports %s", pkg, rel)
				}
			}
		}
	}
}
