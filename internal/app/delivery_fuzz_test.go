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
	w, err := z.Create("template.json")
	if err != nil {
		f.Fatal(err)
	}
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
	got, err := parseOverrides(`{"B":"2","A":{"Fn::GetParam":["In","c.json","k"]},"C":{"Fn::GetArtifactAtt":["In","ObjectKey"]}}`, []string{"In"})
	if err != nil || len(got) != 3 || got["B"].Literal != "2" || got["A"].Fn != "Fn::GetParam" || got["C"].Args[1] != "ObjectKey" {
		t.Errorf("parseOverrides = %+v, %v", got, err)
	}
	for _, bad := range []string{`[1]`, `{"A":1}`, `{"A":{"Fn::GetParam":["Other","b","c"]}}`, `{"A":{"Fn::GetParam":["In","b"]}}`,
		`{"A":{"Fn::GetArtifactAtt":["In","Size"]}}`, `{"A":{"Fn::Sub":["In"]}}`, `{"A":{"Fn::GetParam":["In","b","c"],"Fn::GetArtifactAtt":["In","URL"]}}`} {
		if _, err := parseOverrides(bad, []string{"In"}); err == nil {
			t.Errorf("parseOverrides(%s) accepted", bad)
		}
	}
}

// FuzzParameterOverrides: ParameterOverrides never panics, and every function it accepts
// names an input artifact.
func FuzzParameterOverrides(f *testing.F) {
	f.Add(`{"A":"1","B":{"Fn::GetParam":["In","f.json","k"]}}`)
	f.Add(`{"C":{"Fn::GetArtifactAtt":["In","URL"]}}`)
	f.Add(`{"D":{"Fn::GetParam":"x"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseOverrides(s, []string{"In"})
		if err != nil {
			return
		}
		for k, v := range got {
			if v.Fn != "" && v.Artifact != "In" {
				t.Fatalf("%s: accepted a function of artifact %q", k, v.Artifact)
			}
		}
	})
}

// FuzzTemplateConfiguration: a TemplateConfiguration file never panics its parser.
func FuzzTemplateConfiguration(f *testing.F) {
	f.Add(`{"Parameters":{"A":"1"},"Tags":{"team":"ml"}}`)
	f.Add(`{"Parameters":{"A":1}}`)
	f.Fuzz(func(t *testing.T, s string) {
		parseTemplateConfiguration(s)
	})
}
