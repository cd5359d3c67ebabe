package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestQueryInfoRequestFieldOffsets(t *testing.T) {
	fid := NewFileID(0x0102030405060708, 0x1112131415161718)
	req := QueryInfoRequest{InfoType: InfoFile, FileInfoClass: FileAllInformationClass, OutputBufferLength: 4096,
		AdditionalInformation: 0x11, Flags: 0x22, FileID: fid}
	_, b := testRequest(t, CmdQueryInfo, &req)
	// MS-SMB2 2.2.37 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 41},
		{"InfoType", uint64(b[2]), 1},
		{"FileInfoClass", uint64(b[3]), 18},
		{"OutputBufferLength", uint64(le32(b, 4)), 4096},
		{"InputBufferOffset", uint64(le16(b, 8)), 0},
		{"Reserved", uint64(le16(b, 10)), 0},
		{"InputBufferLength", uint64(le32(b, 12)), 0},
		{"AdditionalInformation", uint64(le32(b, 16)), 0x11},
		{"Flags", uint64(le32(b, 20)), 0x22},
		{"FileId.Persistent", le64(b, 24), 0x0102030405060708},
		{"FileId.Volatile", le64(b, 32), 0x1112131415161718},
		{"body size", uint64(len(b)), 41},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	req.Input = []byte("sid list")
	msg, b := testRequest(t, CmdQueryInfo, &req)
	off, n := int(le16(b, 8)), int(le32(b, 12))
	if off != HeaderSize+40 || n != 8 || !bytes.Equal(msg[off:off+n], req.Input) || len(b) != 48 {
		t.Fatalf("input at %d len %d body %d", off, n, len(b))
	}
}

func TestQueryInfoRequestAllocs(t *testing.T) {
	req := QueryInfoRequest{InfoType: InfoFile, FileInfoClass: FileAllInformationClass, OutputBufferLength: 4096}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("QueryInfoRequest encode allocates %v times", n)
	}
}

func testQueryInfoResponse(out []byte, off, n int) []byte {
	body := make([]byte, 8)
	binary.LittleEndian.PutUint16(body[0:], 9)
	binary.LittleEndian.PutUint16(body[2:], uint16(off))
	binary.LittleEndian.PutUint32(body[4:], uint32(n))
	return testResponse(CmdQueryInfo, append(body, out...))
}

// testFileAll builds FILE_ALL_INFORMATION (MS-FSCC 2.4.2) field by field.
func testFileAll(name string, nameLenOverride int) []byte {
	le := binary.LittleEndian
	var b []byte
	// FILE_BASIC_INFORMATION (2.4.7)
	for _, ft := range []uint64{132000000000000001, 132000000000000002, 132000000000000003, 132000000000000004} {
		b = le.AppendUint64(b, ft)
	}
	b = le.AppendUint32(b, FileAttributeDirectory|FileAttributeHidden)
	b = le.AppendUint32(b, 0) // Reserved
	// FILE_STANDARD_INFORMATION (2.4.47)
	b = le.AppendUint64(b, 0x2_0000_1000)  // AllocationSize
	b = le.AppendUint64(b, 0x2_0000_0fff)  // EndOfFile
	b = le.AppendUint32(b, 3)              // NumberOfLinks
	b = append(b, 1, 1, 0, 0)              // DeletePending, Directory, Reserved
	b = le.AppendUint64(b, 0xdeadbeefcafe) // FILE_INTERNAL_INFORMATION.IndexNumber
	b = le.AppendUint32(b, 44)             // FILE_EA_INFORMATION.EaSize
	b = le.AppendUint32(b, 0x001200a9)     // FILE_ACCESS_INFORMATION.AccessFlags
	b = le.AppendUint64(b, 512)            // FILE_POSITION_INFORMATION.CurrentByteOffset
	b = le.AppendUint32(b, 0x20)           // FILE_MODE_INFORMATION.Mode
	b = le.AppendUint32(b, 1)              // FILE_ALIGNMENT_INFORMATION.AlignmentRequirement
	n := UTF16Len(name)
	if nameLenOverride >= 0 {
		n = nameLenOverride
	}
	b = le.AppendUint32(b, uint32(n)) // FILE_NAME_INFORMATION.FileNameLength
	return AppendUTF16LE(b, name)
}

