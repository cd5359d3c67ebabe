package output

import (
	"strings"
	"testing"
)

func TestSanitizeTerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"FILESRV", "FILESRV"},
		{"", ""},
		{"caf\u00e9 \u4e2d\u6587", "caf\u00e9 \u4e2d\u6587"}, // printable Unicode passes
		{"EVIL\x1b[2J\x1b[H", `EVIL\x1b[2J\x1b[H`},           // clear screen, cursor home
		{"a\rb", `a\x0db`},                           // carriage return
		{"a\nfake line", `a\x0afake line`},           // newline
		{"tab\there", `tab\x09here`},                 // tab
		{"del\x7f", `del\x7f`},                       // DEL
		{"bell\a\b", `bell\x07\x08`},                 // BEL, BS
		{"csi\u009b31m", `csi\u009b31m`},             // C1 CSI as a UTF-8 rune
		{"raw\x9b31m", `raw\x9b31m`},                 // C1 CSI as a raw 8-bit byte
		{"osc\x1b]0;title\a", `osc\x1b]0;title\x07`}, // OSC set-title
		{"rlo\u202egnp.exe", `rlo\u202egnp.exe`},     // right-to-left override
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},     // line/paragraph separators
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},       // invalid UTF-8
		{"nul\x00", `nul\x00`},                       // NUL
		{"\u00a0nbsp ok", "\u00a0nbsp ok"},           // U+00A0 is not a C1 control
		{"back\\slash", "back\\slash"},               // backslash unchanged
	}
	for _, tt := range tests {
		got := SanitizeTerminal(tt.in)
		if got != tt.want {
			t.Errorf("SanitizeTerminal(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < 0x20 || c == 0x7f {
				t.Errorf("SanitizeTerminal(%q) left control byte %#x", tt.in, c)
			}
		}
		if strings.ContainsRune(got, 0x9b) || strings.ContainsRune(got, 0x85) {
			t.Errorf("SanitizeTerminal(%q) left a C1 control", tt.in)
		}
	}
}

func TestSanitizeTerminalNoAllocWhenClean(t *testing.T) {
	s := "FILESRV.example.org caf\u00e9"
	if n := testing.AllocsPerRun(100, func() { _ = SanitizeTerminal(s) }); n != 0 {
		t.Errorf("SanitizeTerminal of a clean string allocated %v times", n)
	}
}

func TestSanitizeCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"FILESRV", "FILESRV"},
		{"", ""},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"@SUM(1)", "'@SUM(1)"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"\t=1+1", "'=1+1"},   // leading tab: guarded, then removed
		{"\tname", "'name"},   // a leading tab alone still counts
		{"\r=1", "'=1"},       // leading CR
		{"  =1+1", "'  =1+1"}, // formula after leading spaces
		{"a=b", "a=b"},        // '=' inside is harmless
		{"x-1", "x-1"},
		{"line\nbreak", "linebreak"}, // control characters removed
		{"\x00=1", "'=1"},            // a formula hidden behind a removed control character
		{"c1\u009bx", "c1x"},         // C1 control removed
		{"bad\xffutf8", "bad\ufffdutf8"},
		{"caf\u00e9", "caf\u00e9"},
		{"'quoted", "'quoted"},
	}
	for _, tt := range tests {
		if got := SanitizeCSVCell(tt.in); got != tt.want {
			t.Errorf("SanitizeCSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[2J", "=1", "\xff", "\u009b", "\t-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		term := SanitizeTerminal(s)
		for _, r := range term {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || terminalUnsafe(r) {
				t.Fatalf("SanitizeTerminal(%q) = %q keeps %U", s, term, r)
			}
		}
		if !utf8Valid(term) {
			t.Fatalf("SanitizeTerminal(%q) = %q is not valid UTF-8", s, term)
		}
		cell := SanitizeCSVCell(s)
		for _, r := range cell {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("SanitizeCSVCell(%q) = %q keeps %U", s, cell, r)
			}
		}
		if trimmed := strings.TrimLeft(cell, " "); trimmed != "" && strings.ContainsRune("=+-@", rune(trimmed[0])) {
			t.Fatalf("SanitizeCSVCell(%q) = %q starts a formula", s, cell)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\ufffd") == s }
