package app

import (
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/delivery"
)

// FuzzStackSetConfig: reading a stack set action's configuration never panics, and what it
// accepts is consistent: a name that matches the pattern, targets that are account or OU ids,
// parameters that each have a key.
func FuzzStackSetConfig(f *testing.F) {
	f.Add("model-set", "ParameterKey=A,ParameterValue=1 ParameterKey=B,UsePreviousValue=true", "ou-abcd-12345678,ou-abcd-87654321", "SERVICE_MANAGED", "10", false)
	f.Add("s", "In::params.json", "In::targets.json", "", "", true)
	f.Add("s", "ParameterKey=,ParameterValue=x", "111111111111,222222222222", "SELF_MANAGED", "x", false)
	f.Add("s", "=", ",,,", "", "-1", true)
	f.Fuzz(func(t *testing.T, name, params, targets, model, num string, instances bool) {
		cfg := map[string]string{"StackSetName": name, "DeploymentTargets": targets, "PermissionModel": model,
			"MaxConcurrentCount": num, "Regions": "us-east-1"}
		if instances {
			cfg["ParameterOverrides"] = params
		} else {
			cfg["Parameters"], cfg["TemplatePath"] = params, "In::t.json"
		}
		c, err := parseStackSetConfig(delivery.Action{Configuration: cfg, InputArtifacts: []string{"In"}}, instances)
		if err != nil {
			return
		}
		if !stackSetNameRE.MatchString(c.Name) {
			t.Fatalf("accepted name %q", c.Name)
		}
		for _, id := range c.Targets {
			if !accountIDRE.MatchString(id) && !ouIDRE.MatchString(id) {
				t.Fatalf("accepted target %q", id)
			}
		}
		for _, p := range c.Params {
			if p.Key == "" || strings.ContainsAny(p.Key, " \t\n") {
				t.Fatalf("accepted parameter %+v", p)
			}
		}
	})
}

func TestParseFiles(t *testing.T) {
	ps, err := parseParamsFile(`[{"ParameterKey":"A","ParameterValue":"1"}]`)
	if err != nil || len(ps) != 1 || ps[0].Value != "1" {
		t.Errorf("parseParamsFile = %+v, %v", ps, err)
	}
	for _, bad := range []string{`{}`, `[{"ParameterValue":"1"}]`, `x`} {
		if _, err := parseParamsFile(bad); err == nil {
			t.Errorf("parseParamsFile(%s) accepted", bad)
		}
	}
	if ids, err := parseTargetsFile(`["ou-ab12-abcdefgh"]`); err != nil || len(ids) != 1 {
		t.Errorf("parseTargetsFile = %v, %v", ids, err)
	}
	if _, err := parseTargetsFile(`[1]`); err == nil {
		t.Errorf("parseTargetsFile([1]) accepted")
	}
}
