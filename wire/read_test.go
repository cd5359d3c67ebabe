package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestReadRequestFieldOffsets(t *testing.T) {
	req := ReadRequest{Flags: ReadFlagUnbuffered, Length: 0x10000, Offset: 0x1_0000_0002,
		FileID: NewFileID(0x0102030405060708, 0x1112131415161718), MinimumCount: 3, RemainingBytes: 0x20000}
	_, b := testRequest(t, CmdRead, &req)
	// MS-SMB2 2.2.19 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 49},
		{"Padding", uint64(b[2]), 0x50},
		{"Flags", uint64(b[3]), 1},
		{"Length", uint64(le32(b, 4)), 0x10000},
		{"Offset", le64(b, 8), 0x1_0000_0002},
		{"FileId.Persistent", le64(b, 16), 0x0102030405060708},
		{"FileId.Volatile", le64(b, 24), 0x1112131415161718},
		{"MinimumCount", uint64(le32(b, 32)), 3},
		{"Channel", uint64(le32(b, 36)), 0},
		{"RemainingBytes", uint64(le32(b, 40)), 0x20000},
		{"ReadChannelInfoOffset", uint64(le16(b, 44)), 0},
		{"ReadChannelInfoLength", uint64(le16(b, 46)), 0},
		{"Buffer", uint64(b[48]), 0},
		{"body size", uint64(len(b)), 49},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("ReadRequest encode allocates %v times", n)
	}
}

// testReadResponse builds a whole READ response with data at offset off (from the header),
// DataLength n.
func testReadResponse(off int, data []byte, n uint32, remaining, flags uint32) []byte {
	le := binary.LittleEndian
	body := make([]byte, 16)
	le.PutUint16(body[0:], 17)
	body[2] = byte(off)
	le.PutUint32(body[4:], n)
	le.PutUint32(body[8:], remaining)
	le.PutUint32(body[12:], flags)
	for HeaderSize+len(body) < off {
		body = append(body, 0)
	}
	return testResponse(CmdRead, append(body, data...))
}

func TestReadResponse(t *testing.T) {
	data := []byte("file contents\x00\xff")
	for _, off := range []int{0x50, 0x58} { // the asked-for offset, and a server's own padding
		r := ReadResponse(testReadResponse(off, data, uint32(len(data)), 7, ReadResponseFlagRDMATransform))
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Data(), data) || int(r.DataOffset()) != off || r.DataLength() != uint32(len(data)) ||
			r.DataRemaining() != 7 || r.Flags() != 1 {
			t.Fatalf("offset %#x: data %q offset %d length %d remaining %d flags %d", off, r.Data(), r.DataOffset(),
				r.DataLength(), r.DataRemaining(), r.Flags())
		}
		if cap(r.Data()) != len(data) {
			t.Fatal("Data's capacity reaches past the data")
		}
		expectTruncationsFail(t, r, func(b []byte) error { return ReadResponse(b).Validate() })
	}
	empty := ReadResponse(testReadResponse(0x50, nil, 0, 0, 0))
	if err := empty.Validate(); err != nil || empty.Data() != nil {
		t.Fatalf("empty read: %v %q", err, empty.Data())
	}
	// A header status (e.g. STATUS_BUFFER_OVERFLOW on a message-mode pipe) does not matter.
	over := testReadResponse(0x50, data, uint32(len(data)), 0, 0)
	binary.LittleEndian.PutUint32(over[8:], 0x80000005)
	if err := ReadResponse(over).Validate(); err != nil {
		t.Fatalf("buffer overflow read: %v", err)
	}
}

func TestReadResponseHostile(t *testing.T) {
	data := make([]byte, 32)
	for _, c := range []struct {
		name string
		off  int
		n    uint32
	}{
		{"offset inside fixed body", 0x4f, 32},
		{"offset zero with length", 0, 32},
		{"length past end", 0x50, 33},
		{"length 0xffffffff", 0x50, 0xffffffff},
		{"offset 0xff past end", 0xff, 1},
	} {
		msg := testReadResponse(0x50, data, c.n, 0, 0)
		msg[HeaderSize+2] = byte(c.off)
		expectErr(t, ReadResponse(msg).Validate(), ErrBadOffset, c.name)
	}
	errBody := testResponse(CmdRead, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0})
	expectErr(t, ReadResponse(errBody).Validate(), ErrBadStructureSize, "error body")
	wrong := testReadResponse(0x50, data, 32, 0, 0)
	wrong[12] = byte(CmdWrite)
	expectErr(t, ReadResponse(wrong).Validate(), ErrBadCommand, "command")
}

func TestReadResponseAllocs(t *testing.T) {
	r := ReadResponse(testReadResponse(0x50, make([]byte, 4096), 4096, 0, 0))
	var sink int
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		sink += len(r.Data()) + int(r.DataRemaining()) + int(r.DataOffset()) + int(r.Flags())
	}); n != 0 {
		t.Fatalf("ReadResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkReadRequestAppend(b *testing.B) {
	req := ReadRequest{Length: 65536, FileID: NewFileID(1, 2)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkReadResponseDecode(b *testing.B) {
	r := ReadResponse(testReadResponse(0x50, make([]byte, 65536), 65536, 0, 0))
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || len(r.Data()) != 65536 {
			b.Fatal("invalid")
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add(testReadResponse(0x50, []byte("hello"), 5, 0, 0))
	f.Add(testReadResponse(0x58, []byte("padded"), 6, 1, 1))
	f.Add(testReadResponse(0x50, nil, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := ReadResponse(data)
		if r.Validate() != nil {
			return
		}
		d := r.Data()
		if uint64(len(d)) != uint64(r.DataLength()) {
			t.Fatalf("data %d bytes, DataLength %d", len(d), r.DataLength())
		}
		if len(d) > 0 && int(r.DataOffset()) < HeaderSize+16 {
			t.Fatalf("data at %d overlaps the fixed body", r.DataOffset())
		}
		_ = r.DataRemaining() + r.Flags()
	})
}
