package diff

import (
	"strings"
	"testing"
)

// hostile holds what a crafted scan file can put in a string: ANSI (ESC, 8-bit CSI), C0 (BS,
// CR, LF), DEL and bidirectional overrides.
var hostile = []string{"\x1b", "\u009b", "\b", "\r", "\n", "\x7f", "\u202e", "\u2066"}

// TestWriteTextSanitizes: every string from the input files reaches the terminal escaped.
func TestWriteTextSanitizes(t *testing.T) {
	old, err := Read(strings.NewReader(
		`{"type":"host","ip":"127.0.0.1","port":445,"status":"\u001b[2J\u001b[31mconnection-refused\r\nfake line\u009b1m\u202eevil\u2066\b\u007f"}` + "\n" +
			`{"type":"host","ip":"127.0.0.2","port":445,"status":"smb","negotiate":{"dialect":"3.0\u001b]0;title\u0007"}}` + "\n" +
			`{"type":"summary"}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := Read(strings.NewReader(
		`{"type":"host","ip":"127.0.0.1","port":445,"status":"smb","host":"a\u001bb"}` + "\n" +
			`{"type":"host","ip":"127.0.0.2","port":445,"status":"smb","negotiate":{"dialect":"3.1.1\u202e"}}` + "\n" +
			`{"type":"summary"}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	changes := Compare(old, cur)
	if len(changes) != 2 {
		t.Fatalf("changes: %+v", changes)
	}
	changes = append(changes, Change{Type: "odd\x1b[1m", Field: "f\u009b", IP: "127.0.0.3", Port: 445, Old: "x\x1b", New: 3})
	var b strings.Builder
	if err := WriteText(&b, changes); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	body := strings.TrimSuffix(out, "\n")
	if strings.Count(body, "\n") != len(changes)-1 {
		t.Errorf("a change spans more than one line:\n%s", out)
	}
	for _, h := range hostile {
		if h != "\n" && strings.Contains(out, h) {
			t.Errorf("%q reached the output: %q", h, out)
		}
	}
	for _, want := range []string{
		`SMB appeared (was \x1b[2J\x1b[31mconnection-refused\x0d\x0afake line\u009b1m\u202eevil\u2066\x08\x7f)`,
		`dialect 3.0\x1b]0;title\x07 -> 3.1.1\u202e`,
		`("a\x1bb")`,
		`odd\x1b[1m f\u009b: x\x1b -> 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}
