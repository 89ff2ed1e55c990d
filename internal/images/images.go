// Package images resolves a job's container image URI to the local runtime that stands in for it:
// the command line (and extra environment) the executor runs.
//
// The table, in the order Resolve consults it:
//  1. User mappings (the server configuration's `images:` list): an image pattern, where `*`
//     matches any run of characters, to a local command and environment. They come first, so a
//     user may override a built-in image.
//  2. SageMaker's XGBoost image, <account>.dkr.ecr.<region>.<domain>/sagemaker-xgboost:<version>
//     for the account SageMaker publishes it from in that region (ecr_accounts.json), versions
//     0.90-1 to 1.7-1 and the tags the SageMaker Python SDK writes for them (1.0-1-cpu-py3, …):
//     in algorithm mode the built-in trainer (`slipway container xgboost`); in script mode
//     (sagemaker_program, or a processing ContainerEntrypoint) the configured Python interpreter.
//     Transform runs the model with `slipway container transform`.
//  3. SageMaker's scikit-learn image (sagemaker-scikit-learn): script mode only.
//  4. The built-in images slipway/xgboost, slipway/linear, slipway/prep, slipway/evaluate (any
//     tag): the built-in algorithms, as `slipway algo` runs them.
//
// An image nothing matches is an error that names the configuration key to set.
//
// Endpoints resolve a model's image with ResolveServing (serving.go): a user mapping is a serve
// command; SageMaker's XGBoost images and slipway/xgboost, slipway/linear are served in-process.
//
// Invariants: Resolve is a pure function of the table and its arguments (no file or network
// access); every returned Command has an absolute program path; the returned Runtime's Env and
// Command never alias the table's own slices or maps.
package images

import (
	_ "embed"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Mode is the kind of job an image runs in.
type Mode string

// Modes.
const (
	Training   Mode = "Training"
	Processing Mode = "Processing"
	Transform  Mode = "Transform"
)

// Runtime kinds.
const (
	KindBuiltinXGBoost = "builtin-xgboost" // the built-in XGBoost trainer or transform
	KindBuiltin        = "builtin"         // another built-in algorithm (slipway/*)
	KindScript         = "script"          // a user script run by the configured interpreter
	KindCommand        = "command"         // a user mapping's local command
)

// Runtime is how a job runs here: the argv (Command[0] an absolute path) and environment the
// executor adds to the job's own.
type Runtime struct {
	Command []string
	Env     map[string]string
	Kind    string
}

// Mapping maps image URIs to a local command. Image is a pattern (`*` matches any characters);
// Command[0] must be an absolute path; Env is added to the job's environment.
type Mapping struct {
	Image   string            `yaml:"image" json:"image"`
	Command []string          `yaml:"command" json:"command"`
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
}

// ConfigKey is the server configuration key that holds user mappings; errors about unknown
// images name it.
const ConfigKey = "images"

// DefaultPython is the interpreter of script mode unless configured otherwise.
const DefaultPython = "/usr/bin/python3"

// Validate checks one mapping.
func (m Mapping) Validate() error {
	if strings.TrimSpace(m.Image) == "" {
		return errs.E(errs.Invalid, "%s: a mapping needs an image pattern", ConfigKey)
	}
	if len(m.Command) == 0 || !filepath.IsAbs(m.Command[0]) {
		return errs.E(errs.Invalid, "%s: image %q: command must start with an absolute program path", ConfigKey, m.Image)
	}
	for k := range m.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return errs.E(errs.Invalid, "%s: image %q: environment variable name %q is invalid", ConfigKey, m.Image, k)
		}
	}
	return nil
}

// Options configure a Table.
type Options struct {
	Slipway  string    // absolute path of the slipway binary: the built-in images' entrypoint
	Python   string    // script mode's interpreter; "" = DefaultPython
	Mappings []Mapping // user mappings, consulted first, in order
}

// Table resolves images. Build it with New.
type Table struct {
	slipway  string
	python   string
	mappings []compiled
}

type compiled struct {
	Mapping
	re *regexp.Regexp
}

// New builds a Table, validating every mapping.
func New(o Options) (*Table, error) {
	if !filepath.IsAbs(o.Slipway) {
		return nil, errs.E(errs.Invalid, "images: the slipway binary's path %q must be absolute", o.Slipway)
	}
	t := &Table{slipway: o.Slipway, python: o.Python}
	if t.python == "" {
		t.python = DefaultPython
	}
	if !filepath.IsAbs(t.python) {
		return nil, errs.E(errs.Invalid, "images: the Python interpreter's path %q must be absolute", t.python)
	}
	for _, m := range o.Mappings {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		t.mappings = append(t.mappings, compiled{Mapping: m, re: glob(m.Image)})
	}
	return t, nil
}

