package ntlmssp

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPureCodec keeps this package a codec: no file of it imports a cryptographic package.
// NTLM's cryptography lives in internal/ntlmcrypto.
func TestPureCodec(t *testing.T) {
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "crypto/") || strings.HasPrefix(path, "golang.org/x/crypto/") ||
				strings.HasSuffix(path, "/internal/ntlmcrypto") || strings.HasSuffix(path, "/internal/smbcrypto") {
				t.Errorf("%s imports %s: NTLM cryptography belongs in internal/ntlmcrypto, not in the codec", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}
