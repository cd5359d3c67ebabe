package fuzzcheck

import (
	"strings"
	"testing"
)

// testSupport are the trees that hold test servers, harnesses and tools: production code
// (every package outside them, test files aside) must never import them.
var testSupport = []string{"internal/testing/...", "tools/..."}

// TestProductionImportsNoTestSupport fails when a production package imports a test server,
// harness or tool, so that test code never ships in the binary.
func TestProductionImportsNoTestSupport(t *testing.T) {
	module, pkgs := listPackages(t)
	checked := 0
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if matches(rel, testSupport) {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok && matches(r, testSupport) {
				t.Errorf("production package %s imports %s: move what it needs out of the test support trees (%s)", rel, r, strings.Join(testSupport, ", "))
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d production packages", checked)
	}
}
