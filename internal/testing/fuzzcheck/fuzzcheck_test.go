package fuzzcheck

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// requiredPatterns are the packages that decode bytes or text from the outside and must each
// have at least one Fuzz target: the codecs (wire and below), the transport's framing, the SMB 3.x crypto that opens
// received messages, the output sanitizers, and the scanner's target parser. Import paths
// relative to the module; a trailing "/..." includes every package below.
var requiredPatterns = []string{
	"wire/...",
	"transport",
	"internal/smbcrypto",
	"output",
	"scanner",
}

// Packages that are never required, whatever they declare: test support.
var exempt = []string{"internal/testing/...", "tools/..."}

type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
}

// listPackages runs `go list -json ./...` in the module root.
func listPackages(t *testing.T) (module string, pkgs []pkg) {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.Bytes())
	}
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module = strings.TrimSpace(string(mod))
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages in %s", len(pkgs), root)
	}
	return module, pkgs
}

func matches(rel string, patterns []string) bool {
	for _, p := range patterns {
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if rel == base || strings.HasPrefix(rel, base+"/") {
				return true
			}
		} else if rel == p {
			return true
		}
	}
	return false
}

var fuzzName = regexp.MustCompile(`^Fuzz[A-Z0-9_]`)

// fuzzTargets returns the Fuzz targets of p: functions FuzzXxx(f *testing.F) in its test files.
func fuzzTargets(t *testing.T, p pkg) []string {
	t.Helper()
	var names []string
	fset := token.NewFileSet()
	for _, f := range append(append([]string{}, p.TestGoFiles...), p.XTestGoFiles...) {
		file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !fuzzName.MatchString(fd.Name.Name) {
				continue
			}
			if params := fd.Type.Params.List; len(params) == 1 && isTestingF(params[0].Type) {
				names = append(names, fd.Name.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}

func isTestingF(e ast.Expr) bool {
	star, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "F"
}

// declaresDecoder reports whether p's non-test files declare a byte-view decoder: a method
// Validate() error on a type whose underlying type is []byte (the codec convention of DESIGN).
// A package that starts decoding untrusted bytes this way is required to have a Fuzz target
// even if nobody adds it to requiredPatterns.
func declaresDecoder(t *testing.T, p pkg) (string, bool) {
	t.Helper()
	fset := token.NewFileSet()
	byteTypes := map[string]bool{}
	var validators []string
	for _, f := range p.GoFiles {
		file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok {
						continue
					}
					if at, ok := ts.Type.(*ast.ArrayType); ok && at.Len == nil {
						if id, ok := at.Elt.(*ast.Ident); ok && (id.Name == "byte" || id.Name == "uint8") {
							byteTypes[ts.Name.Name] = true
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Validate" || len(d.Recv.List) != 1 {
					continue
				}
				if id, ok := d.Recv.List[0].Type.(*ast.Ident); ok {
					validators = append(validators, id.Name)
				}
			}
		}
	}
	for _, v := range validators {
		if byteTypes[v] {
			return v, true
		}
	}
	return "", false
}

// TestEveryDecoderIsFuzzed fails when a package that decodes untrusted input has no Fuzz target,
// or has one without a committed seed corpus in testdata/fuzz/<FuzzName>/ (the regression seeds
// scripts/fuzz-all.sh adds to). Packages are discovered with `go list` at test time.
func TestEveryDecoderIsFuzzed(t *testing.T) {
	module, pkgs := listPackages(t)
	required := 0
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if matches(rel, exempt) {
			continue
		}
		why := ""
		if matches(rel, requiredPatterns) {
			why = "it is listed in requiredPatterns"
		} else if typ, ok := declaresDecoder(t, p); ok {
			why = "it declares the byte-view decoder " + typ + ".Validate"
		}
		if why == "" {
			continue
		}
		required++
		targets := fuzzTargets(t, p)
		t.Logf("%s: %d Fuzz targets (%s)", rel, len(targets), why)
		if len(targets) == 0 {
			t.Errorf("%s has no Fuzz target, but %s: add a FuzzXxx(f *testing.F) over its decoders "+
				"with seeds in %s/testdata/fuzz/FuzzXxx/", p.ImportPath, why, rel)
			continue
		}
		for _, name := range targets {
			ents, err := os.ReadDir(filepath.Join(p.Dir, "testdata", "fuzz", name))
			if err != nil || len(ents) == 0 {
				t.Errorf("%s: %s has no committed seed corpus in testdata/fuzz/%s/ (run scripts/fuzz-all.sh "+
					"with SEED_NEW=5, or write seeds with go test -fuzz, and commit them)", p.ImportPath, name, name)
			}
		}
	}
	if required < len(requiredPatterns) {
		t.Errorf("only %d required packages found: requiredPatterns is out of date", required)
	}
}

// TestDecoderDetection keeps the automatic detection honest: it must recognise the codec
// packages by their byte-view Validate methods, and not the packages without one.
func TestDecoderDetection(t *testing.T) {
	module, pkgs := listPackages(t)
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		_, got := declaresDecoder(t, p)
		switch rel {
		case "wire", "wire/dcerpc", "wire/ntlmssp", "wire/smb1":
			if !got {
				t.Errorf("%s: byte-view decoders not detected", rel)
			}
		case "cmd/smbsweep", "sweep":
			if got {
				t.Errorf("%s: detected as a decoder package", rel)
			}
		}
	}
}
