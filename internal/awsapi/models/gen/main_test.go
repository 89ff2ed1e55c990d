package main

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractKeepsOnlyReachableShapes(t *testing.T) {
	var model map[string]any
	err := json.Unmarshal([]byte(`{
		"metadata": {"protocol": "json", "targetPrefix": "T", "documentation": "x"},
		"operations": {
			"Get": {"name": "Get", "input": {"shape": "GetIn"}, "output": {"shape": "GetOut"}, "errors": [{"shape": "NotFound"}], "documentation": "doc"},
			"Other": {"name": "Other", "input": {"shape": "OtherIn"}}
		},
		"shapes": {
			"GetIn": {"type": "structure", "members": {"Name": {"shape": "Name", "documentation": "d"}}},
			"GetOut": {"type": "structure", "members": {"Tags": {"shape": "Tags"}, "Attrs": {"shape": "Attrs"}}},
			"Tags": {"type": "list", "member": {"shape": "Name"}},
			"Attrs": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Count"}},
			"Name": {"type": "string", "pattern": "[a-z]+", "documentation": "d"},
			"Count": {"type": "integer"},
			"NotFound": {"type": "structure", "members": {}, "exception": true},
			"OtherIn": {"type": "structure", "members": {"Unused": {"shape": "Unused"}}},
			"Unused": {"type": "string"}
		}}`), &model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := extract(model, []string{"Get"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metadata   map[string]any
		Operations map[string]map[string]any
		Shapes     map[string]map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	var shapes []string
	for n := range got.Shapes {
		shapes = append(shapes, n)
	}
	sort.Strings(shapes)
	if diff := cmp.Diff([]string{"Attrs", "Count", "GetIn", "GetOut", "Name", "NotFound", "Tags"}, shapes); diff != "" {
		t.Errorf("shapes (-want +got):\n%s", diff)
	}
	if _, ok := got.Operations["Other"]; ok || len(got.Operations) != 1 {
		t.Errorf("operations = %v", got.Operations)
	}
	if _, ok := got.Operations["Get"]["documentation"]; ok {
		t.Error("documentation was kept")
	}
	if _, ok := got.Metadata["documentation"]; ok {
		t.Error("metadata documentation was kept")
	}
	if _, err := extract(model, []string{"Missing"}); err == nil {
		t.Error("an unknown operation did not fail")
	}
}
