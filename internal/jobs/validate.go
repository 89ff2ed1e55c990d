package jobs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Limits bound what one job may ask for.
const (
	MaxInstances        = 8                   // workers of one job (more: ResourceLimitExceeded)
	MaxRuntimeLimit     = 28 * 24 * time.Hour // SageMaker's longest MaxRuntimeInSeconds
	DefaultMaxRuntime   = 24 * time.Hour      // SageMaker's default for training jobs
	maxHyperParameters  = 100
	maxHyperParamKey    = 256
	maxHyperParamValue  = 2500
	maxMetricDefs       = 40
	maxEnvironment      = 100
	maxEnvironmentValue = 1024
)

var (
	nameRE    = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`) // and at most 63 bytes: validName
	channelRE = regexp.MustCompile(`^[A-Za-z0-9.\-_]{1,64}$`)
	envKeyRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`) // and at most 512 bytes
	// (Counted repetitions like {0,511} compile into that many copies: half a megabyte at start-up.)
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$`)
	typeRE   = regexp.MustCompile(`^ml\.([a-z0-9-]+)\.([0-9]*)(x?large|medium|small|micro)$`)
)

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

// ValidName checks a job name.
func ValidName(k Kind, name string) error {
	if !validName(name) {
		return invalid("%s name %q must be 1 to 63 letters, digits and hyphens, start and end with a letter or digit (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})", k.title(), name)
	}
	return nil
}

// S3URI is a parsed s3://bucket/key URI.
type S3URI struct{ Bucket, Key string }

// String prints the URI.
func (u S3URI) String() string { return "s3://" + u.Bucket + "/" + u.Key }

// Join appends path elements to the key, with one slash between them.
func (u S3URI) Join(elem ...string) S3URI {
	k := strings.TrimSuffix(u.Key, "/")
	for _, e := range elem {
		e = strings.Trim(e, "/")
		if e == "" {
			continue
		}
		if k == "" {
			k = e
		} else {
			k += "/" + e
		}
	}
	return S3URI{u.Bucket, k}
}

// ParseS3URI reads s3://bucket[/key]; what stands for it in the request is named by field.
func ParseS3URI(field, s string) (S3URI, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return S3URI{}, invalid("%s %q must be an S3 URI (s3://bucket/prefix)", field, s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if !bucketRE.MatchString(bucket) || strings.Contains(bucket, "..") {
		return S3URI{}, invalid("%s %q names bucket %q, which is not a valid bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", field, s, bucket)
	}
	if len(key) > 1024 {
		return S3URI{}, invalid("%s %q: the key is longer than 1024 bytes", field, s)
	}
	return S3URI{bucket, key}, nil
}

// InstanceResources maps an instance type (ml.FAMILY.SIZE) to the CPUs and memory a worker
// gets: large = 2 vCPUs, xlarge = 4, Nxlarge = 4N, medium = 2, small = 1, micro = 1; memory per
// vCPU 2 GiB for compute families (c*), 8 GiB for memory families (r*, x*), 4 GiB otherwise.
func InstanceResources(instanceType string) (cpus float64, memory int64, err error) {
	m := typeRE.FindStringSubmatch(instanceType)
	if m == nil {
		return 0, 0, invalid("instance type %q is not of the form ml.FAMILY.SIZE (e.g. ml.m5.xlarge)", instanceType)
	}
	switch m[3] {
	case "micro", "small":
		cpus = 1
	case "medium", "large":
		cpus = 2
	case "xlarge":
		n := 1
		if m[2] != "" {
			n, _ = strconv.Atoi(m[2])
		}
		if n < 1 || n > 48 {
			return 0, 0, invalid("instance type %q has an unknown size", instanceType)
		}
		cpus = float64(4 * n)
	default:
		return 0, 0, invalid("instance type %q has an unknown size", instanceType)
	}
	if m[2] != "" && m[3] != "xlarge" {
		return 0, 0, invalid("instance type %q has an unknown size", instanceType)
	}
	perCPU := int64(4 << 30)
	switch m[1][0] {
	case 'c':
		perCPU = 2 << 30
	case 'r', 'x':
		perCPU = 8 << 30
	}
	return cpus, int64(cpus) * perCPU, nil
}

// Validate checks a job before it is stored. Every error is errs.Invalid with a message that
// names the member at fault (errs.LimitExceeded for more workers than a job may have).
func Validate(j *Job) error {
	if !j.Kind.Valid() {
		return invalid("unknown job kind %q", j.Kind)
	}
	if err := ValidName(j.Kind, j.Name); err != nil {
		return err
	}
	s := &j.Spec
	if j.Kind != TransformJob {
		if _, err := arn.ParseIAM(j.RoleARN); err != nil || !strings.Contains(j.RoleARN, ":role/") {
			return invalid("RoleArn %q must be the ARN of an IAM role (arn:aws:iam::ACCOUNT:role/NAME)", j.RoleARN)
		}
		if strings.TrimSpace(s.Image) == "" {
			return invalid("the job names no image: set %s", map[Kind]string{TrainingJob: "AlgorithmSpecification.TrainingImage", ProcessingJob: "AppSpecification.ImageUri"}[j.Kind])
		}
	}
	if s.InstanceCount < 1 {
		return invalid("InstanceCount is %d; it must be at least 1", s.InstanceCount)
	}
	if s.InstanceCount > MaxInstances {
		return errs.E(errs.LimitExceeded, "InstanceCount %d is more than the %d workers a job may have on this server", s.InstanceCount, MaxInstances).WithCode("ResourceLimitExceeded")
	}
	if _, _, err := InstanceResources(s.InstanceType); err != nil {
		return err
	}
	if s.MaxRuntime < 0 || s.MaxRuntime > MaxRuntimeLimit || (s.MaxRuntime > 0 && s.MaxRuntime < time.Second) {
		return invalid("StoppingCondition.MaxRuntimeInSeconds must be between 1 and %d", int(MaxRuntimeLimit/time.Second))
	}
	if s.InputMode != "" && s.InputMode != "File" {
		return invalid("TrainingInputMode %q is not supported: only File mode stages inputs here", s.InputMode)
	}
	if err := validateHyperParameters(s.HyperParameters); err != nil {
		return err
	}
	if len(s.Environment) > maxEnvironment {
		return invalid("Environment has %d entries; at most %d are allowed", len(s.Environment), maxEnvironment)
	}
	for _, k := range sortedKeys(s.Environment) {
		if len(k) > 512 || !envKeyRE.MatchString(k) {
			return invalid("Environment key %q must be a letter or underscore followed by letters, digits and underscores", k)
		}
		if len(s.Environment[k]) > maxEnvironmentValue {
			return invalid("Environment value of %q is longer than %d characters", k, maxEnvironmentValue)
		}
	}
	if len(s.Metrics) > maxMetricDefs {
		return invalid("MetricDefinitions has %d entries; at most %d are allowed", len(s.Metrics), maxMetricDefs)
	}
	seenMetric := map[string]bool{}
	for _, m := range s.Metrics {
		if m.Name == "" || len(m.Name) > 255 {
			return invalid("a metric definition's Name must be 1 to 255 characters")
		}
		if seenMetric[m.Name] {
			return invalid("metric %q is defined twice", m.Name)
		}
		seenMetric[m.Name] = true
		if _, err := compileMetric(m.Regex); err != nil {
			return invalid("the Regex of metric %q does not compile: %v", m.Name, err)
		}
	}
	seen := map[string]bool{}
	for i, in := range s.Inputs {
		field := fmt.Sprintf("input %d", i+1)
		if j.Kind == TrainingJob || j.Kind == ProcessingJob {
			if !channelRE.MatchString(in.Name) {
				return invalid("%s: name %q must be 1 to 64 letters, digits, dots, hyphens and underscores", field, in.Name)
			}
			if seen[in.Name] {
				return invalid("input %q appears twice; names must be unique", in.Name)
			}
			seen[in.Name] = true
			field = fmt.Sprintf("input %q", in.Name)
		}
		if _, err := ParseS3URI(field+" S3Uri", in.S3URI); err != nil {
			return err
		}
		switch in.DataType {
		case "", "S3Prefix", "ManifestFile":
		default:
			return invalid("%s: S3DataType %q is not supported (S3Prefix or ManifestFile)", field, in.DataType)
		}
		switch in.Distribution {
		case "", "FullyReplicated", "ShardedByS3Key":
		default:
			return invalid("%s: S3DataDistributionType %q must be FullyReplicated or ShardedByS3Key", field, in.Distribution)
		}
		if j.Kind == ProcessingJob {
			if err := processingPath(field, in.LocalPath); err != nil {
				return err
			}
		}
	}
	if j.Kind == TrainingJob && len(s.Inputs) > 20 {
		return invalid("InputDataConfig has %d channels; at most 20 are allowed", len(s.Inputs))
	}
	paths := map[string]string{}
	for _, in := range s.Inputs {
		if in.LocalPath != "" {
			paths[in.LocalPath] = in.Name
		}
	}
	for _, o := range s.Outputs {
		field := fmt.Sprintf("output %q", o.Name)
		if !channelRE.MatchString(o.Name) {
			return invalid("output name %q must be 1 to 64 letters, digits, dots, hyphens and underscores", o.Name)
		}
		if seen["out/"+o.Name] {
			return invalid("output %q appears twice; names must be unique", o.Name)
		}
		seen["out/"+o.Name] = true
		if _, err := ParseS3URI(field+" S3Uri", o.S3URI); err != nil {
			return err
		}
		if err := processingPath(field, o.LocalPath); err != nil {
			return err
		}
		if other, dup := paths[o.LocalPath]; dup {
			return invalid("%s uses LocalPath %s, which %q uses already", field, o.LocalPath, other)
		}
		paths[o.LocalPath] = o.Name
	}
	switch j.Kind {
	case TrainingJob:
		if _, err := ParseS3URI("OutputDataConfig.S3OutputPath", s.OutputPath); err != nil {
			return err
		}
	case TransformJob:
		if s.Transform == nil || !validName(s.Transform.ModelName) {
			return invalid("ModelName must name a model (1 to 63 letters, digits and hyphens)")
		}
		if len(s.Inputs) != 1 {
			return invalid("TransformInput.DataSource.S3DataSource is required")
		}
		if _, err := ParseS3URI("TransformOutput.S3OutputPath", s.OutputPath); err != nil {
			return err
		}
		t := s.Transform
		if t.SplitType != "" && t.SplitType != "None" && t.SplitType != "Line" {
			return invalid("SplitType %q is not supported (None or Line)", t.SplitType)
		}
		if t.BatchStrategy != "" && t.BatchStrategy != "MultiRecord" && t.BatchStrategy != "SingleRecord" {
			return invalid("BatchStrategy %q must be MultiRecord or SingleRecord", t.BatchStrategy)
		}
	}
	return nil
}

// processingPath checks a processing input's or output's LocalPath: SageMaker requires it under
// /opt/ml/processing/.
func processingPath(field, p string) error {
	if !strings.HasPrefix(p, "/opt/ml/processing/") || len(p) > 256 || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "//") {
		return invalid("%s: LocalPath %q must be an absolute path under /opt/ml/processing/ (at most 256 characters, no ..)", field, p)
	}
	return nil
}

func validateHyperParameters(hp map[string]string) error {
	if len(hp) > maxHyperParameters {
		return invalid("HyperParameters has %d entries; at most %d are allowed", len(hp), maxHyperParameters)
	}
	for _, k := range sortedKeys(hp) {
		if k == "" || len(k) > maxHyperParamKey {
			return invalid("hyperparameter name %q must be 1 to %d characters", k, maxHyperParamKey)
		}
		if len(hp[k]) > maxHyperParamValue {
			return invalid("hyperparameter %q has a value of %d characters; at most %d are allowed", k, len(hp[k]), maxHyperParamValue)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compileMetric compiles a metric definition's regex. Go's RE2 syntax is a subset of the Python
// syntax SageMaker uses: look-arounds and back-references do not compile.
func compileMetric(re string) (*regexp.Regexp, error) {
	if re == "" || len(re) > 500 {
		return nil, fmt.Errorf("it must be 1 to 500 characters")
	}
	r, err := regexp.Compile(re)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// validName reports whether name is a SageMaker job or model name: 1 to 63 letters, digits and
// hyphens, starting and ending with a letter or digit.
func validName(name string) bool { return len(name) <= 63 && nameRE.MatchString(name) }
