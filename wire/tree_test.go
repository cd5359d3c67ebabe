package wire

import (
	"encoding/binary"
	"testing"
)

func TestTreeConnectRequest(t *testing.T) {
	for _, path := range []string{`\\server\share`, `\\127.0.0.1\IPC$`, `\\srv\Überfreigabe€`, `\\srv\emoji😀`} {
		req := TreeConnectRequest{Path: path}
		msg, b := testRequest(t, CmdTreeConnect, &req)
		// MS-SMB2 2.2.9 offsets within the body.
		if le16(b, 0) != 9 || le16(b, 2) != 0 {
			t.Fatalf("StructureSize %d Flags %d", le16(b, 0), le16(b, 2))
		}
		off, n := int(le16(b, 4)), int(le16(b, 6))
		if off != HeaderSize+8 || n != UTF16Len(path) || len(b) != 8+n {
			t.Fatalf("%q: path at %d len %d, body %d", path, off, n, len(b))
		}
		if got := DecodeUTF16LE(msg[off : off+n]); got != path {
			t.Fatalf("path round trip %q -> %q", path, got)
		}
	}
	req := TreeConnectRequest{Flags: TreeConnectFlagRedirectToOwner}
	_, b := testRequest(t, CmdTreeConnect, &req)
	if len(b) != 9 || le16(b, 6) != 0 || le16(b, 2) != TreeConnectFlagRedirectToOwner {
		t.Fatalf("empty path: body %d bytes, length %d", len(b), le16(b, 6))
	}
}

func TestTreeConnectRequestAllocs(t *testing.T) {
	req := TreeConnectRequest{Path: `\\server\share`}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("TreeConnectRequest encode allocates %v times", n)
	}
}

func testTreeConnectResponse(shareType uint8, flags, caps, access uint32) []byte {
	body := make([]byte, 16)
	binary.LittleEndian.PutUint16(body[0:], 16)
	body[2] = shareType
	binary.LittleEndian.PutUint32(body[4:], flags)
	binary.LittleEndian.PutUint32(body[8:], caps)
	binary.LittleEndian.PutUint32(body[12:], access)
	return testResponse(CmdTreeConnect, body)
}

func TestTreeConnectResponse(t *testing.T) {
	r := TreeConnectResponse(testTreeConnectResponse(ShareTypePipe, ShareFlagNoCaching|ShareFlagEncryptData,
		ShareCapContinuousAvailability, 0x001f01ff))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.ShareType() != ShareTypePipe || r.ShareFlags() != 0x8030 || r.Capabilities() != 0x10 || r.MaximalAccess() != 0x001f01ff {
		t.Fatalf("type %d flags %x caps %x access %x", r.ShareType(), r.ShareFlags(), r.Capabilities(), r.MaximalAccess())
	}
	expectTruncationsFail(t, r, func(b []byte) error { return TreeConnectResponse(b).Validate() })
	msg := testTreeConnectResponse(1, 0, 0, 0)
	binary.LittleEndian.PutUint16(msg[HeaderSize:], 9)
	expectErr(t, TreeConnectResponse(msg).Validate(), ErrBadStructureSize, "error body")
	msg = testTreeConnectResponse(1, 0, 0, 0)
	binary.LittleEndian.PutUint16(msg[12:], uint16(CmdCreate))
	expectErr(t, TreeConnectResponse(msg).Validate(), ErrBadCommand, "command")
}

func TestTreeConnectResponseAllocs(t *testing.T) {
	r := TreeConnectResponse(testTreeConnectResponse(1, 0x30, 8, 0x12019f))
	var sink uint32
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		sink += uint32(r.ShareType()) + r.ShareFlags() + r.Capabilities() + r.MaximalAccess()
	}); n != 0 {
		t.Fatalf("TreeConnectResponse decode allocates %v times", n)
	}
	_ = sink
}

func TestTreeDisconnect(t *testing.T) {
	_, b := testRequest(t, CmdTreeDisconnect, TreeDisconnectRequest{})
	if len(b) != 4 || le16(b, 0) != 4 || le16(b, 2) != 0 {
		t.Fatalf("request body % x", b)
	}
	resp := testResponse(CmdTreeDisconnect, []byte{4, 0, 0, 0})
	expectTruncationsFail(t, resp, func(b []byte) error { return TreeDisconnectResponse(b).Validate() })
	bad := append([]byte(nil), resp...)
	bad[HeaderSize] = 9
	expectErr(t, TreeDisconnectResponse(bad).Validate(), ErrBadStructureSize, "structure size")
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		buf = TreeDisconnectRequest{}.AppendTo(buf[:0])
		if TreeDisconnectResponse(resp).Validate() != nil {
			panic("invalid")
		}
	}); n != 0 {
		t.Fatalf("tree disconnect allocates %v times", n)
	}
}

func BenchmarkTreeConnectRequestAppend(b *testing.B) {
	req := TreeConnectRequest{Path: `\\fileserver.example.com\share`}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkTreeConnectResponseDecode(b *testing.B) {
	r := TreeConnectResponse(testTreeConnectResponse(1, 0x30, 8, 0x12019f))
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || r.MaximalAccess() == 0 {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkTreeDisconnect(b *testing.B) {
	resp := TreeDisconnectResponse(testResponse(CmdTreeDisconnect, []byte{4, 0, 0, 0}))
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = TreeDisconnectRequest{}.AppendTo(buf[:0])
		if resp.Validate() != nil {
			b.Fatal("invalid")
		}
	}
}

func FuzzTreeConnectResponse(f *testing.F) {
	f.Add(testTreeConnectResponse(ShareTypeDisk, 0x30, 8, 0x001f01ff))
	f.Add(testResponse(CmdTreeDisconnect, []byte{4, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r := TreeConnectResponse(data); r.Validate() == nil {
			_ = uint32(r.ShareType()) + r.ShareFlags() + r.Capabilities() + r.MaximalAccess()
			_ = ShareTypeName(r.ShareType())
			_ = ShareFlagNames(nil, r.ShareFlags())
			_ = ShareCapabilityNames(nil, r.Capabilities())
			_ = AccessMaskNames(nil, r.MaximalAccess())
		}
		_ = TreeDisconnectResponse(data).Validate()
	})
}
