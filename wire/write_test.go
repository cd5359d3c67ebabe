package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestWriteRequestFieldOffsets(t *testing.T) {
	data := []byte("smbsweep write check\n")
	req := WriteRequest{Offset: 0x2_0000_0010, FileID: NewFileID(0x0102030405060708, 0x1112131415161718),
		RemainingBytes: 0x30, Flags: WriteFlagWriteThrough, Data: data}
	msg, b := testRequest(t, CmdWrite, &req)
	// MS-SMB2 2.2.21 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 49},
		{"DataOffset", uint64(le16(b, 2)), 112},
		{"Length", uint64(le32(b, 4)), uint64(len(data))},
		{"Offset", le64(b, 8), 0x2_0000_0010},
		{"FileId.Persistent", le64(b, 16), 0x0102030405060708},
		{"FileId.Volatile", le64(b, 24), 0x1112131415161718},
		{"Channel", uint64(le32(b, 32)), 0},
		{"RemainingBytes", uint64(le32(b, 36)), 0x30},
		{"WriteChannelInfoOffset", uint64(le16(b, 40)), 0},
		{"WriteChannelInfoLength", uint64(le16(b, 42)), 0},
		{"Flags", uint64(le32(b, 44)), 1},
		{"body size", uint64(len(b)), uint64(48 + len(data))},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if off := int(le16(b, 2)); !bytes.Equal(msg[off:], data) {
		t.Fatalf("data at DataOffset: %q", msg[off:])
	}
	if WriteFlagWriteThrough != 1 || WriteFlagUnbuffered != 2 {
		t.Error("flag values differ from MS-SMB2 2.2.21")
	}

	// The all-ones offset passes through untouched.
	req.Offset = 0xffffffffffffffff
	_, b = testRequest(t, CmdWrite, &req)
	if le64(b, 8) != 0xffffffffffffffff {
		t.Fatal("offset changed")
	}

	// Empty data: Length 0, DataOffset still 112, one Buffer byte.
	req.Data = nil
	_, b = testRequest(t, CmdWrite, &req)
	if len(b) != 49 || le32(b, 4) != 0 || le16(b, 2) != 112 || b[48] != 0 {
		t.Fatalf("empty write body % x", b)
	}
}

func TestWriteRequestPayloadCap(t *testing.T) {
	req := WriteRequest{Data: make([]byte, MaxRequestPayload+10)}
	if req.Size() != 48+MaxRequestPayload {
		t.Fatalf("Size %d", req.Size())
	}
	b := req.AppendTo(nil)
	if len(b) != req.Size() || le32(b, 4) != MaxRequestPayload {
		t.Fatalf("encoded %d bytes, Length %d", len(b), le32(b, 4))
	}
}

func TestWriteRequestAllocs(t *testing.T) {
	req := WriteRequest{FileID: NewFileID(1, 2), Data: make([]byte, 512)}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("WriteRequest encode allocates %v times", n)
	}
}

func testWriteResponse(count uint32) []byte {
	body := make([]byte, 16)
	binary.LittleEndian.PutUint16(body[0:], 17)
	binary.LittleEndian.PutUint32(body[4:], count)
	return testResponse(CmdWrite, body)
}

func TestWriteResponse(t *testing.T) {
	r := WriteResponse(testWriteResponse(0x12345))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Count() != 0x12345 {
		t.Fatalf("Count %#x", r.Count())
	}
	expectTruncationsFail(t, r, func(b []byte) error { return WriteResponse(b).Validate() })
	expectErr(t, WriteResponse(testResponse(CmdWrite, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0})).Validate(),
		ErrBadStructureSize, "error body")
	bad := append([]byte(nil), r...)
	bad[12] = byte(CmdRead)
	expectErr(t, WriteResponse(bad).Validate(), ErrBadCommand, "command")
	var sink uint32
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		sink += r.Count()
	}); n != 0 {
		t.Fatalf("WriteResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkWriteRequestAppend(b *testing.B) {
	req := WriteRequest{FileID: NewFileID(1, 2), Data: make([]byte, 65536)}
	buf := make([]byte, 0, 70000)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkWriteResponseDecode(b *testing.B) {
	r := WriteResponse(testWriteResponse(65536))
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || r.Count() != 65536 {
			b.Fatal("invalid")
		}
	}
}

func FuzzWriteResponse(f *testing.F) {
	f.Add(testWriteResponse(5))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := WriteResponse(data)
		if r.Validate() != nil {
			return
		}
		if len(data) < HeaderSize+16 {
			t.Fatal("accepted a short message")
		}
		_ = r.Count()
	})
}
