package app

import (
	"archive/zip"
	"bytes"
	"testing"
)

// FuzzArtifactFile: reading a template out of an artifact (a zip archive, or one file) never
// panics, and a file found in a zip is what the archive holds.
func FuzzArtifactFile(f *testing.F) {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create("template.json")
	w.Write([]byte(`{"Resources":{}}`))
	z.Close()
	f.Add(b.Bytes(), "template.json")
	f.Add([]byte(`{"Resources":{}}`), "template.json")
	f.Add([]byte("PK\x03\x04garbage"), "x")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		got, err := fileOf(data, "template.json", name)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, []byte("PK\x03\x04")) && got != string(data) {
			t.Fatalf("a single-file artifact read back differently")
		}
	})
}

func TestOverrides(t *testing.T) {
	got, err := overrides(`{"B":"2","A":"1"}`)
	if err != nil || len(got) != 2 || got[0].Key != "A" || got[1].Value != "2" {
		t.Errorf("overrides = %+v, %v", got, err)
	}
	for _, bad := range []string{`[1]`, `{"A":1}`, `{"A":{"Fn::GetParam":["a","b","c"]}}`} {
		if _, err := overrides(bad); err == nil {
			t.Errorf("overrides(%s) accepted", bad)
		}
	}
}
