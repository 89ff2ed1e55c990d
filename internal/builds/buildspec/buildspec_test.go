package buildspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const full = `version: 0.2
env:
  variables:
    STAGE: staging
    N: 3
  exported-variables:
    - IMAGE_TAG
phases:
  install:
    runtime-versions:
      python: 3.11
    commands:
      - echo install
  pre_build:
    on-failure: CONTINUE
    commands: echo one
  build:
    commands:
      - make
      - |
        echo a
        echo b
    finally:
      - echo cleanup
  post_build:
reports:
  unit:
    files: [report.xml]
artifacts:
  files:
    - '**/*'
  base-directory: out
  discard-paths: yes
  name: bundle.zip
  secondary-artifacts:
    configs:
      files: ['*.json']
`

func TestParseFull(t *testing.T) {
	s, err := Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{Version: "0.2", Variables: map[string]string{"STAGE": "staging", "N": "3"}, ExportedVariables: []string{"IMAGE_TAG"},
		Phases: map[string]Phase{
			Install:   {Commands: []string{"echo install"}, OnFailure: Abort},
			PreBuild:  {Commands: []string{"echo one"}, OnFailure: Continue},
			Build:     {Commands: []string{"make", "echo a\necho b\n"}, Finally: []string{"echo cleanup"}, OnFailure: Abort},
			PostBuild: {OnFailure: Abort},
		},
		Artifacts:  &Artifacts{Files: []string{"**/*"}, BaseDirectory: "out", DiscardPaths: true, Name: "bundle.zip"},
		Secondary:  map[string]Artifacts{"configs": {Files: []string{"*.json"}}},
		HasReports: true}
	if d := cmp.Diff(want, s); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
}

func TestParseErrorsNameThePath(t *testing.T) {
	for _, c := range []struct{ text, path string }{
		{"version: 0.1\nphases: {}", "version"},
		{"phases: {build: {commands: [ls]}}", "version"},
		{"version: 0.2\nphases:\n  compile:\n    commands: [ls]", "phases.compile"},
		{"version: 0.2\nphases:\n  build:\n    commands: [ls, {a: b}]", "phases.build.commands[1]"},
		{"version: 0.2\nphases:\n  build:\n    on-failure: RETRY", "phases.build.on-failure"},
		{"version: 0.2\nphases:\n  build:\n    command: [ls]", "phases.build.command"},
		{"version: 0.2\nenv:\n  variables:\n    1X: a", "env.variables.1X"},
		{"version: 0.2\nenv:\n  parameter-store:\n    X: /p", "env.parameter-store"},
		{"version: 0.2\nartifacts:\n  base-directory: ../up\n  files: [a]", "artifacts.base-directory"},
		{"version: 0.2\nartifacts:\n  files: ['/etc/passwd']", "artifacts.files[0]"},
		{"version: 0.2\nartifacts:\n  discard-paths: maybe\n  files: [a]", "artifacts.discard-paths"},
		{"version: 0.2\nartifacts:\n  secondary-artifacts:\n    x1:\n      name: y", "artifacts.secondary-artifacts.x1.files"},
		{"version: 0.2\nartifactz: {}", "artifactz"},
		{"version: 0.2\nversion: 0.2", "version"},
	} {
		_, err := Parse(c.text)
		var e *Error
		if !errors.As(err, &e) || e.Path != c.path {
			t.Errorf("Parse(%q) = %v, want an error at %s", c.text, err, c.path)
		}
	}
	for _, text := range []string{"", "[1,2]", "version: [0.2]", ":\n\t- x"} {
		if _, err := Parse(text); err == nil {
			t.Errorf("Parse(%q) succeeded", text)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pat, name string
		want      bool
	}{
		{"**/*", "a", true}, {"**/*", "a/b/c.txt", true}, {"*.json", "a.json", true}, {"*.json", "d/a.json", false},
		{"dist/**/*", "dist/x/y", true}, {"dist/**/*", "dist/y", true}, {"dist/**/*", "src/y", false},
		{"**/*.yaml", "t.yaml", true}, {"**/*.yaml", "a/b/t.yaml", true}, {"**/*.yaml", "a/t.yml", false},
		{"a/b", "a/b", true}, {"a/b", "a/b/c", false}, {"a/*/c", "a/x/c", true},
	} {
		if got := Match(c.pat, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(full)
	f.Add("version: 0.2\nphases:\n  build:\n    commands: [ls]")
	f.Add("version: 0.2\nartifacts: {files: ['**/*'], secondary-artifacts: {a: {files: [x]}}}")
	f.Add("a: &x [1]\nb: *x")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "invalid buildspec") {
				t.Fatalf("error %v is not a buildspec Error", err)
			}
			return
		}
		if s.Version != "0.2" {
			t.Fatalf("accepted version %q", s.Version)
		}
		for name, p := range s.Phases {
			if p.OnFailure != Abort && p.OnFailure != Continue {
				t.Fatalf("phase %s: on-failure %q", name, p.OnFailure)
			}
		}
		if a := s.Artifacts; a != nil {
			for _, f := range a.Files {
				if strings.HasPrefix(f, "/") {
					t.Fatalf("absolute pattern %q accepted", f)
				}
			}
		}
	})
}
