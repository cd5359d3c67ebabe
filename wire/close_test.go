package wire

import (
	"encoding/binary"
	"testing"
)

func TestCloseRequest(t *testing.T) {
	req := CloseRequest{Flags: CloseFlagPostQueryAttrib, FileID: NewFileID(0x0102030405060708, 0x1112131415161718)}
	_, b := testRequest(t, CmdClose, &req)
	// MS-SMB2 2.2.15 offsets within the body.
	if len(b) != 24 || le16(b, 0) != 24 || le16(b, 2) != 1 || le32(b, 4) != 0 ||
		le64(b, 8) != 0x0102030405060708 || le64(b, 16) != 0x1112131415161718 {
		t.Fatalf("close request % x", b)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]) }); n != 0 {
		t.Fatalf("CloseRequest encode allocates %v times", n)
	}
}

func testCloseResponse(flags uint16, times [4]uint64, alloc, eof uint64, attrs uint32) []byte {
	le := binary.LittleEndian
	body := make([]byte, 60)
	le.PutUint16(body[0:], 60)
	le.PutUint16(body[2:], flags)
	for i, v := range times {
		le.PutUint64(body[8+8*i:], v)
	}
	le.PutUint64(body[40:], alloc)
	le.PutUint64(body[48:], eof)
	le.PutUint32(body[56:], attrs)
	return testResponse(CmdClose, body)
}

func TestCloseResponse(t *testing.T) {
	times := [4]uint64{1, 2, 3, 133000000000000000}
	r := CloseResponse(testCloseResponse(CloseFlagPostQueryAttrib, times, 1<<40, 1<<40-1, FileAttributeReadonly))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Flags() != 1 || r.CreationTime() != 1 || r.LastAccessTime() != 2 || r.LastWriteTime() != 3 ||
		r.ChangeTime() != 133000000000000000 || r.AllocationSize() != 1<<40 || r.EndOfFile() != 1<<40-1 ||
		r.FileAttributes() != 1 {
		t.Fatalf("fields: %d %d %d %d %d %d %d %d", r.Flags(), r.CreationTime(), r.LastAccessTime(), r.LastWriteTime(),
			r.ChangeTime(), r.AllocationSize(), r.EndOfFile(), r.FileAttributes())
	}
	expectTruncationsFail(t, r, func(b []byte) error { return CloseResponse(b).Validate() })
	bad := append([]byte(nil), r...)
	bad[HeaderSize] = 9
	expectErr(t, CloseResponse(bad).Validate(), ErrBadStructureSize, "error body")
	var sink uint64
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		sink += uint64(r.Flags()) + r.CreationTime() + r.LastWriteTime() + r.EndOfFile() + uint64(r.FileAttributes())
	}); n != 0 {
		t.Fatalf("CloseResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkCloseRequestAppend(b *testing.B) {
	req := CloseRequest{FileID: NewFileID(1, 2)}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkCloseResponseDecode(b *testing.B) {
	r := CloseResponse(testCloseResponse(1, [4]uint64{1, 2, 3, 4}, 5, 6, 7))
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || r.EndOfFile() != 6 {
			b.Fatal("invalid")
		}
	}
}

func FuzzCloseResponse(f *testing.F) {
	f.Add(testCloseResponse(1, [4]uint64{1, 2, 3, 4}, 5, 6, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := CloseResponse(data)
		if r.Validate() != nil {
			return
		}
		_ = uint64(r.Flags()) + r.CreationTime() + r.LastAccessTime() + r.LastWriteTime() + r.ChangeTime() +
			r.AllocationSize() + r.EndOfFile() + uint64(r.FileAttributes())
	})
}
