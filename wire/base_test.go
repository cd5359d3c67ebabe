package wire

import (
	"bytes"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, async := range []bool{false, true} {
		h := Header{CreditCharge: 3, Status: StatusMoreProcessingRequired, Command: CmdSessionSetup, Credits: 64,
			Flags: FlagServerToRedir | FlagSigned, NextCommand: 0, MessageID: 1<<40 + 7, TreeID: 0xdeadbeef,
			SessionID: 0x1122334455667788}
		if async {
			h.Flags |= FlagAsyncCommand
			h.AsyncID, h.TreeID = 0x0102030405060708, 0
		}
		copy(h.Signature[:], "0123456789abcdef")
		b := h.AppendTo(nil)
		if len(b) != HeaderSize {
			t.Fatalf("encoded %d bytes, want %d", len(b), HeaderSize)
		}
		// Field positions fixed by MS-SMB2 2.2.1.
		if !bytes.Equal(b[:4], []byte{0xfe, 'S', 'M', 'B'}) || b[4] != 64 || b[12] != 1 || b[24] != 7 || b[29] != 1 {
			t.Fatalf("field layout wrong: % x", b)
		}
		var got Header
		if err := DecodeHeader(b, &got); err != nil {
			t.Fatal(err)
		}
		if got != h {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
		}
	}
}

func TestHeaderRejects(t *testing.T) {
	good := (&Header{Command: CmdNegotiate}).AppendTo(nil)
	var h Header
	for n := 0; n < HeaderSize; n++ {
		if err := DecodeHeader(good[:n], &h); !errors.Is(err, ErrShort) {
			t.Fatalf("len %d: err %v, want ErrShort", n, err)
		}
	}
	bad := append([]byte(nil), good...)
	bad[0] = 0xff
	if err := DecodeHeader(bad, &h); !errors.Is(err, ErrBadProtocol) {
		t.Fatalf("protocol: %v", err)
	}
	bad = append([]byte(nil), good...)
	bad[4] = 65
	if err := DecodeHeader(bad, &h); !errors.Is(err, ErrBadStructureSize) {
		t.Fatalf("structure size: %v", err)
	}
}

func TestHeaderZeroAlloc(t *testing.T) {
	h := Header{Command: CmdTreeConnect, MessageID: 5}
	buf := make([]byte, 0, 128)
	var out Header
	n := testing.AllocsPerRun(100, func() {
		b := h.AppendTo(buf[:0])
		if err := DecodeHeader(b, &out); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocs per header encode+decode, want 0", n)
	}
}

func BenchmarkHeaderEncode(b *testing.B) {
	h := Header{Command: CmdTreeConnect, MessageID: 5}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.AppendTo(buf[:0])
	}
}

func BenchmarkHeaderDecode(b *testing.B) {
	msg := (&Header{Command: CmdTreeConnect, MessageID: 5, Flags: FlagServerToRedir}).AppendTo(nil)
	var h Header
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeHeader(msg, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzHeader(f *testing.F) {
	f.Add((&Header{Command: CmdNegotiate, Flags: FlagServerToRedir}).AppendTo(nil))
	f.Add((&Header{Command: CmdCreate, Flags: FlagAsyncCommand, AsyncID: 9}).AppendTo(nil))
	f.Add([]byte{0xfe, 'S', 'M', 'B'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if err := DecodeHeader(b, &h); err != nil {
			return
		}
		// Whatever decodes must re-encode to the same 64 bytes, but for the reserved field
		// of a sync header, which the encoder writes as zero.
		re := h.AppendTo(nil)
		want := append([]byte(nil), b[:HeaderSize]...)
		if h.Flags&FlagAsyncCommand == 0 {
			copy(want[32:36], []byte{0, 0, 0, 0})
		}
		if !bytes.Equal(re, want) {
			t.Fatalf("re-encode differs:\n% x\n% x", re, want)
		}
	})
}

func TestErrorResponse(t *testing.T) {
	msg := (&Header{Command: CmdTreeConnect, Status: StatusBadNetworkName, Flags: FlagServerToRedir}).AppendTo(nil)
	msg = append(msg, 9, 0, 0, 0, 2, 0, 0, 0, 0xaa, 0xbb)
	r := ErrorResponse(msg)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.ErrorData(), []byte{0xaa, 0xbb}) {
		t.Fatalf("error data % x", r.ErrorData())
	}
	msg[HeaderSize+4] = 3 // ByteCount past the end
	if err := r.Validate(); !errors.Is(err, ErrBadOffset) {
		t.Fatalf("byte count past end: %v", err)
	}
	if err := ErrorResponse(msg[:HeaderSize+3]).Validate(); !errors.Is(err, ErrShort) {
		t.Fatalf("short: %v", err)
	}
}

func FuzzErrorResponse(f *testing.F) {
	msg := (&Header{Command: CmdTreeConnect, Status: StatusBadNetworkName}).AppendTo(nil)
	f.Add(append(msg, 9, 0, 0, 0, 1, 0, 0, 0, 0))
	f.Add(append(msg, 9, 0, 0, 0, 0xff, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := ErrorResponse(b)
		if r.Validate() == nil {
			_ = r.ErrorData()
		}
	})
}

func TestNetBIOSHeader(t *testing.T) {
	b := AppendNetBIOSHeader(nil, 0x012345)
	typ, n, err := ParseNetBIOSHeader(b)
	if err != nil || typ != NetBIOSSessionMessage || n != 0x012345 {
		t.Fatalf("got %d %d %v", typ, n, err)
	}
	if err := PutNetBIOSHeader(b, MaxNetBIOSLength+1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	if err := PutNetBIOSHeader(b, MaxNetBIOSLength); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := ParseNetBIOSHeader(b); n != MaxNetBIOSLength {
		t.Fatalf("max length parsed as %d", n)
	}
	if _, _, err := ParseNetBIOSHeader(b[:3]); !errors.Is(err, ErrShort) {
		t.Fatalf("short: %v", err)
	}
}

func FuzzNetBIOSHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0xff, 0xff, 0xff})
	f.Add([]byte{0x85, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, n, err := ParseNetBIOSHeader(b)
		if err != nil {
			return
		}
		if n < 0 || n > MaxNetBIOSLength {
			t.Fatalf("length %d outside 24 bits", n)
		}
		if typ == NetBIOSSessionMessage && !bytes.Equal(AppendNetBIOSHeader(nil, n), b[:4]) {
			t.Fatalf("round trip of % x", b[:4])
		}
	})
}

