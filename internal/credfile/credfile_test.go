package credfile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	in := []Profile{
		{Name: "data-science", Account: "111111111111", AccessKeyID: "AKIA1", SecretAccessKey: "s/1+", Region: "us-east-1", EndpointURL: "http://127.0.0.1:9330"},
		{Name: "session", AccessKeyID: "ASIA2", SecretAccessKey: "s2", SessionToken: "tok"},
	}
	var b bytes.Buffer
	if err := Encode(&b, "Slipway credentials\nsecond line", in); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := Encode(&b, "", []Profile{{Name: "a]b"}}); err == nil {
		t.Error("a profile name with a bracket was written")
	}
}

func TestDecodeErrorsNameTheLine(t *testing.T) {
	for doc, want := range map[string]string{
		"aws_access_key_id = x\n": "line 1",
		"[p]\nnot a pair\n":       "line 2",
		"[]\n":                    "line 1",
	} {
		if _, err := Decode(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%q) = %v, want an error naming %s", doc, err, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("[a]\naws_access_key_id = x\n# account 1\n")
	f.Add("[\n")
	f.Add("; c\n[p]\nregion=us\n=\n")
	f.Fuzz(func(t *testing.T, doc string) {
		ps, err := Decode(strings.NewReader(doc))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := Encode(&b, "", ps); err != nil {
			return // names that cannot be written back are fine to refuse
		}
		again, err := Decode(&b)
		if err != nil {
			t.Fatalf("re-decoding what Encode wrote: %v", err)
		}
		if len(again) != len(ps) {
			t.Fatalf("%d profiles became %d", len(ps), len(again))
		}
	})
}
