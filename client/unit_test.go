package client

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/wire"
)

func TestCredentialsRedacted(t *testing.T) {
	h := ntlmcrypto.NTHash("Hunter2-Secret")
	hashHex := hex.EncodeToString(h[:])
	for _, c := range []Credentials{
		{User: "alice", Domain: "CORP", Password: "Hunter2-Secret"},
		{User: "alice", NTHash: &h},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			for _, v := range []any{c, &c, []Credentials{c}, struct{ C Credentials }{c}} {
				s := fmt.Sprintf(verb, v)
				if strings.Contains(s, "Hunter2") || strings.Contains(strings.ToLower(s), hashHex) || !strings.Contains(s, "REDACTED") {
					t.Errorf("%s of %T: %s", verb, v, s)
				}
			}
		}
		b, err := json.Marshal(c)
		if err != nil || strings.Contains(string(b), "Hunter2") || strings.Contains(string(b), hashHex) || !strings.Contains(string(b), `"user":"alice"`) {
			t.Errorf("JSON: %s %v", b, err)
		}
	}
}

func TestParseNTHash(t *testing.T) {
	want := ntlmcrypto.NTHash("password")
	hx := hex.EncodeToString(want[:])
	for _, in := range []string{hx, strings.ToUpper(hx), " " + hx + "\n", "aad3b435b51404eeaad3b435b51404ee:" + hx, ":" + hx} {
		got, err := ParseNTHash(in)
		if err != nil || got != want {
			t.Errorf("ParseNTHash(%q) = %v", in, err)
		}
	}
	for _, in := range []string{"", hx[:31], hx + "0", "zz" + hx[2:], "abc:" + hx, hx + ":" + hx + ":"} {
		_, err := ParseNTHash(in)
		if err == nil {
			t.Errorf("ParseNTHash(%q) accepted", in)
		} else if len(in) >= 8 && strings.Contains(err.Error(), in[2:8]) {
			t.Errorf("ParseNTHash(%q): error repeats the input: %v", in, err)
		}
	}
}

