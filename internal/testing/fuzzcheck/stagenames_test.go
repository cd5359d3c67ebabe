package fuzzcheck

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stageRegistry is the one file that may spell a stage name as a string.
const stageRegistry = "probes/registry.go"

// TestStageNamesComeFromTheRegistry fails when production code writes a stage name as a
// string literal (r.Stages["session"], a []StageName{"tree"}, stageWhy(r, "shares")) instead
// of a probes.Stage* constant: the compiler converts such a literal to probes.StageName
// silently, so this test type-checks the packages and looks at the type every string literal
// ends up with.
func TestStageNamesComeFromTheRegistry(t *testing.T) {
	module, pkgs := listPackages(t)
	exports := exportData(t)
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok {
			return nil, &exec.Error{Name: path, Err: exec.ErrNotFound}
		}
		return openFile(f)
	})
	checked := 0
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if matches(rel, testSupport) || len(p.GoFiles) == 0 {
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
		conf := types.Config{Importer: imp, Error: func(error) {}}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-checking %s: %v", rel, err)
		}
		checked++
		for expr, tv := range info.Types {
			lit, ok := expr.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			named, ok := tv.Type.(*types.Named)
			if !ok || named.Obj().Name() != "StageName" || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != module+"/probes" {
				continue
			}
			pos := fset.Position(lit.Pos())
			file, _ := filepath.Rel(filepath.Dir(p.Dir[:len(p.Dir)-len(rel)]), pos.Filename)
			if strings.HasSuffix(pos.Filename, filepath.FromSlash(stageRegistry)) {
				continue
			}
			t.Errorf("%s:%d: stage name %s as a literal: use the probes.Stage* constant of %s", file, pos.Line, lit.Value, stageRegistry)
		}
	}
	if checked < 10 {
		t.Fatalf("type-checked only %d packages", checked)
	}
}

// exportData maps every import path the module's packages need to its compiled export data.
func exportData(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Export", "./...")
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.Bytes())
	}
	m := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Export != "" {
			m[p.ImportPath] = p.Export
		}
	}
	return m
}

func openFile(name string) (io.ReadCloser, error) { return os.Open(name) }
