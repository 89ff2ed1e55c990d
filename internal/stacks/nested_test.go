package stacks

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseNested(t *testing.T) {
	good := `{"TemplateURL": "https://b.s3.amazonaws.com/k", "Parameters": {"A": "x", "N": 3, "L": ["a", 1], "B": true},
		"TimeoutInMinutes": "15", "Tags": [{"Key": "team", "Value": "ml"}], "NotificationARNs": []}`
	var props map[string]any
	if err := json.Unmarshal([]byte(good), &props); err != nil {
		t.Fatal(err)
	}
	n, err := ParseNested("Child", props)
	if err != nil {
		t.Fatal(err)
	}
	want := []ParameterInput{{Key: "A", Value: "x"}, {Key: "B", Value: "true"}, {Key: "L", Value: "a,1"}, {Key: "N", Value: "3"}}
	if len(n.Parameters) != len(want) || n.Timeout != 15*time.Minute || n.Tags["team"] != "ml" || n.TemplateURL != "https://b.s3.amazonaws.com/k" {
		t.Fatalf("ParseNested = %+v", n)
	}
	for i := range want {
		if n.Parameters[i] != want[i] {
			t.Errorf("parameter %d = %+v, want %+v", i, n.Parameters[i], want[i])
		}
	}
	for name, bad := range map[string]string{
		"no url":           `{}`,
		"url not a string": `{"TemplateURL": 1}`,
		"parameters list":  `{"TemplateURL": "u", "Parameters": ["A"]}`,
		"parameter object": `{"TemplateURL": "u", "Parameters": {"A": {"x": 1}}}`,
		"parameter null":   `{"TemplateURL": "u", "Parameters": {"A": null}}`,
		"timeout zero":     `{"TemplateURL": "u", "TimeoutInMinutes": 0}`,
		"timeout fraction": `{"TemplateURL": "u", "TimeoutInMinutes": 1.5}`,
		"timeout word":     `{"TemplateURL": "u", "TimeoutInMinutes": "soon"}`,
		"timeout huge":     `{"TemplateURL": "u", "TimeoutInMinutes": 1e9}`,
		"tags object":      `{"TemplateURL": "u", "Tags": {"a": "b"}}`,
		"tag without key":  `{"TemplateURL": "u", "Tags": [{"Value": "b"}]}`,
		"notifications":    `{"TemplateURL": "u", "NotificationARNs": ["arn:aws:sns:us-east-1:111122223333:t"]}`,
		"unknown":          `{"TemplateURL": "u", "Colour": "blue"}`,
	} {
		var p map[string]any
		if err := json.Unmarshal([]byte(bad), &p); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseNested("Child", p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseNested(f *testing.F) {
	f.Add(`{"TemplateURL": "https://b.s3.amazonaws.com/k", "Parameters": {"A": "x", "L": ["a", 1]}, "TimeoutInMinutes": 5}`)
	f.Add(`{"TemplateURL": "u", "TimeoutInMinutes": "-0", "Tags": [{"Key": "", "Value": ""}]}`)
	f.Add(`{"TemplateURL": "", "Parameters": {"": [[]]}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var props map[string]any
		if json.Unmarshal([]byte(raw), &props) != nil {
			return
		}
		n, err := ParseNested("Child", props)
		if err != nil {
			return
		}
		if n.TemplateURL == "" || n.Timeout < 0 || n.Timeout > 43200*time.Minute {
			t.Fatalf("accepted %s as %+v", raw, n)
		}
		for i := 1; i < len(n.Parameters); i++ {
			if n.Parameters[i-1].Key >= n.Parameters[i].Key {
				t.Fatalf("parameters not sorted: %+v", n.Parameters)
			}
		}
	})
}