func FuzzParseNTHash(f *testing.F) {
	f.Add("8846f7eaee8fb117ad06bdd830b7586c")
	f.Add("aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c")
	f.Add("8846f7eaee8fb117ad06bdd830b7586g")
	f.Add(":")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseNTHash(s)
		if err != nil {
			// The error never carries a piece of the input longer than a few characters.
			if in := strings.TrimSpace(s); len(in) >= 6 && strings.Contains(err.Error(), in) {
				t.Fatalf("error repeats the input: %v", err)
			}
			return
		}
		if !strings.Contains(strings.ToLower(s), hex.EncodeToString(k[:])) {
			t.Fatalf("ParseNTHash(%q) = %x, not in the input", s, k)
		}
	})
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "/": "", `\`: "", "a": "a", "/a/b/": "a/b", `\a\b\c`: "a/b/c", "a//b": "a/b", "./a/./b": "a/b",
		"\U0001F600/\U00020000": "\U0001F600/\U00020000",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
	if got := wirePath("/a/b"); got != `a\b` {
		t.Errorf("wirePath = %q", got)
	}
}

func TestTextDetector(t *testing.T) {
	for _, c := range []struct {
		in        string
		truncated bool
		want      bool
	}{
		{"", false, true},
		{"hello\r\n\tworld\f\v", false, true},
		{"caf\u00e9 \U0001F600 \U00020000", false, true},
		{"\x1b[31mred\x1b[0m\n", false, true},
		{"nul\x00byte", false, false},
		{"bell\x07", false, false},
		{"\xff\xfe", false, false},
		{"\xed\xa0\x80", false, false}, // a UTF-8-encoded surrogate
		{"cut \xf0\x9f\x98", true, true},
		{"cut \xf0\x9f\x98", false, false},
	} {
		if got := IsText([]byte(c.in), c.truncated); got != c.want {
			t.Errorf("IsText(%q, %v) = %v", c.in, c.truncated, got)
		}
	}
}

// textReference is IsText's rule written the slow, obvious way.
func textReference(b []byte, truncated bool) bool {
	if truncated {
		for i := 1; i <= 3 && i <= len(b); i++ {
			if !utf8.FullRune(b[len(b)-i:]) && utf8.RuneStart(b[len(b)-i]) {
				b = b[:len(b)-i]
				break
			}
		}
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && !(c >= '\t' && c <= '\r') && c != 0x1b {
			return false
		}
	}
	return true
}

func FuzzTextDetector(f *testing.F) {
	f.Add([]byte("plain text\n"), 3, false)
	f.Add([]byte("\U0001F600\U00020000"), 2, false)
	f.Add([]byte("x\xf0\x9f\x98"), 1, true)
	f.Add([]byte{0, 1, 2}, 1, false)
	f.Fuzz(func(t *testing.T, b []byte, split int, truncated bool) {
		whole := IsText(b, truncated)
		// Fed in pieces of any size, the verdict is the same.
		var d TextDetector
		step := max(split%7, 1)
		for i := 0; i < len(b); i += step {
			d.Write(b[i:min(i+step, len(b))])
		}
		if d.IsText(truncated) != whole {
			t.Fatalf("chunked verdict %v, whole %v for %q", d.IsText(truncated), whole, b)
		}
		if ref := textReference(b, truncated); ref != whole {
			t.Fatalf("IsText(%q, %v) = %v, reference %v", b, truncated, whole, ref)
		}
	})
}

func TestTextDetectorAllocs(t *testing.T) {
	data := []byte(strings.Repeat("text \U0001F600 line\n", 100))
	var d TextDetector
	if n := testing.AllocsPerRun(100, func() { d = TextDetector{}; d.Write(data[:101]); d.Write(data[101:]) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
	if !d.IsText(false) {
		t.Fatal("not text")
	}
}

func BenchmarkTextDetector(b *testing.B) {
	data := []byte(strings.Repeat("text \U0001F600 line\n", 4096))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var d TextDetector
		d.Write(data)
	}
}

// dirEntry encodes one FILE_ID_BOTH_DIR_INFORMATION entry (MS-FSCC 2.4.17) for tests.
func dirEntry(name string, attrs uint32, size int64, last bool) []byte {
	n := wire.AppendUTF16LE(nil, name)
	e := make([]byte, 104, 104+len(n)+8)
	if !last {
		putLE32(e[0:], uint32((104+len(n)+7)&^7))
	}
	putLE64(e[40:], uint64(size))
	putLE32(e[56:], attrs)
	putLE32(e[60:], uint32(len(n)))
	e = append(e, n...)
	for !last && len(e)%8 != 0 {
		e = append(e, 0)
	}
	return e
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
func putLE64(b []byte, v uint64) { putLE32(b, uint32(v)); putLE32(b[4:], uint32(v>>32)) }

func TestDecodeEntries(t *testing.T) {
	var buf []byte
	buf = append(buf, dirEntry(".", wire.FileAttributeDirectory, 0, false)...)
	buf = append(buf, dirEntry("..", wire.FileAttributeDirectory, 0, false)...)
	buf = append(buf, dirEntry("big.bin", wire.FileAttributeArchive, 5<<30, false)...)
	buf = append(buf, dirEntry("\U0001F600", wire.FileAttributeDirectory, 0, true)...)
	fis, err := decodeEntries(buf, wire.FileIDBothDirectoryInformationClass, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(fis) != 2 || fis[0].Name != "big.bin" || fis[0].Size != 5<<30 || fis[0].Path != "d/big.bin" || fis[0].IsDir ||
		fis[1].Name != "\U0001F600" || !fis[1].IsDir || fis[1].Path != "d/\U0001F600" {
		t.Fatalf("entries %+v", fis)
	}
	if _, err := decodeEntries(buf[:len(buf)-3], wire.FileIDBothDirectoryInformationClass, ""); !errors.Is(err, wire.ErrShort) && !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("cut buffer: %v", err)
	}
}

func FuzzDecodeEntries(f *testing.F) {
	f.Add(dirEntry("a", 0, 1, true))
	f.Add(append(dirEntry("..", 0x10, 0, false), dirEntry("\U00020000", 0, 3, true)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		fis, err := decodeEntries(b, wire.FileIDBothDirectoryInformationClass, "x")
		for _, fi := range fis {
			if fi.Name == "." || fi.Name == ".." || fi.Path != "x/"+fi.Name {
				t.Fatalf("entry %+v", fi)
			}
		}
		_ = err
	})
}

func TestErrorMessages(t *testing.T) {
	e := &Error{Op: "login", Target: "//10.0.0.1:445 as CORP\\alice", Status: wire.StatusLogonFailure}
	if got := e.Error(); got != `login //10.0.0.1:445 as CORP\alice: STATUS_LOGON_FAILURE (wrong user name, password or NT hash)` {
		t.Errorf("got %q", got)
	}
	if !errors.Is(e, wire.StatusLogonFailure) {
		t.Error("errors.Is does not reach the status")
	}
	e = &Error{Op: "tree connect", Target: "//h:445/x", Status: wire.StatusBadNetworkName}
	if !strings.Contains(e.Error(), "STATUS_BAD_NETWORK_NAME (no such share)") {
		t.Errorf("got %q", e.Error())
	}
	w := &Error{Op: "read", Target: "//h:445/s/f", Err: ErrExists}
	if !errors.Is(w, ErrExists) || w.Error() != "read //h:445/s/f: "+ErrExists.Error() {
		t.Errorf("got %q", w.Error())
	}
}

func TestCreditCharge(t *testing.T) {
	for n, want := range map[int]uint16{0: 1, 1: 1, 65536: 1, 65537: 2, 8 << 20: 128} {
		if got := creditCharge(n); got != want {
			t.Errorf("creditCharge(%d) = %d, want %d", n, got, want)
		}
	}
}
