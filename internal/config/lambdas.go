package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/internal/errs"
)

// LambdaFunction maps a Lambda function's ARN to the local command a pipeline's Lambda step
// runs in its place: an absolute program and its arguments, and environment variables added to
// the server's.
type LambdaFunction struct {
	FunctionArn string            `yaml:"function_arn"`
	Command     []string          `yaml:"command"`
	Env         map[string]string `yaml:"env,omitempty"`
}

// ReadLambdas reads the `lambdas:` list of a YAML file, validating every mapping: an ARN of a
// Lambda function, once, and an absolute program.
func ReadLambdas(path string) ([]LambdaFunction, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.E(errs.Invalid, "--lambdas %s: %v", path, err)
	}
	return ParseLambdas(path, data)
}

// ParseLambdas parses the contents of a --lambdas file (path names it in errors).
func ParseLambdas(path string, data []byte) ([]LambdaFunction, error) {
	var doc struct {
		Lambdas []LambdaFunction `yaml:"lambdas"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, errs.E(errs.Invalid, "--lambdas %s: want a YAML document with a lambdas: list of {function_arn, command, env}: %v", path, err)
	}
	seen := map[string]bool{}
	for i, l := range doc.Lambdas {
		if !strings.HasPrefix(l.FunctionArn, "arn:aws:lambda:") || !strings.Contains(l.FunctionArn, ":function:") {
			return nil, errs.E(errs.Invalid, "--lambdas %s: entry %d: function_arn %q is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)", path, i+1, l.FunctionArn)
		}
		if seen[l.FunctionArn] {
			return nil, errs.E(errs.Invalid, "--lambdas %s: entry %d: function_arn %s is mapped twice", path, i+1, l.FunctionArn)
		}
		seen[l.FunctionArn] = true
		if len(l.Command) == 0 || !filepath.IsAbs(l.Command[0]) {
			return nil, errs.E(errs.Invalid, "--lambdas %s: entry %d: %s: command must start with an absolute program path", path, i+1, l.FunctionArn)
		}
		for k := range l.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return nil, errs.E(errs.Invalid, "--lambdas %s: entry %d: %s: env name %q is not valid", path, i+1, l.FunctionArn, k)
			}
		}
	}
	return doc.Lambdas, nil
}
