package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/errs"
)

// FuzzLoadOrgSpec feeds arbitrary files to the --org parser: it must never panic, and whatever
// it accepts must pass the spec's own validation.
func FuzzLoadOrgSpec(f *testing.F) {
	for _, seed := range []string{
		"management: {name: ds}\n",
		"management: {name: ds, id: \"111111111111\"}\nunits:\n  - name: staging\n    accounts: [{name: s1}, {name: s2, email: s2@x}]\n    units: [{name: eu}]\n",
		"management: {name: ds}\naccounts: [{name: x, id: \"12\"}]\n",
		"management: [1, 2]\n",
		"units: {name: x}\n",
		"\x00\xff",
		"management: {name: ds}\nunits:\n  - name: a\n  - name: a\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc string) {
		path := filepath.Join(dir, "org.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		spec, err := app.LoadOrgSpec(path)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v, want Invalid: %v", errs.KindOf(err), err)
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("accepted a spec that does not validate: %v", err)
		}
	})
}
