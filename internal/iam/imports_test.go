package iam

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLeafImports keeps the package a leaf: the standard library and internal/errs only.
func TestLeafImports(t *testing.T) {
	checkLeafImports(t, ".")
}

func checkLeafImports(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if path != "github.com/slipway-ml/slipway/internal/errs" && strings.Contains(first, ".") {
				t.Errorf("%s imports %s; this leaf package may import only the standard library and internal/errs", f, path)
			}
		}
	}
}
