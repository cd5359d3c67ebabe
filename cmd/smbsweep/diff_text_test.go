package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffTextSanitized: `diff -text` prints a status read from its input files with its
// escape sequences made visible, never raw.
func TestDiffTextSanitized(t *testing.T) {
	dir := t.TempDir()
	oldF, newF := filepath.Join(dir, "old.jsonl"), filepath.Join(dir, "new.jsonl")
	if err := os.WriteFile(oldF, []byte(`{"type":"host","ip":"127.0.0.1","port":445,"status":"\u001b[31mdown\u001b[0m\u009b2J\u202e"}`+"\n"+`{"type":"summary"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newF, []byte(`{"type":"host","ip":"127.0.0.1","port":445,"status":"smb"}`+"\n"+`{"type":"summary"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "", "diff", "-text", oldF, newF)
	want := `127.0.0.1:445            SMB appeared (was \x1b[31mdown\x1b[0m\u009b2J\u202e)` + "\n"
	if code != exitOK || out != want || stderr != "" {
		t.Errorf("exit %d, stderr %q\n got  %q\n want %q", code, stderr, out, want)
	}
	if strings.ContainsAny(out, "\x1b\u009b\u202e") {
		t.Errorf("escape sequences reached the terminal: %q", out)
	}
}
