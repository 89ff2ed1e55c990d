package jobs

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/batch"
)

func TestRelativeKey(t *testing.T) {
	for _, c := range []struct{ prefix, key, want string }{
		{"train/", "train/a.csv", "a.csv"},
		{"train", "train/a.csv", "a.csv"},
		{"train", "train2/a.csv", "train2/a.csv"},
		{"data/train", "data/train2/a.csv", "train2/a.csv"},
		{"data/abalone.csv", "data/abalone.csv", "abalone.csv"},
		{"", "x/y.csv", "x/y.csv"},
	} {
		if got := relativeKey(c.prefix, c.key); got != c.want {
			t.Errorf("relativeKey(%q, %q) = %q, want %q", c.prefix, c.key, got, c.want)
		}
	}
}

// FuzzSafeRel: an object key (or a tar entry's name) accepted as a relative path never leads
// out of the directory it is joined to.
func FuzzSafeRel(f *testing.F) {
	for _, s := range []string{"a/b.csv", "../x", "/etc/passwd", "a/../../b", ".", "", "a//b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rel, ok := safeRel(s)
		if !ok {
			return
		}
		joined := filepath.Join("/root/dir", rel)
		if !strings.HasPrefix(joined, "/root/dir/") {
			t.Fatalf("%q -> %q escapes to %q", s, rel, joined)
		}
	})
}

// TestTransformSettingsReachTheWorker: a transform job's data settings reach its worker as the
// one JSON object of batch.Params the transform command decodes (strictly: an unknown member is
// an error there), every member carried.
func TestTransformSettingsReachTheWorker(t *testing.T) {
	spec := &TransformSpec{ModelName: "m", ContentType: "text/csv", SplitType: "Line", BatchStrategy: "MultiRecord",
		Accept: "application/json", AssembleWith: "Line", MaxPayloadMB: 7, JoinSource: "Input", InputFilter: "$[1:]", OutputFilter: "$[0,-1]"}
	j := Job{Kind: TransformJob, Name: "t", Spec: Spec{InstanceCount: 1, Transform: spec}}
	env := workerEnv(j, 0, 2, nil, nil)
	dec := json.NewDecoder(strings.NewReader(env[TransformParamsEnv]))
	dec.DisallowUnknownFields()
	var got batch.Params
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%s=%q: %v", TransformParamsEnv, env[TransformParamsEnv], err)
	}
	want := batch.Params{SplitType: "Line", BatchStrategy: "MultiRecord", MaxPayloadInMB: 7, AssembleWith: "Line", ContentType: "text/csv",
		Accept: "application/json", InputFilter: "$[1:]", OutputFilter: "$[0,-1]", JoinSource: "Input"}
	if got != want {
		t.Errorf("the worker gets %+v, want %+v", got, want)
	}
}
