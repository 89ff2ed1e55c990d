// Package buildspec parses CodeBuild's build specification, version 0.2 (YAML): env.variables
// and env.exported-variables, the phases install, pre_build, build and post_build with their
// commands, finally blocks and on-failure, the artifacts (files, base-directory,
// discard-paths, name, secondary-artifacts), and reports, which are accepted and ignored (the
// build notes it in its logs).
//
// Anything else — an unknown key, a wrong type, a version other than 0.2, a feature this
// server does not run (env.parameter-store, env.secrets-manager, runtime-versions, …) — is
// an error that names the path of the offending key, e.g. "phases.build.commands[2]".
package buildspec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Phase names, in the order a build runs them.
const (
	Install   = "install"
	PreBuild  = "pre_build"
	Build     = "build"
	PostBuild = "post_build"
)

// PhaseOrder is the order of the phases.
var PhaseOrder = []string{Install, PreBuild, Build, PostBuild}

// On-failure behaviours of a phase.
const (
	Abort    = "ABORT"
	Continue = "CONTINUE"
)

// Spec is a parsed buildspec.
type Spec struct {
	Version           string
	Variables         map[string]string
	ExportedVariables []string
	Phases            map[string]Phase
	Artifacts         *Artifacts
	// Secondary are the secondary artifacts, by identifier.
	Secondary map[string]Artifacts
	// HasReports says the buildspec declared reports, which are ignored.
	HasReports bool
}

// Phase is one phase's commands.
type Phase struct {
	Commands  []string
	Finally   []string
	OnFailure string // Abort (default) or Continue
}

// Artifacts is an artifact declaration.
type Artifacts struct {
	Files         []string
	BaseDirectory string
	DiscardPaths  bool
	Name          string
}

// Error is a buildspec that cannot be used; Path names where.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "invalid buildspec: " + e.Msg
	}
	return "invalid buildspec: " + e.Path + ": " + e.Msg
}

