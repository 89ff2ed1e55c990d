package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobs"
)

// TestBadJobsAreRefused: each bad request is a ValidationException (or ResourceLimitExceeded)
// whose message names what is wrong, and nothing is stored.
func TestBadJobsAreRefused(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		change func(j *jobs.Job)
		code   string
		says   string
	}{
		{"name", func(j *jobs.Job) { j.Name = "bad_name" }, "ValidationException", "1 to 63 letters"},
		{"role", func(j *jobs.Job) { j.RoleARN = "arn:aws:iam::111122223333:user/bob" }, "ValidationException", "RoleArn"},
		{"image", func(j *jobs.Job) { j.Spec.Image = "" }, "ValidationException", "AlgorithmSpecification.TrainingImage"},
		{"count", func(j *jobs.Job) { j.Spec.InstanceCount = 0 }, "ValidationException", "InstanceCount"},
		{"too many", func(j *jobs.Job) { j.Spec.InstanceCount = 100 }, "ResourceLimitExceeded", "InstanceCount 100"},
		{"type", func(j *jobs.Job) { j.Spec.InstanceType = "m5.large" }, "ValidationException", "ml.FAMILY.SIZE"},
		{"runtime", func(j *jobs.Job) { j.Spec.MaxRuntime = 30 * 24 * time.Hour }, "ValidationException", "MaxRuntimeInSeconds"},
		{"uri", func(j *jobs.Job) { j.Spec.Inputs[0].S3URI = "https://data/train" }, "ValidationException", `input "train" S3Uri`},
		{"bucket", func(j *jobs.Job) { j.Spec.Inputs[0].S3URI = "s3://Bad_Bucket/x" }, "ValidationException", "bucket"},
		{"output", func(j *jobs.Job) { j.Spec.OutputPath = "models/out" }, "ValidationException", "S3OutputPath"},
		{"channel", func(j *jobs.Job) { j.Spec.Inputs[0].Name = "no spaces" }, "ValidationException", "name"},
		{"twice", func(j *jobs.Job) { j.Spec.Inputs = append(j.Spec.Inputs, j.Spec.Inputs[0]) }, "ValidationException", "twice"},
		{"hp value", func(j *jobs.Job) { j.Spec.HyperParameters["eta"] = strings.Repeat("9", 2501) }, "ValidationException", `hyperparameter "eta"`},
		{"hp name", func(j *jobs.Job) { j.Spec.HyperParameters[""] = "1" }, "ValidationException", "hyperparameter name"},
		{"regex", func(j *jobs.Job) { j.Spec.Metrics = []jobs.MetricDefinition{{Name: "m", Regex: `(?<=x)1`}} }, "ValidationException", `metric "m"`},
		{"env", func(j *jobs.Job) { j.Spec.Environment = map[string]string{"1X": "y"} }, "ValidationException", "Environment key"},
		{"mode", func(j *jobs.Job) { j.Spec.InputMode = "Pipe" }, "ValidationException", "File mode"},
		{"distribution", func(j *jobs.Job) { j.Spec.Inputs[0].Distribution = "Random" }, "ValidationException", "S3DataDistributionType"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := training("valid", "img")
			c.change(&j)
			_, err := e.svc.Create(context.Background(), e.calls, j)
			if got := errs.CodeOf(err); got != c.code || !strings.Contains(errs.Message(err), c.says) {
				t.Errorf("err = %v (code %q), want %s saying %q", err, got, c.code, c.says)
			}
		})
	}
	p := jobs.Job{Kind: jobs.ProcessingJob, Name: "p", RoleARN: role, Spec: jobs.Spec{Image: "img", InstanceType: "ml.m5.large", InstanceCount: 1,
		Inputs: []jobs.Input{{Name: "in", S3URI: "s3://data/x", LocalPath: "/tmp/in"}}}}
	if _, err := e.svc.Create(context.Background(), e.calls, p); !strings.Contains(errs.Message(err), "/opt/ml/processing/") {
		t.Errorf("a LocalPath outside /opt/ml/processing: %v", err)
	}
	got, err := e.svc.List(context.Background(), e.calls, jobs.TrainingJob, jobs.Query{})
	if err != nil || len(got) != 0 {
		t.Errorf("after refusals: %d jobs stored, %v", len(got), err)
	}
	if _, err := e.svc.List(context.Background(), e.calls, jobs.TrainingJob, jobs.Query{Status: "Running"}); errs.CodeOf(err) != "ValidationException" {
		t.Errorf("StatusEquals Running: %v", err)
	}
}

func TestNamesAreUniqueAndMissingJobsAreNotFound(t *testing.T) {
	e := newEnv(t)
	e.create(training("dup", "img"))
	if _, err := e.svc.Create(context.Background(), e.calls, training("dup", "img")); errs.CodeOf(err) != "ResourceInUse" {
		t.Errorf("a second job named dup: %v, want ResourceInUse", err)
	}
	// Another kind may use the name.
	p := jobs.Job{Kind: jobs.ProcessingJob, Name: "dup", RoleARN: role, Spec: jobs.Spec{Image: "img", InstanceType: "ml.m5.large", InstanceCount: 1}}
	if _, err := e.svc.Create(context.Background(), e.calls, p); err != nil {
		t.Errorf("a processing job named like a training job: %v", err)
	}
	if _, err := e.svc.Describe(context.Background(), e.calls, jobs.TrainingJob, "nope"); errs.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("describe a missing job: %v", err)
	}
	if err := e.svc.Stop(context.Background(), e.calls, jobs.TrainingJob, "nope"); errs.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("stop a missing job: %v", err)
	}
	other := e.calls
	other.Caller.Account = "444455556666"
	if _, err := e.svc.Describe(context.Background(), other, jobs.TrainingJob, "dup"); errs.CodeOf(err) != "ResourceNotFound" {
		t.Errorf("another account describes dup: %v", err)
	}
	// Listing filters and orders.
	for _, n := range []string{"b-job", "a-job"} {
		e.create(training(n, "img"))
	}
	got, err := e.svc.List(context.Background(), e.calls, jobs.TrainingJob, jobs.Query{NameContains: "-job", SortBy: "Name"})
	if err != nil || len(got) != 2 || got[0].Name != "a-job" || got[1].Name != "b-job" {
		t.Errorf("list by name: %v %v", names(got), err)
	}
	got, _ = e.svc.List(context.Background(), e.calls, jobs.TrainingJob, jobs.Query{Descending: true})
	if len(got) != 3 || got[0].Name != "a-job" || got[2].Name != "dup" {
		t.Errorf("list by creation time, descending: %v", names(got))
	}
	got, _ = e.svc.List(context.Background(), e.calls, jobs.TrainingJob, jobs.Query{Status: jobs.Completed})
	if len(got) != 0 {
		t.Errorf("StatusEquals Completed: %v", names(got))
	}
}

func names(js []jobs.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Name)
	}
	return out
}

// FuzzParseS3URI: the parser never panics, and what it accepts prints back to itself.
func FuzzParseS3URI(f *testing.F) {
	for _, s := range []string{"s3://bucket/key", "s3://b", "s3://my.bucket-1/a/b/", "s3:///x", "http://x/y", "s3://a..b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := jobs.ParseS3URI("S3Uri", s)
		if err != nil {
			if errs.CodeOf(err) != "ValidationException" {
				t.Fatalf("error without the ValidationException code: %v", err)
			}
			return
		}
		if strings.TrimSuffix(s, "/") != strings.TrimSuffix(u.String(), "/") {
			t.Fatalf("%q parsed to %+v, which prints %q", s, u, u.String())
		}
	})
}
