package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSessionSetupRequestFieldOffsets(t *testing.T) {
	tok := []byte("NTLMSSP\x00\x01\x00\x00\x00token")
	req := SessionSetupRequest{
		Flags: SessionSetupFlagBinding, SecurityMode: uint8(NegotiateSigningEnabled), Capabilities: CapDFS,
		Channel: 0x01020304, PreviousSessionID: 0x1122334455667788, SecurityBuffer: tok,
	}
	msg, b := testRequest(t, CmdSessionSetup, &req)
	// MS-SMB2 2.2.5 offsets within the body.
	if le16(b, 0) != 25 || b[2] != SessionSetupFlagBinding || b[3] != 1 || le32(b, 4) != CapDFS ||
		le32(b, 8) != 0x01020304 || le64(b, 16) != 0x1122334455667788 {
		t.Fatalf("fixed fields wrong: % x", b[:24])
	}
	off, n := int(le16(b, 12)), int(le16(b, 14))
	if off != HeaderSize+24 || n != len(tok) || !bytes.Equal(msg[off:off+n], tok) || len(b) != 24+len(tok) {
		t.Fatalf("security buffer at %d len %d, body %d bytes", off, n, len(b))
	}
}

func TestSessionSetupRequestEmptyAndHuge(t *testing.T) {
	req := SessionSetupRequest{}
	_, b := testRequest(t, CmdSessionSetup, &req)
	if len(b) != 25 || le16(b, 14) != 0 || b[24] != 0 {
		t.Fatalf("empty token: body %d bytes, length %d", len(b), le16(b, 14))
	}
	req.SecurityBuffer = make([]byte, 70000)
	_, b = testRequest(t, CmdSessionSetup, &req)
	if le16(b, 14) != MaxSecurityBufferLength || len(b) != 24+MaxSecurityBufferLength {
		t.Fatalf("huge token: length field %d body %d", le16(b, 14), len(b))
	}
}

func TestSessionSetupRequestAllocs(t *testing.T) {
	req := SessionSetupRequest{SecurityMode: 1, SecurityBuffer: make([]byte, 300)}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("SessionSetupRequest encode allocates %v times", n)
	}
}

// testSessionSetupResponse builds a SESSION_SETUP response body (MS-SMB2 2.2.6).
func testSessionSetupResponse(flags uint16, tok []byte, off, n int) []byte {
	body := make([]byte, 8)
	binary.LittleEndian.PutUint16(body[0:], 9)
	binary.LittleEndian.PutUint16(body[2:], flags)
	binary.LittleEndian.PutUint16(body[4:], uint16(off))
	binary.LittleEndian.PutUint16(body[6:], uint16(n))
	return testResponse(CmdSessionSetup, append(body, tok...))
}

func TestSessionSetupResponse(t *testing.T) {
	tok := []byte("\xa1\x81\xa0 negTokenResp")
	r := SessionSetupResponse(testSessionSetupResponse(SessionFlagIsGuest|SessionFlagEncryptData, tok, 72, len(tok)))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.SessionFlags() != SessionFlagIsGuest|SessionFlagEncryptData || !bytes.Equal(r.SecurityBuffer(), tok) {
		t.Fatalf("flags %x token %q", r.SessionFlags(), r.SecurityBuffer())
	}
	expectTruncationsFail(t, r, func(b []byte) error { return SessionSetupResponse(b).Validate() })

	empty := SessionSetupResponse(testSessionSetupResponse(SessionFlagIsNull, nil, 0, 0))
	if err := empty.Validate(); err != nil || empty.SecurityBuffer() != nil || empty.SessionFlags() != SessionFlagIsNull {
		t.Fatalf("empty: %v", err)
	}
}

func TestSessionSetupResponseHostile(t *testing.T) {
	tok := make([]byte, 16)
	for _, c := range []struct {
		name   string
		off, n int
	}{
		{"offset inside header", 10, 16},
		{"offset inside fixed body", 71, 16},
		{"length past end", 72, 17},
		{"length 0xffff", 72, 0xffff},
		{"offset past end", 0xfff0, 1},
	} {
		expectErr(t, SessionSetupResponse(testSessionSetupResponse(0, tok, c.off, c.n)).Validate(), ErrBadOffset, c.name)
	}
	msg := testSessionSetupResponse(0, tok, 72, 16)
	binary.LittleEndian.PutUint16(msg[12:], uint16(CmdNegotiate))
	expectErr(t, SessionSetupResponse(msg).Validate(), ErrBadCommand, "command")
	msg = testSessionSetupResponse(0, tok, 72, 16)
	binary.LittleEndian.PutUint16(msg[HeaderSize:], 17)
	expectErr(t, SessionSetupResponse(msg).Validate(), ErrBadStructureSize, "structure size")
}

func TestSessionSetupResponseAllocs(t *testing.T) {
	r := SessionSetupResponse(testSessionSetupResponse(1, make([]byte, 200), 72, 200))
	var sink int
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		sink += int(r.SessionFlags()) + len(r.SecurityBuffer())
	}); n != 0 {
		t.Fatalf("SessionSetupResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkSessionSetupRequestAppend(b *testing.B) {
	req := SessionSetupRequest{SecurityMode: 1, SecurityBuffer: make([]byte, 300)}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkSessionSetupResponseDecode(b *testing.B) {
	r := SessionSetupResponse(testSessionSetupResponse(1, make([]byte, 200), 72, 200))
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || len(r.SecurityBuffer()) != 200 {
			b.Fatal("invalid")
		}
	}
}

func FuzzSessionSetupResponse(f *testing.F) {
	f.Add(testSessionSetupResponse(SessionFlagIsGuest, []byte("token bytes"), 72, 11))
	f.Add(testSessionSetupResponse(0, nil, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := SessionSetupResponse(data)
		if r.Validate() != nil {
			return
		}
		_ = r.SessionFlags()
		if sb := r.SecurityBuffer(); len(sb) != int(le16(data, HeaderSize+6)) {
			t.Fatalf("security buffer %d bytes, field says %d", len(sb), le16(data, HeaderSize+6))
		}
	})
}