func TestUTF16RoundTrip(t *testing.T) {
	for _, s := range []string{"", "IPC$", "\\\\srv\\share", "café", "日本語", "😀 emoji", "𠀀 CJK Ext B 𪜀", "a\x00b"} {
		enc := AppendUTF16LE(nil, s)
		if len(enc) != UTF16Len(s) {
			t.Fatalf("%q: UTF16Len %d, encoded %d", s, UTF16Len(s), len(enc))
		}
		if got := DecodeUTF16LE(enc); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	}
	// U+1F600 is the surrogate pair D83D DE00.
	if got := AppendUTF16LE(nil, "😀"); !bytes.Equal(got, []byte{0x3d, 0xd8, 0x00, 0xde}) {
		t.Fatalf("surrogate pair % x", got)
	}
}

func TestUTF16BadInput(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte{0x3d, 0xd8}, "\uFFFD"},                          // lone high surrogate at end
		{[]byte{0x00, 0xde, 'a', 0}, "\uFFFDa"},                 // lone low surrogate
		{[]byte{0x3d, 0xd8, 'a', 0}, "\uFFFDa"},                 // high surrogate then non-surrogate
		{[]byte{'a', 0, 'b'}, "a\uFFFD"},                        // odd length
		{[]byte{0x3d, 0xd8, 0x3d, 0xd8, 0x00, 0xde}, "\uFFFD😀"}, // high, then a valid pair
	}
	for _, c := range cases {
		if got := DecodeUTF16LE(c.in); got != c.want {
			t.Errorf("% x: got %q want %q", c.in, got, c.want)
		}
	}
}

func FuzzUTF16(f *testing.F) {
	f.Add([]byte("a\x00b\x00"))
	f.Add([]byte{0x3d, 0xd8, 0x00, 0xde})
	f.Add([]byte{0x00, 0xd8, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := DecodeUTF16LE(b)
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 from % x", b)
		}
		// Valid UTF-8 must round-trip through UTF-16 exactly.
		if got := DecodeUTF16LE(AppendUTF16LE(nil, s)); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}

func TestUTF16ZeroAlloc(t *testing.T) {
	enc := AppendUTF16LE(nil, "\\\\127.0.0.1\\IPC$ 😀")
	dst := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		_ = AppendUTF16LE(dst[:0], "\\\\127.0.0.1\\IPC$ 😀")
		_ = AppendUTF8FromUTF16LE(dst[:0], enc)
	})
	if n != 0 {
		t.Fatalf("%v allocs, want 0", n)
	}
}

func BenchmarkUTF16Encode(b *testing.B) {
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendUTF16LE(dst[:0], "\\\\127.0.0.1\\IPC$")
	}
}

func BenchmarkUTF16Decode(b *testing.B) {
	enc := AppendUTF16LE(nil, "SWEEP-DEFAULT.smbsweep.test")
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendUTF8FromUTF16LE(dst[:0], enc)
	}
}

func TestFiletime(t *testing.T) {
	if _, ok := FiletimeToTime(0); ok {
		t.Fatal("FILETIME 0 must be unknown, not 1601")
	}
	// 2024-01-15T10:30:00Z is 133497882000000000 (seconds since 1601 × 10^7).
	want := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	ft := TimeToFiletime(want)
	if ft != 133497882000000000 {
		t.Fatalf("TimeToFiletime = %d", ft)
	}
	got, ok := FiletimeToTime(ft + 1234567) // 123.4567 ms later, 100 ns resolution kept
	if !ok || !got.Equal(want.Add(123456700*time.Nanosecond)) {
		t.Fatalf("FiletimeToTime = %v %v", got, ok)
	}
	if _, ok := FiletimeToTime(^uint64(0)); ok {
		t.Fatal("FILETIME past year 2262 must be rejected, not wrapped")
	}
	if got, ok := FiletimeToTime(1); !ok || got.Year() != 1601 {
		t.Fatalf("smallest FILETIME: %v %v", got, ok)
	}
}

func TestStatusNames(t *testing.T) {
	if StatusAccessDenied.String() != "STATUS_ACCESS_DENIED" || StatusLogonFailure.String() != "STATUS_LOGON_FAILURE" {
		t.Fatal("named status wrong")
	}
	if NTStatus(0xc0001234).String() != "0xC0001234" {
		t.Fatalf("unnamed status: %s", NTStatus(0xc0001234))
	}
	if !StatusAccessDenied.IsError() || StatusMoreProcessingRequired.IsError() != true || StatusNoMoreFiles.IsError() {
		t.Fatal("IsError severity bits")
	}
	var err error = StatusBadNetworkName
	var st NTStatus
	if !errors.As(err, &st) || st != StatusBadNetworkName {
		t.Fatal("NTStatus as error")
	}
	if CmdQueryInfo.String() != "QUERY_INFO" || Command(0x99).String() != "COMMAND_0x0099" {
		t.Fatal("command names")
	}
}