func fail(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// MaxSize bounds a buildspec's text.
const MaxSize = 256 << 10

var (
	varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	idRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// Parse parses a buildspec.
func Parse(text string) (*Spec, error) {
	if len(text) > MaxSize {
		return nil, fail("", "larger than %d bytes", MaxSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fail("", "not valid YAML: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fail("", "empty: a buildspec is a YAML mapping with version and phases")
	}
	root := doc.Content[0]
	m, err := mapping(root, "")
	if err != nil {
		return nil, err
	}
	s := &Spec{Variables: map[string]string{}, Phases: map[string]Phase{}}
	for _, kv := range m {
		k, v := kv.key, kv.val
		switch k {
		case "version":
			s.Version, err = scalar(v, "version")
		case "run-as":
			err = fail("run-as", "not supported by this server: builds run as the server's user")
		case "env":
			err = s.env(v)
		case "phases":
			err = s.phases(v)
		case "artifacts":
			err = s.artifacts(v)
		case "reports":
			s.HasReports = true
		case "cache":
			// A cache is an optimisation; nothing to restore here.
		case "batch", "proxy":
			err = fail(k, "not supported by this server")
		default:
			err = fail(k, "unknown key (a buildspec has version, env, phases, artifacts, reports, cache)")
		}
		if err != nil {
			return nil, err
		}
	}
	if s.Version != "0.2" {
		return nil, fail("version", "must be 0.2 (got %q)", s.Version)
	}
	return s, nil
}

type pair struct {
	key string
	val *yaml.Node
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// mapping reads a mapping's keys, refusing duplicates and non-string keys.
func mapping(n *yaml.Node, path string) ([]pair, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		where := path
		if where == "" {
			where = "the document"
		}
		return nil, fail(path, "%s must be a mapping", where)
	}
	seen := map[string]bool{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := resolve(n.Content[i])
		if kn == nil || kn.Kind != yaml.ScalarNode {
			return nil, fail(path, "a key must be a string")
		}
		if kn.Value == "<<" {
			return nil, fail(path, "merge keys (<<) are not supported")
		}
		if seen[kn.Value] {
			return nil, fail(join(path, kn.Value), "key given twice")
		}
		seen[kn.Value] = true
		out = append(out, pair{kn.Value, n.Content[i+1]})
	}
	return out, nil
}

func scalar(n *yaml.Node, path string) (string, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", fail(path, "must be a string")
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

// list reads a sequence of strings; a single string is a list of one.
func list(n *yaml.Node, path string) ([]string, error) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, fail(path, "must be a list of strings")
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		v, err := scalar(c, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func boolean(n *yaml.Node, path string) (bool, error) {
	v, err := scalar(n, path)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, nil
	case "no", "false", "":
		return false, nil
	}
	return false, fail(path, "must be yes or no (got %q)", v)
}

func (s *Spec) env(n *yaml.Node) error {
	m, err := mapping(n, "env")
	if err != nil {
		return err
	}
	for _, kv := range m {
		p := "env." + kv.key
		switch kv.key {
		case "variables":
			vars, err := mapping(kv.val, p)
			if err != nil {
				return err
			}
			for _, v := range vars {
				if !varNameRE.MatchString(v.key) {
					return fail(p+"."+v.key, "not a valid environment variable name")
				}
				val, err := scalar(v.val, p+"."+v.key)
				if err != nil {
					return err
				}
				s.Variables[v.key] = val
			}
		case "exported-variables":
			names, err := list(kv.val, p)
			if err != nil {
				return err
			}
			for i, name := range names {
				if !varNameRE.MatchString(name) {
					return fail(fmt.Sprintf("%s[%d]", p, i), "%q is not a valid environment variable name", name)
				}
			}
			s.ExportedVariables = names
		case "shell":
			v, err := scalar(kv.val, p)
			if err != nil {
				return err
			}
			if v != "sh" && v != "" {
				return fail(p, "only sh is supported (builds run /bin/sh)")
			}
		case "parameter-store", "secrets-manager", "git-credential-helper":
			return fail(p, "not supported by this server")
		default:
			return fail(p, "unknown key (env has variables, exported-variables, shell)")
		}
	}
	return nil
}

func (s *Spec) phases(n *yaml.Node) error {
	m, err := mapping(n, "phases")
	if err != nil {
		return err
	}
	for _, kv := range m {
		p := "phases." + kv.key
		known := false
		for _, name := range PhaseOrder {
			known = known || name == kv.key
		}
		if !known {
			return fail(p, "unknown phase (phases are install, pre_build, build, post_build)")
		}
		ph := Phase{OnFailure: Abort}
		if resolve(kv.val) != nil && resolve(kv.val).Tag == "!!null" {
			s.Phases[kv.key] = ph
			continue
		}
		fields, err := mapping(kv.val, p)
		if err != nil {
			return err
		}
		for _, f := range fields {
			fp := p + "." + f.key
			switch f.key {
			case "commands":
				ph.Commands, err = list(f.val, fp)
			case "finally":
				ph.Finally, err = list(f.val, fp)
			case "on-failure":
				ph.OnFailure, err = scalar(f.val, fp)
				ph.OnFailure = strings.ToUpper(ph.OnFailure)
				if err == nil && ph.OnFailure != Abort && ph.OnFailure != Continue {
					err = fail(fp, "must be ABORT or CONTINUE (got %q)", ph.OnFailure)
				}
			case "run-as":
				err = fail(fp, "not supported by this server")
			case "runtime-versions":
				if kv.key != Install {
					err = fail(fp, "allowed in the install phase only")
				} // accepted and ignored: the build runs on this machine's tools
			default:
				err = fail(fp, "unknown key (a phase has commands, finally, on-failure)")
			}
			if err != nil {
				return err
			}
		}
		for i, c := range append(append([]string(nil), ph.Commands...), ph.Finally...) {
			if strings.ContainsRune(c, 0) {
				return fail(fmt.Sprintf("%s.commands[%d]", p, i), "holds a NUL character")
			}
		}
		s.Phases[kv.key] = ph
	}
	return nil
}

func (s *Spec) artifacts(n *yaml.Node) error {
	a, err := artifactDecl(n, "artifacts", true)
	if err != nil {
		return err
	}
	s.Artifacts = a.art
	if len(a.secondary) > 0 {
		s.Secondary = a.secondary
	}
	return nil
}

type artifactsOut struct {
	art       *Artifacts
	secondary map[string]Artifacts
}

func artifactDecl(n *yaml.Node, path string, top bool) (artifactsOut, error) {
	m, err := mapping(n, path)
	if err != nil {
		return artifactsOut{}, err
	}
	var out artifactsOut
	a := &Artifacts{}
	for _, kv := range m {
		p := path + "." + kv.key
		switch kv.key {
		case "files":
			a.Files, err = list(kv.val, p)
			for i, f := range a.Files {
				if err == nil {
					err = checkPattern(f, fmt.Sprintf("%s[%d]", p, i))
				}
			}
		case "base-directory":
			a.BaseDirectory, err = scalar(kv.val, p)
			if err == nil {
				err = checkRelative(a.BaseDirectory, p)
			}
		case "discard-paths":
			a.DiscardPaths, err = boolean(kv.val, p)
		case "name":
			a.Name, err = scalar(kv.val, p)
			if err == nil && (strings.ContainsAny(a.Name, "/\\\x00") || len(a.Name) > 255) {
				err = fail(p, "must be a file name without slashes")
			}
		case "enable-symlinks", "s3-prefix":
			// Accepted: symlinks are archived as files; the prefix is the project's.
		case "exclude-paths":
			err = fail(p, "not supported by this server")
		case "secondary-artifacts":
			if !top {
				return artifactsOut{}, fail(p, "allowed at the top level of artifacts only")
			}
			sec, err := mapping(kv.val, p)
			if err != nil {
				return artifactsOut{}, err
			}
			out.secondary = map[string]Artifacts{}
			for _, s := range sec {
				sp := p + "." + s.key
				if !idRE.MatchString(s.key) {
					return artifactsOut{}, fail(sp, "an artifact identifier is letters, digits and _, starting with a letter")
				}
				d, err := artifactDecl(s.val, sp, false)
				if err != nil {
					return artifactsOut{}, err
				}
				if d.art == nil {
					return artifactsOut{}, fail(sp+".files", "required")
				}
				out.secondary[s.key] = *d.art
			}
		default:
			err = fail(p, "unknown key (artifacts have files, base-directory, discard-paths, name, secondary-artifacts)")
		}
		if err != nil {
			return artifactsOut{}, err
		}
	}
	if top && len(a.Files) == 0 && len(out.secondary) == 0 {
		return artifactsOut{}, fail(path+".files", "required")
	}
	if len(a.Files) > 0 {
		out.art = a
	}
	return out, nil
}

func checkRelative(p, path string) error {
	if strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return fail(path, "must be a path relative to the source directory")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fail(path, "must not leave the source directory (..)")
		}
	}
	return nil
}

func checkPattern(p, path string) error {
	if p == "" {
		return fail(path, "empty")
	}
	if err := checkRelative(p, path); err != nil {
		return err
	}
	for _, part := range strings.Split(p, "/") {
		if part == "**" {
			continue
		}
		if _, err := matchSegment(part, ""); err != nil {
			return fail(path, "bad pattern %q: %v", p, err)
		}
	}
	return nil
}

// Variables returns the spec's variables sorted by name (for a stable environment).
func (s *Spec) SortedVariables() []string {
	var out []string
	for k := range s.Variables {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
