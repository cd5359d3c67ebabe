package daemon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// exportedForCmd are the daemon's exported names that cmd/smbsweep reaches without writing
// daemon.NAME, and why.
var exportedForCmd = map[string]string{
	"Daemon":        "what New returns; serve calls its Listen, Reload and Run",
	"Job":           "the elements of Config.Jobs that `config check` lists",
	"Env":           "the parameter type of LoadFile and Options.Env",
	"UnmarshalYAML": "yaml.Unmarshaler, called by the YAML decoder",
}

// TestExportsOnlyWhatCmdUses keeps the daemon's surface to its one user: every exported
// package-level name is named as daemon.NAME in cmd/smbsweep, and every exported method of an
// exported type is called there, unless exportedForCmd says how cmd reaches it.
func TestExportsOnlyWhatCmdUses(t *testing.T) {
	pkgUses, selectors := cmdReferences(t)
	var unused []string
	for _, f := range parseProduction(t, ".") {
		for _, name := range exportedNames(f) {
			used := pkgUses[name.name]
			if name.method {
				used = selectors[name.name]
			}
			if !used && exportedForCmd[name.name] == "" {
				unused = append(unused, name.String())
			}
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Errorf("daemon exports %s, which cmd/smbsweep does not use: unexport them (or, when cmd reaches one another way, say how in exportedForCmd)", strings.Join(unused, ", "))
	}
}

// parseProduction parses the Go files of dir, tests left out.
func parseProduction(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

type exported struct {
	recv, name string
	method     bool
}

func (e exported) String() string {
	if e.method {
		return e.recv + "." + e.name
	}
	return e.name
}

// exportedNames lists f's exported package-level names and the exported methods of its
// exported types.
func exportedNames(f *ast.File) []exported {
	var out []exported
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				if d.Name.IsExported() {
					out = append(out, exported{name: d.Name.Name})
				}
				continue
			}
			if recv := recvType(d.Recv.List[0].Type); ast.IsExported(recv) && d.Name.IsExported() {
				out = append(out, exported{recv: recv, name: d.Name.Name, method: true})
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						out = append(out, exported{name: s.Name.Name})
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							out = append(out, exported{name: n.Name})
						}
					}
				}
			}
		}
	}
	return out
}

func recvType(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// cmdReferences returns the names cmd/smbsweep's production code writes as daemon.NAME, and
// every selector name it uses (for methods called on daemon values).
func cmdReferences(t *testing.T) (pkgUses, selectors map[string]bool) {
	t.Helper()
	pkgUses, selectors = map[string]bool{}, map[string]bool{}
	for _, f := range parseProduction(t, "../cmd/smbsweep") {
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				selectors[sel.Sel.Name] = true
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "daemon" {
					pkgUses[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	if len(pkgUses) == 0 {
		t.Fatal("cmd/smbsweep names nothing of package daemon: is the path right?")
	}
	return pkgUses, selectors
}