func TestQueryInfoResponseFileAll(t *testing.T) {
	const name = `\dir\sübdir`
	out := testFileAll(name, -1)
	r := QueryInfoResponse(testQueryInfoResponse(out, 72, len(out)))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.OutputBuffer(), out) {
		t.Fatal("output buffer differs")
	}
	expectTruncationsFail(t, r, func(b []byte) error { return QueryInfoResponse(b).Validate() })
	all := FileAllInformation(r.OutputBuffer())
	if err := all.Validate(); err != nil {
		t.Fatal(err)
	}
	basic, std := all.Basic(), all.Standard()
	if basic.Validate() != nil || std.Validate() != nil {
		t.Fatal("embedded structures invalid")
	}
	if basic.CreationTime() != 132000000000000001 || basic.LastAccessTime() != 132000000000000002 ||
		basic.LastWriteTime() != 132000000000000003 || basic.ChangeTime() != 132000000000000004 ||
		basic.FileAttributes() != 0x12 {
		t.Errorf("basic: %d %d %d %d %x", basic.CreationTime(), basic.LastAccessTime(), basic.LastWriteTime(),
			basic.ChangeTime(), basic.FileAttributes())
	}
	if std.AllocationSize() != 0x2_0000_1000 || std.EndOfFile() != 0x2_0000_0fff || std.NumberOfLinks() != 3 ||
		!std.DeletePending() || !std.Directory() {
		t.Errorf("standard: %d %d %d %v %v", std.AllocationSize(), std.EndOfFile(), std.NumberOfLinks(),
			std.DeletePending(), std.Directory())
	}
	if all.IndexNumber() != 0xdeadbeefcafe || all.EASize() != 44 || all.AccessFlags() != 0x001200a9 ||
		all.CurrentByteOffset() != 512 || all.Mode() != 0x20 || all.AlignmentRequirement() != 1 {
		t.Errorf("all: %x %d %x %d %x %d", all.IndexNumber(), all.EASize(), all.AccessFlags(), all.CurrentByteOffset(),
			all.Mode(), all.AlignmentRequirement())
	}
	if got := DecodeUTF16LE(all.FileName()); got != name {
		t.Errorf("file name %q", got)
	}
	// Every truncation of the FILE_ALL_INFORMATION itself fails as well.
	expectTruncationsFail(t, out, func(b []byte) error { return FileAllInformation(b).Validate() })
}

func TestFileAllInformationHostile(t *testing.T) {
	expectErr(t, FileAllInformation(testFileAll("abc", 7)).Validate(), ErrBadOffset, "name length one past")
	expectErr(t, FileAllInformation(testFileAll("abc", 0x7fffffff)).Validate(), ErrTooLarge, "huge name length")
	expectErr(t, FileAllInformation(testFileAll("abc", 0xffffffff)).Validate(), ErrTooLarge, "name length -1")
	big := testFileAll(string(bytes.Repeat([]byte{'a'}, 40000)), -1) // 80000 bytes of name
	expectErr(t, FileAllInformation(big).Validate(), ErrTooLarge, "name past the cap")
	if err := FileAllInformation(testFileAll("", -1)).Validate(); err != nil {
		t.Fatalf("empty name: %v", err)
	}
}

func TestFileBasicAndStandardInformation(t *testing.T) {
	all := testFileAll("x", -1)
	basic := FileBasicInformation(all[:40])
	expectTruncationsFail(t, basic[:36], func(b []byte) error { return FileBasicInformation(b).Validate() })
	if basic.FileAttributes() != 0x12 || basic.ChangeTime() != 132000000000000004 {
		t.Fatal("basic fields")
	}
	std := FileStandardInformation(all[40:64])
	expectTruncationsFail(t, std[:22], func(b []byte) error { return FileStandardInformation(b).Validate() })
	if std.EndOfFile() != 0x2_0000_0fff || !std.Directory() {
		t.Fatal("standard fields")
	}
	neg := append([]byte(nil), std...)
	binary.LittleEndian.PutUint64(neg[8:], 1<<63)
	if FileStandardInformation(neg).EndOfFile() >= 0 {
		t.Fatal("EndOfFile is a signed LARGE_INTEGER")
	}
}