// glob compiles a pattern where * matches any run of characters.
func glob(p string) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// Job is what of a job's definition chooses between algorithm and script mode.
type Job struct {
	HyperParameters     map[string]string // training: sagemaker_program / sagemaker_submit_directory mean script mode
	ContainerEntrypoint []string          // processing: AppSpecification.ContainerEntrypoint
	ContainerArguments  []string          // processing: AppSpecification.ContainerArguments
}

// ScriptMode reports whether the job runs a user script rather than the image's algorithm.
func (j Job) ScriptMode() bool {
	_, prog := j.HyperParameters["sagemaker_program"]
	_, dir := j.HyperParameters["sagemaker_submit_directory"]
	return prog || dir || len(j.ContainerEntrypoint) > 0
}

// Resolve returns the runtime of image for a job of the given mode that sets nothing that selects
// script mode. For a processing job the engine appends ContainerEntrypoint and ContainerArguments
// to Command (`slipway container exec` maps python/python3 to the interpreter); ResolveJob does it
// and also selects script mode for training jobs.
func (t *Table) Resolve(image string, mode Mode) (Runtime, error) {
	return t.ResolveJob(image, mode, Job{})
}

// ResolveJob returns the runtime of image for the job. In Processing mode the command is
// complete: it holds the job's ContainerEntrypoint (with the interpreter mapped to this
// server's) and ContainerArguments.
func (t *Table) ResolveJob(image string, mode Mode, job Job) (Runtime, error) {
	switch mode {
	case Training, Processing, Transform:
	default:
		return Runtime{}, errs.E(errs.Invalid, "images: unknown job mode %q", mode)
	}
	for _, m := range t.mappings {
		if m.re.MatchString(image) {
			rt := Runtime{Command: append([]string(nil), m.Command...), Env: copyEnv(m.Env), Kind: KindCommand}
			if mode == Processing {
				rt.Command = append(rt.Command, job.ContainerEntrypoint...)
				rt.Command = append(rt.Command, job.ContainerArguments...)
			}
			return rt, nil
		}
	}
	if ref, why := parseSageMaker(image); why == "" {
		return t.sagemaker(ref, image, mode, job)
	} else if why != notSageMaker {
		return Runtime{}, unknown(image, why)
	}
	if name, ok := strings.CutPrefix(image, "slipway/"); ok {
		name, _, _ = strings.Cut(name, ":")
		return t.builtin(name, image, mode, job)
	}
	return Runtime{}, unknown(image, "")
}

func unknown(image, why string) error {
	if why != "" {
		why += "; "
	}
	return errs.E(errs.Invalid, "image %s has no runtime here: %smap it to a local command under %q in the server's images file (--images / SLIPWAY_IMAGES), see docs/images.md", image, why, ConfigKey)
}

