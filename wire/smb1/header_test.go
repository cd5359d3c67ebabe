package smb1

import (
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{
		Command:          CommandNegotiate,
		Status:           0xc0000022,
		Flags:            FlagsReply | FlagsCaseInsensitive,
		Flags2:           Flags2Unicode | Flags2NTStatus | Flags2ExtendedSecurity,
		PIDHigh:          0x1234,
		SecurityFeatures: [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
		Reserved:         0xabcd,
		TID:              0x1111,
		PIDLow:           0x2222,
		UID:              0x3333,
		MID:              0x4444,
	}
	b := h.AppendTo(make([]byte, 0, HeaderSize))
	if len(b) != HeaderSize || h.Size() != HeaderSize {
		t.Fatalf("encoded %d bytes, Size %d, want %d", len(b), h.Size(), HeaderSize)
	}
	if string(b[:4]) != "\xffSMB" {
		t.Fatalf("protocol % x", b[:4])
	}
	var got Header
	if err := DecodeHeader(b, &got); err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
	if !got.IsReply() || !got.UsesNTStatus() {
		t.Fatalf("IsReply %v UsesNTStatus %v", got.IsReply(), got.UsesNTStatus())
	}
	// Field positions per MS-CIFS 2.2.3.1, checked on the bytes.
	if b[4] != 0x72 || b[9] != h.Flags || b[24] != 0x11 || b[30] != 0x44 || b[14] != 1 || b[22] != 0xcd {
		t.Fatalf("field offsets wrong: % x", b)
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	h := NegotiateRequestHeader(7)
	b := h.AppendTo(nil)
	var got Header
	for n := 0; n < HeaderSize; n++ {
		if err := DecodeHeader(b[:n], &got); !errors.Is(err, wire.ErrShort) {
			t.Fatalf("len %d: err %v, want ErrShort", n, err)
		}
	}
	smb2 := append([]byte{0xfe, 'S', 'M', 'B'}, b[4:]...)
	if err := DecodeHeader(smb2, &got); !errors.Is(err, wire.ErrBadProtocol) {
		t.Fatalf("smb2 id: err %v, want ErrBadProtocol", err)
	}
	if err := DecodeHeader(b, &got); err != nil || got.MID != 7 || got.Command != CommandNegotiate {
		t.Fatalf("err %v header %+v", err, got)
	}
}

func TestStatus(t *testing.T) {
	// NT form.
	s := Status(0xc00000bb)
	if s.NTStatus() != wire.StatusNotSupported {
		t.Fatalf("NTStatus %v", s.NTStatus())
	}
	if err := s.Err(true); err != wire.StatusNotSupported {
		t.Fatalf("Err(true) = %v", err)
	}
	if got := string(s.AppendText(nil, true)); got != "STATUS_NOT_SUPPORTED" {
		t.Fatalf("text %q", got)
	}
	// SMB_ERROR form: ErrorClass ERRDOS (byte 0), Reserved, ErrorCode 0x0002 (bytes 2-3).
	d := Status(0x00020001)
	if d.ErrorClass() != ErrClassDOS || d.ErrorCode() != 2 {
		t.Fatalf("class %d code %d", d.ErrorClass(), d.ErrorCode())
	}
	var de DOSError
	if err := d.Err(false); !errors.As(err, &de) || de != (DOSError{Class: 1, Code: 2}) {
		t.Fatalf("Err(false) = %#v", err)
	}
	if got := d.Err(false).Error(); got != "ERRDOS/0x0002" {
		t.Fatalf("dos text %q", got)
	}
	if got := string(Status(0x00160007).AppendText(nil, false)); got != "ERRCLASS_0x07/0x0016" {
		t.Fatalf("unknown class text %q", got)
	}
	if Status(0).Err(true) != nil || Status(0).Err(false) != nil {
		t.Fatal("success must give nil error")
	}
}

func TestCapabilityNames(t *testing.T) {
	// The capabilities Samba 4.17 sent in the golden capture.
	caps := uint32(0x8080f3fc)
	got := AppendCapabilityNames(nil, caps)
	want := []string{
		"CAP_UNICODE", "CAP_LARGE_FILES", "CAP_NT_SMBS", "CAP_RPC_REMOTE_APIS", "CAP_STATUS32",
		"CAP_LEVEL_II_OPLOCKS", "CAP_LOCK_AND_READ", "CAP_NT_FIND", "CAP_DFS",
		"CAP_INFOLEVEL_PASSTHRU", "CAP_LARGE_READX", "CAP_LARGE_WRITEX", "CAP_UNIX",
		"CAP_EXTENDED_SECURITY",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("name %d: got %q want %q", i, got[i], want[i])
		}
	}
	if got := AppendCapabilityNames(nil, 0x00100400|CapRawMode); len(got) != 3 ||
		got[0] != "CAP_RAW_MODE" || got[1] != "0x00000400" || got[2] != "0x00100000" {
		t.Fatalf("unknown bits: %q", got)
	}
	for i := 0; i < 32; i++ {
		bit := uint32(1) << i
		if n := CapabilityName(bit); n == "" {
			t.Fatalf("bit %d has no name", i)
		}
	}
	if CapabilityName(0) != "" || CapabilityName(3) != "" {
		t.Fatal("CapabilityName must reject zero and multi-bit values")
	}
	if CapabilityName(CapExtendedSecurity) != "CAP_EXTENDED_SECURITY" || CapabilityName(CapDynamicReauth) != "CAP_DYNAMIC_REAUTH" {
		t.Fatal("named bits wrong")
	}
}
