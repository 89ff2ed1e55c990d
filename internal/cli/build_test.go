package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStageParameters(t *testing.T) {
	got, err := stageParameters([]byte(`{"Parameters": {"StageName": "staging", "EndpointInstanceCount": 2, "EnableDataCapture": true, "ModelPackageName": "old"}}`),
		map[string]string{"ModelPackageName": "arn:new", "SageMakerProjectName": "p"})
	if err != nil {
		t.Fatal(err)
	}
	want := []stackSetParameter{{"EnableDataCapture", "true"}, {"EndpointInstanceCount", "2"}, {"ModelPackageName", "arn:new"}, {"SageMakerProjectName", "p"}, {"StageName", "staging"}}
	if !cmp.Equal(got, want) {
		t.Errorf("stageParameters = %v, want %v", got, want)
	}
	for _, bad := range []string{`[]`, `{"Parameters": {"A": [1]}}`, `not json`} {
		if _, err := stageParameters([]byte(bad), nil); err == nil {
			t.Errorf("stageParameters(%s) accepted", bad)
		}
	}
}

func TestHeldOutAndMSE(t *testing.T) {
	labels, features, err := heldOut(strings.NewReader("10,1,2\n4,3,4\n7,5,6\n"), 2)
	if err != nil || !cmp.Equal(labels, []float64{10, 4}) || features != "1,2\n3,4\n" {
		t.Fatalf("heldOut = %v %q %v", labels, features, err)
	}
	if got, err := mse(labels, "11\n2"); err != nil || got != 2.5 {
		t.Errorf("mse = %v, %v; want 2.5", got, err)
	}
	if got, err := mse(labels, "10,4"); err != nil || got != 0 {
		t.Errorf("mse of a comma-separated answer = %v, %v", got, err)
	}
	for _, bad := range []string{"1", "1\n2\n3", "x\n1"} {
		if _, err := mse(labels, bad); err == nil {
			t.Errorf("mse(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "x,1\n", "5\n"} {
		if _, _, err := heldOut(strings.NewReader(bad), 10); err == nil {
			t.Errorf("heldOut(%q) accepted", bad)
		}
	}
}

func FuzzHeldOut(f *testing.F) {
	f.Add("10,1,2\n4,3,4\n", "11\n2\n")
	f.Add("\"1\",a\n", "1")
	f.Fuzz(func(t *testing.T, rows, predictions string) {
		labels, features, err := heldOut(strings.NewReader(rows), 50)
		if err != nil {
			return
		}
		if n := strings.Count(features, "\n"); n != len(labels) {
			t.Fatalf("%d feature rows for %d labels", n, len(labels))
		}
		if m, err := mse(labels, predictions); err == nil && m < 0 {
			t.Fatalf("negative mse %v", m)
		}
	})
}
