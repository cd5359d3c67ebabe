package wire

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// TestNBStatResponseNmbd decodes what a real nmbd answered (testdata/README.md).
func TestNBStatResponseNmbd(t *testing.T) {
	b, err := os.ReadFile("testdata/nmbd-4.17-nbstat-response.bin")
	if err != nil {
		t.Fatal(err)
	}
	r := NBStatResponse(b)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.TransactionID() != 0x1234 || r.NumNames() != 5 {
		t.Fatalf("id 0x%04x, %d names", r.TransactionID(), r.NumNames())
	}
	want := []struct {
		name   string
		suffix byte
		group  bool
	}{{"NBTEST", 0x00, false}, {"NBTEST", 0x03, false}, {"NBTEST", 0x20, false}, {"SMBSWEEPWG", 0x00, true}, {"SMBSWEEPWG", 0x1e, true}}
	var n NBStatName
	for i, w := range want {
		r.Name(i, &n)
		if string(n.Trimmed()) != w.name || n.Suffix != w.suffix || n.Group() != w.group || n.Flags&0x0400 == 0 {
			t.Errorf("name %d: %q <%02x> flags 0x%04x, want %q <%02x> group %v active", i, n.Trimmed(), n.Suffix, n.Flags, w.name, w.suffix, w.group)
		}
	}
	if mac, ok := r.MAC(); !ok || mac != [6]byte{} {
		t.Errorf("MAC %x %v (nmbd on loopback reports zeros)", mac, ok)
	}
	if a := testing.AllocsPerRun(100, func() {
		_ = r.Validate()
		for i := range r.NumNames() {
			r.Name(i, &n)
		}
		_, _ = r.MAC()
	}); a != 0 {
		t.Errorf("decode: %v allocs", a)
	}
}

func TestNBStatRequest(t *testing.T) {
	b := AppendNBStatRequest(nil, 0x1234)
	if len(b) != NBStatRequestSize {
		t.Fatalf("%d bytes", len(b))
	}
	// The question nmbd answered in the capture: header, "*" padded with NULs, NBSTAT, IN.
	want := append([]byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x20, 'C', 'K'}, bytes.Repeat([]byte("A"), 30)...)
	want = append(want, 0, 0, 0x21, 0, 1)
	if !bytes.Equal(b, want) {
		t.Errorf("request\n% x\nwant\n% x", b, want)
	}
	var buf [NBStatRequestSize]byte
	if a := testing.AllocsPerRun(100, func() { _ = AppendNBStatRequest(buf[:0], 7) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

// TestNBStatResponseHostile: cut and inflated variants of the capture are refused, never read
// past the end.
func TestNBStatResponseHostile(t *testing.T) {
	b, err := os.ReadFile("testdata/nmbd-4.17-nbstat-response.bin")
	if err != nil {
		t.Fatal(err)
	}
	rdata := 12 + 34 + 10
	for name, mut := range map[string]func([]byte) []byte{
		"255 names":      func(b []byte) []byte { b[rdata] = 255; return b },
		"cut in a name":  func(b []byte) []byte { return b[:rdata+20] },
		"rdlength 65535": func(b []byte) []byte { b[rdata-2], b[rdata-1] = 0xff, 0xff; return b },
		"a query":        func(b []byte) []byte { b[2] &^= 0x80; return b },
		"no answer":      func(b []byte) []byte { b[6], b[7] = 0, 0; return b },
		"label loop":     func(b []byte) []byte { b[12] = 0x80; return b },
		"header only":    func(b []byte) []byte { return b[:12] },
	} {
		c := mut(append([]byte(nil), b...))
		if err := NBStatResponse(c).Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrShort) && !errors.Is(err, ErrBadOffset) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v is no wire error", name, err)
		}
	}
	// No statistics at all: the names still decode, the MAC is unknown.
	c := append([]byte(nil), b...)
	n := int(c[rdata])
	c = c[:rdata+1+n*18]
	c[rdata-2], c[rdata-1] = 0, byte(1+n*18)
	if err := NBStatResponse(c).Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := NBStatResponse(c).MAC(); ok {
		t.Error("MAC without statistics")
	}
}

func FuzzNBStatResponse(f *testing.F) {
	if b, err := os.ReadFile("testdata/nmbd-4.17-nbstat-response.bin"); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x12, 0x34, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c, 0, 0x21, 0, 1, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NBStatResponse(b)
		if r.Validate() != nil {
			return
		}
		var n NBStatName
		for i := range r.NumNames() {
			r.Name(i, &n)
		}
		_, _ = r.MAC()
	})
}
