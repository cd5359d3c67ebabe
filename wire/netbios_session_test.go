package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// TestNetBIOSNameEncoding checks the first-level encoding against the worked example of
// RFC 1001 section 14.1 ("FRED" padded with spaces: EGFCEFEE then CA for each space) and
// round-trips names, suffixes and the "*" wildcard.
func TestNetBIOSNameEncoding(t *testing.T) {
	got := AppendNetBIOSName(nil, "Fred", NetBIOSSuffixServer)
	want := append([]byte{0x20}, "EGFCEFEECACACACACACACACACACACACA"...)
	want = append(want, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("FRED: %q, want %q", got, want)
	}
	for _, tc := range []struct {
		name, want string
		suffix     byte
	}{
		{"*SMBSERVER", "*SMBSERVER", 0x20}, {"smbsweep", "SMBSWEEP", 0x00},
		{"a-very-long-netbios-name", "A-VERY-LONG-NET", 0x20}, {"*", "*", 0x00}, {"", "", 0x1c},
	} {
		b := AppendNetBIOSName(nil, tc.name, tc.suffix)
		if len(b) != netBIOSEncodedNameSize {
			t.Fatalf("%q: %d bytes", tc.name, len(b))
		}
		name, suffix, err := DecodeNetBIOSName(b)
		if err != nil || name != tc.want || suffix != tc.suffix {
			t.Errorf("%q: decoded %q 0x%02x %v, want %q 0x%02x", tc.name, name, suffix, err, tc.want, tc.suffix)
		}
	}
	var buf [NetBIOSSessionRequestSize]byte
	if n := testing.AllocsPerRun(100, func() { _ = AppendNetBIOSSessionRequest(buf[:0], "*SMBSERVER", "SMBSWEEP") }); n != 0 {
		t.Errorf("session request: %v allocs, want 0", n)
	}
}

func TestNetBIOSSessionRequest(t *testing.T) {
	b := AppendNetBIOSSessionRequest(nil, "*SMBSERVER", "SMBSWEEP")
	if len(b) != NetBIOSSessionRequestSize || b[0] != NetBIOSSessionRequest || b[3] != 68 {
		t.Fatalf("request % x", b[:4])
	}
	called, s1, err1 := DecodeNetBIOSName(b[4:])
	calling, s2, err2 := DecodeNetBIOSName(b[4+34:])
	if err1 != nil || err2 != nil || called != "*SMBSERVER" || s1 != 0x20 || calling != "SMBSWEEP" || s2 != 0 {
		t.Errorf("decoded %q 0x%02x %v / %q 0x%02x %v", called, s1, err1, calling, s2, err2)
	}
}

func TestNetBIOSSessionReply(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want NetBIOSSessionReply
		err  error
	}{
		{[]byte{0x82, 0, 0, 0}, NetBIOSSessionReply{Type: NetBIOSPositive}, nil},
		{[]byte{0x83, 0, 0, 1, 0x82}, NetBIOSSessionReply{Type: NetBIOSNegative, Error: 0x82}, nil},
		{[]byte{0x84, 0, 0, 6, 127, 0, 0, 9, 0x01, 0xbd}, NetBIOSSessionReply{Type: NetBIOSRetarget,
			Retarget: netip.MustParseAddrPort("127.0.0.9:445")}, nil},
		{[]byte{0x83, 0, 0, 1}, NetBIOSSessionReply{}, ErrShort},
		{[]byte{0x82, 0, 0, 1, 0}, NetBIOSSessionReply{}, ErrMalformed},
		{[]byte{0x84, 0, 0, 2, 1, 2}, NetBIOSSessionReply{}, ErrMalformed},
		{[]byte{0x00, 0, 0, 0}, NetBIOSSessionReply{}, ErrMalformed},
		{[]byte{0x82, 0}, NetBIOSSessionReply{}, ErrShort},
	} {
		var r NetBIOSSessionReply
		err := DecodeNetBIOSSessionReply(tc.in, &r)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("% x: %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || r != tc.want {
			t.Errorf("% x: %+v %v, want %+v", tc.in, r, err, tc.want)
		}
	}
	if NetBIOSErrorName(0x82) != "called name not present" || NetBIOSErrorName(0x42) != "error 0x42" {
		t.Error("error names")
	}
}

func FuzzNetBIOSSessionReply(f *testing.F) {
	for _, s := range [][]byte{{0x82, 0, 0, 0}, {0x83, 0, 0, 1, 0x82}, {0x84, 0, 0, 6, 127, 0, 0, 9, 0x01, 0xbd}, {0x85, 0, 0, 0}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r NetBIOSSessionReply
		if err := DecodeNetBIOSSessionReply(b, &r); err == nil {
			if r.Type != NetBIOSPositive && r.Type != NetBIOSNegative && r.Type != NetBIOSRetarget {
				t.Fatalf("accepted type 0x%02x", r.Type)
			}
		}
		_, _, _ = DecodeNetBIOSName(b)
	})
}
