package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/probes"
)

// TestJSONLEscapesC1AndBidi is the regression test for raw C1 controls and bidi overrides in
// JSONL lines: encoding/json escapes only C0, so a share named "csi\u009b31m" reached a
// terminal that cats the file as an 8-bit CSI. Every rune SanitizeTerminal escapes must be a
// \uXXXX escape in the line, the decoded record must be unchanged, and ordinary non-ASCII text
// must stay as it is.
func TestJSONLEscapesC1AndBidi(t *testing.T) {
	names := []string{"csi\u009b31mred", "\u202eright-to-left", "iso\u2066late\u2069", "mark\u200f", "bom\ufeff", "nel\u0085",
		"Öffentlich – café ☕", "emoji😀", "plain"}
	r := &probes.Result{Schema: probes.SchemaVersion, Type: "host", IP: "127.0.0.1", Port: 445}
	for _, n := range names {
		r.Shares = append(r.Shares, probes.Share{Name: n, Comment: n + "\x1b[2J"})
	}
	var buf bytes.Buffer
	j := NewJSONL(&buf, "x")
	if err := j.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for i, c := range line {
		if c == '\n' && i != len(line)-1 || c < 0x20 && c != '\n' || c >= 0x80 && terminalUnsafe(c) {
			t.Errorf("raw %U at %d in %q", c, i, line)
		}
	}
	for _, esc := range []string{`\u009b`, `\u202e`, `\u2066`, `\u2069`, `\u200f`, `\ufeff`, `\u0085`, `\u001b`} {
		if !strings.Contains(line, esc) {
			t.Errorf("line lacks the escape %s", esc)
		}
	}
	for _, keep := range []string{"Öffentlich – café ☕", "emoji😀"} {
		if !strings.Contains(line, keep) {
			t.Errorf("ordinary text %q was escaped", keep)
		}
	}
	var got probes.Result
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if got.Shares[i].Name != n || got.Shares[i].Comment != n+"\x1b[2J" {
			t.Errorf("share %d decoded as %q / %q, want %q", i, got.Shares[i].Name, got.Shares[i].Comment, n)
		}
	}
}

// FuzzJSONLEscape checks that whatever string a server sends, the JSONL line is one valid JSON
// line without a raw terminal-unsafe rune, and decodes to the string encoding/json would give.
func FuzzJSONLEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "csi\u009b", "\u202e", "\xc2\x9b", "\xe2\x80\xae", "\xff\xfe", "a\u2028b", "😀\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := &probes.Result{Schema: probes.SchemaVersion, Type: "host", Error: s, Shares: []probes.Share{{Name: s}}}
		var buf bytes.Buffer
		j := NewJSONL(&buf, "x")
		if err := j.WriteResult(r); err != nil {
			t.Fatal(err)
		}
		if err := j.Flush(); err != nil {
			t.Fatal(err)
		}
		line := buf.Bytes()
		if bytes.IndexByte(line, '\n') != len(line)-1 || !utf8.Valid(line) || firstTerminalUnsafe(line) >= 0 {
			t.Fatalf("line %q", line)
		}
		var got probes.Result
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		var want string // what encoding/json alone makes of s (invalid bytes become U+FFFD)
		b, _ := json.Marshal(s)
		_ = json.Unmarshal(b, &want)
		if got.Error != want || got.Shares[0].Name != want {
			t.Fatalf("decoded %q, want %q", got.Error, want)
		}
	})
}
