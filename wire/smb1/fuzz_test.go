package smb1

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// within reports whether sub is empty or lies inside b's backing array.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return s >= start && s+uintptr(len(sub)) <= start+uintptr(len(b))
}

func addGoldenSeeds(f *testing.F) {
	for _, name := range []string{"samba-4.17-nt1-negotiate.bin", "samba-4.17-smb1-disabled-negotiate.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzNegotiateResponse(f *testing.F) {
	addGoldenSeeds(f)
	ext, _ := extResponse([]byte{0x60, 0x00})
	f.Add(ext)
	f.Add(buildResponse(0, 0xc001, ntFields{challengeLen: 8}.words(),
		concat(make([]byte, 8), []byte{0}, utf16z("DOMAIN"), utf16z("SERVER"))))
	f.Add(buildResponse(0, 0x4001, ntFields{challengeLen: 8}.words(), concat(make([]byte, 8), []byte("DOM\x00SRV\x00"))))
	f.Add(buildResponse(0xc00000bb, 0xc001, nil, nil))
	f.Add(buildResponse(0x00010002, 0x0001, []byte{1, 2}, nil))
	f.Add(buildResponse(0, 0, make([]byte, 26), []byte("k\x00")))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NegotiateResponse(b)
		if r.Validate() != nil {
			return
		}
		readAll(r)
		for _, v := range [][]byte{r.Bytes(), r.SecurityBlob(), r.Challenge(), r.DomainName(), r.ServerName()} {
			if !within(v, b) {
				t.Fatalf("view of %d bytes outside the message", len(v))
			}
		}
		if r.DialectAccepted() && (r.Status() != 0 || r.DialectIndex() == NoDialect) {
			t.Fatal("dialect accepted despite error or NoDialect")
		}
		if r.ExtendedSecurity() && (!r.NTLanManager() || len(r.SecurityBlob())+guidSize != len(r.Bytes())) {
			t.Fatal("extended security layout inconsistent")
		}
		if c := r.Challenge(); c != nil && len(c) != int(r.ChallengeLength()) {
			t.Fatalf("challenge %d bytes, length field %d", len(c), r.ChallengeLength())
		}
		if d := r.AppendDomainName(nil); !utf8.Valid(d) {
			t.Fatalf("domain name not UTF-8: %q", d)
		}
		if s := r.AppendServerName(nil); !utf8.Valid(s) {
			t.Fatalf("server name not UTF-8: %q", s)
		}
		_ = r.Err()
		_ = AppendCapabilityNames(nil, r.Capabilities())
	})
}

func FuzzHeader(f *testing.F) {
	addGoldenSeeds(f)
	f.Add(AppendProbeNegotiate(nil))
	f.Add([]byte("\xfeSMB@\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\xffSMB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		err := DecodeHeader(b, &h)
		if len(b) < HeaderSize {
			if err == nil {
				t.Fatalf("accepted %d bytes", len(b))
			}
			return
		}
		if err != nil {
			if string(b[:4]) == "\xffSMB" {
				t.Fatalf("rejected a header with the SMB1 protocol id: %v", err)
			}
			return
		}
		// Every header byte is captured, so re-encoding reproduces the input exactly.
		if enc := h.AppendTo(nil); !bytes.Equal(enc, b[:HeaderSize]) {
			t.Fatalf("re-encoded % x\n      input % x", enc, b[:HeaderSize])
		}
	})
}