func copyEnv(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// The environment variables the built-in entrypoints read.
const (
	EnvPython       = "SLIPWAY_PYTHON"        // script mode's interpreter
	EnvImageVersion = "SLIPWAY_IMAGE_VERSION" // the SageMaker image version (model format)
)

func (t *Table) sagemaker(ref ecrRef, image string, mode Mode, job Job) (Runtime, error) {
	env := map[string]string{EnvPython: t.python, EnvImageVersion: ref.version}
	script := func() (Runtime, error) {
		switch mode {
		case Processing:
			if len(job.ContainerEntrypoint) == 0 {
				// No entrypoint: the arguments name the program; exec maps the interpreter.
				cmd := append([]string{t.slipway, "container", "exec"}, job.ContainerArguments...)
				return Runtime{Command: cmd, Env: env, Kind: KindScript}, nil
			}
			cmd := append(t.interpreter(job.ContainerEntrypoint), job.ContainerArguments...)
			return Runtime{Command: cmd, Env: env, Kind: KindScript}, nil
		case Training:
			return Runtime{Command: []string{t.slipway, "container", "script"}, Env: env, Kind: KindScript}, nil
		}
		return Runtime{}, unknown(image, "serving a script-mode model in a transform job is not supported")
	}
	switch ref.repo {
	case "sagemaker-scikit-learn":
		if mode == Training && !job.ScriptMode() {
			return Runtime{}, errs.E(errs.Invalid, "image %s runs only in script mode: set the sagemaker_program and sagemaker_submit_directory hyperparameters", image)
		}
		return script()
	case "sagemaker-xgboost", "xgboost":
		if job.ScriptMode() || (mode == Processing) {
			return script()
		}
		cmd := []string{t.slipway, "container", "xgboost", "--image-version", ref.version}
		if mode == Transform {
			cmd = []string{t.slipway, "container", "transform"}
		}
		return Runtime{Command: cmd, Env: env, Kind: KindBuiltinXGBoost}, nil
	}
	return Runtime{}, unknown(image, "")
}

func (t *Table) interpreter(entry []string) []string { return Interpreter(t.python, entry) }

var pythonRE = regexp.MustCompile(`^python3\.\d+$`)

// Builtins are the names of the slipway/* images.
var builtins = []string{"evaluate", "linear", "prep", "xgboost"}

func (t *Table) builtin(name, image string, mode Mode, job Job) (Runtime, error) {
	rt := Runtime{Env: map[string]string{}, Kind: KindBuiltin}
	switch {
	case name == "xgboost" && mode == Training:
		rt.Command, rt.Kind = []string{t.slipway, "container", "xgboost", "--model-format", "json"}, KindBuiltinXGBoost
	case name == "linear" && mode == Training:
		rt.Command = []string{t.slipway, "container", "linear"}
	case (name == "xgboost" || name == "linear") && mode == Transform:
		rt.Command = []string{t.slipway, "container", "transform"}
	case (name == "prep" || name == "evaluate") && mode == Processing:
		rt.Command = append([]string{t.slipway, "algo", name}, job.ContainerArguments...)
	default:
		valid := map[string]string{"xgboost": "Training or Transform", "linear": "Training or Transform", "prep": "Processing", "evaluate": "Processing"}
		if v, ok := valid[name]; ok {
			return Runtime{}, errs.E(errs.Invalid, "image %s runs in %s jobs, not %s", image, v, mode)
		}
		return Runtime{}, unknown(image, "the built-in images are slipway/"+strings.Join(builtins, ", slipway/"))
	}
	return rt, nil
}

//go:embed ecr_accounts.json
var ecrAccountsJSON []byte

// ecrAccounts maps repository → region → the account SageMaker publishes the image from.
var ecrAccounts = func() map[string]map[string]string {
	var m map[string]map[string]string
	if err := json.Unmarshal(ecrAccountsJSON, &m); err != nil {
		panic("images: ecr_accounts.json: " + err.Error())
	}
	return m
}()

// xgboostVersions are the SageMaker XGBoost image versions with a built-in trainer here.
var xgboostVersions = map[string]bool{
	"0.90-1": true, "0.90-2": true, "1.0-1": true, "1.2-1": true, "1.2-2": true, "1.3-1": true, "1.5-1": true, "1.7-1": true,
}

// sklearnVersions are the SageMaker scikit-learn image versions script mode accepts.
var sklearnVersions = map[string]bool{"0.20.0": true, "0.23-1": true, "1.0-1": true, "1.2-1": true, "1.4-2": true}

type ecrRef struct {
	account, region, repo, version string
}

var ecrRE = regexp.MustCompile(`^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.(amazonaws\.com|amazonaws\.com\.cn|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)/([a-z0-9-]+):([A-Za-z0-9._-]+)$`)

// tagSuffixes are what the SDK appends to a version in a tag (processor, Python, architecture).
var tagSuffixes = []string{"", "-cpu-py3", "-arm64", "-arm64-cpu-py3", "-py312"}

const notSageMaker = "not SageMaker's"

// parseSageMaker recognises SageMaker's own XGBoost and scikit-learn images: the repository, the
// account SageMaker uses in that region, and a known version. why is "" for a known image,
// notSageMaker for another image, else why SageMaker's image has no runtime here.
func parseSageMaker(image string) (ref ecrRef, why string) {
	m := ecrRE.FindStringSubmatch(image)
	if m == nil {
		return ecrRef{}, notSageMaker
	}
	ref = ecrRef{account: m[1], region: m[2], repo: m[4]}
	if acct, ok := ecrAccounts[ref.repo][ref.region]; !ok || acct != ref.account {
		return ecrRef{}, notSageMaker
	}
	tag := m[5]
	versions := xgboostVersions
	switch ref.repo {
	case "xgboost": // the first-generation algorithm image
		if tag == "1" || tag == "latest" {
			ref.version = "1"
			return ref, ""
		}
		return ecrRef{}, "the first-generation xgboost image has tags 1 and latest"
	case "sagemaker-scikit-learn":
		versions = sklearnVersions
	}
	for _, s := range tagSuffixes {
		if v, ok := strings.CutSuffix(tag, s); ok && versions[v] {
			ref.version = v
			return ref, ""
		}
	}
	known := make([]string, 0, len(versions))
	for v := range versions {
		known = append(known, v)
	}
	sort.Strings(known)
	return ecrRef{}, "the " + ref.repo + " versions with a runtime here are " + strings.Join(known, ", ")
}

// Regions lists the regions the built-in table knows for a repository, sorted (for docs and tests).
func Regions(repo string) []string {
	var out []string
	for r := range ecrAccounts[repo] {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Interpreter maps a leading python, python3 or python3.N (bare or with any directory) of a
// container entrypoint to the interpreter python; other entrypoints are returned unchanged (copied).
func Interpreter(python string, entry []string) []string {
	out := append([]string(nil), entry...)
	if len(out) > 0 {
		switch b := filepath.Base(out[0]); {
		case b == "python" || b == "python3" || pythonRE.MatchString(b):
			out[0] = python
		}
	}
	return out
}