func TestQueryInfoResponseHostile(t *testing.T) {
	out := make([]byte, 24)
	for _, c := range []struct {
		name   string
		off, n int
	}{
		{"offset inside fixed body", 71, 24},
		{"offset zero with length", 0, 24},
		{"length past end", 72, 25},
		{"length 0xffffffff", 72, 0xffffffff},
		{"offset past end", 0xffff, 1},
	} {
		expectErr(t, QueryInfoResponse(testQueryInfoResponse(out, c.off, c.n)).Validate(), ErrBadOffset, c.name)
	}
	empty := QueryInfoResponse(testQueryInfoResponse(nil, 0, 0))
	if err := empty.Validate(); err != nil || empty.OutputBuffer() != nil {
		t.Fatalf("empty output: %v", err)
	}
}

func TestQueryInfoResponseAllocs(t *testing.T) {
	out := testFileAll(`\a\b\c.txt`, -1)
	r := QueryInfoResponse(testQueryInfoResponse(out, 72, len(out)))
	var sink uint64
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		all := FileAllInformation(r.OutputBuffer())
		if all.Validate() != nil {
			panic("invalid all")
		}
		b, s := all.Basic(), all.Standard()
		sink += b.CreationTime() + b.LastWriteTime() + uint64(b.FileAttributes()) + uint64(s.EndOfFile()) +
			uint64(s.AllocationSize()) + uint64(s.NumberOfLinks()) + all.IndexNumber() + uint64(len(all.FileName()))
	}); n != 0 {
		t.Fatalf("QueryInfoResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkQueryInfoRequestAppend(b *testing.B) {
	req := QueryInfoRequest{InfoType: InfoFile, FileInfoClass: FileAllInformationClass, OutputBufferLength: 4096}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkQueryInfoResponseFileAll(b *testing.B) {
	out := testFileAll(`\a\b\c.txt`, -1)
	r := QueryInfoResponse(testQueryInfoResponse(out, 72, len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil {
			b.Fatal("invalid")
		}
		all := FileAllInformation(r.OutputBuffer())
		if all.Validate() != nil || all.Standard().EndOfFile() == 0 {
			b.Fatal("invalid all")
		}
	}
}

func FuzzQueryInfoResponse(f *testing.F) {
	out := testFileAll(`\dir\file`, -1)
	f.Add(testQueryInfoResponse(out, 72, len(out)))
	f.Add(testQueryInfoResponse(out[:40], 72, 40))
	f.Add(testQueryInfoResponse(out[40:64], 72, 24))
	f.Add(testQueryInfoResponse(nil, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := QueryInfoResponse(data)
		if r.Validate() != nil {
			return
		}
		o := r.OutputBuffer()
		if uint64(len(o)) != uint64(le32(data, HeaderSize+4)) {
			t.Fatalf("output %d bytes, field says %d", len(o), le32(data, HeaderSize+4))
		}
		if b := FileBasicInformation(o); b.Validate() == nil {
			_ = b.CreationTime() + b.LastAccessTime() + b.LastWriteTime() + b.ChangeTime() + uint64(b.FileAttributes())
		}
		if s := FileStandardInformation(o); s.Validate() == nil {
			_ = s.AllocationSize() + s.EndOfFile() + int64(s.NumberOfLinks())
			_, _ = s.DeletePending(), s.Directory()
		}
		if a := FileAllInformation(o); a.Validate() == nil {
			_ = a.Basic().FileAttributes() + a.EASize() + a.AccessFlags() + a.Mode() + a.AlignmentRequirement()
			_ = a.Standard().EndOfFile() + a.CurrentByteOffset()
			_ = a.IndexNumber()
			_ = DecodeUTF16LE(a.FileName())
		}
	})
}
