package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseLambdas: a --lambdas file never panics the parser, and what it accepts is valid:
// Lambda function ARNs, each once, with absolute programs.
func FuzzParseLambdas(f *testing.F) {
	for _, seed := range []string{
		"lambdas:\n  - function_arn: arn:aws:lambda:us-east-1:111122223333:function:f\n    command: [/usr/bin/python3, /x.py]\n    env: {A: b}\n",
		"lambdas:\n  - function_arn: arn:aws:lambda:us-east-1:1:function:f\n    command: [python3]\n",
		"lambdas: []\n", "images: []\n", "lambdas:\n  - function_arn: x\n", "{", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fns, err := ParseLambdas("fuzz.yaml", data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, l := range fns {
			if !strings.HasPrefix(l.FunctionArn, "arn:aws:lambda:") || seen[l.FunctionArn] || len(l.Command) == 0 || !filepath.IsAbs(l.Command[0]) {
				t.Fatalf("accepted %+v", l)
			}
			seen[l.FunctionArn] = true
		}
	})
}

func TestParseLambdasRefusals(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"lambdas:\n  - function_arn: arn:aws:s3:::b\n    command: [/bin/true]\n", "is not a Lambda function ARN"},
		{"lambdas:\n  - function_arn: arn:aws:lambda:us-east-1:1:function:f\n    command: [true]\n", "absolute program path"},
		{"lambdas:\n  - function_arn: arn:aws:lambda:us-east-1:1:function:f\n    command: [/bin/true]\n  - function_arn: arn:aws:lambda:us-east-1:1:function:f\n    command: [/bin/true]\n", "mapped twice"},
		{"lambdas:\n  - function_arn: arn:aws:lambda:us-east-1:1:function:f\n    comand: [/bin/true]\n", "comand"},
	} {
		if _, err := ParseLambdas("l.yaml", []byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseLambdas(%q) = %v, want an error with %q", c.doc, err, c.want)
		}
	}
	fns, err := ParseLambdas("l.yaml", []byte("lambdas:\n  - function_arn: arn:aws:lambda:us-east-1:1:function:f\n    command: [/bin/echo, hi]\n"))
	if err != nil || len(fns) != 1 || fns[0].Command[1] != "hi" {
		t.Errorf("a good file: %+v, %v", fns, err)
	}
}
