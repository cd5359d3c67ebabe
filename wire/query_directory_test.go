package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

func TestQueryDirectoryRequestFieldOffsets(t *testing.T) {
	req := QueryDirectoryRequest{FileInformationClass: FileIDBothDirectoryInformationClass,
		Flags: QueryDirRestartScans | QueryDirReopen, FileIndex: 0x01020304,
		FileID: NewFileID(0x0102030405060708, 0x1112131415161718), FileName: "*", OutputBufferLength: 65536}
	msg, b := testRequest(t, CmdQueryDirectory, &req)
	// MS-SMB2 2.2.33 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 33},
		{"FileInformationClass", uint64(b[2]), 37},
		{"Flags", uint64(b[3]), 0x11},
		{"FileIndex", uint64(le32(b, 4)), 0x01020304},
		{"FileId.Persistent", le64(b, 8), 0x0102030405060708},
		{"FileId.Volatile", le64(b, 16), 0x1112131415161718},
		{"FileNameOffset", uint64(le16(b, 24)), 96},
		{"FileNameLength", uint64(le16(b, 26)), 2},
		{"OutputBufferLength", uint64(le32(b, 28)), 65536},
		{"body size", uint64(len(b)), 34},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if got := DecodeUTF16LE(msg[96:98]); got != "*" {
		t.Errorf("pattern %q", got)
	}
	if QueryDirRestartScans != 1 || QueryDirReturnSingleEntry != 2 || QueryDirIndexSpecified != 4 || QueryDirReopen != 0x10 {
		t.Error("flag values differ from MS-SMB2 2.2.33")
	}

	req.FileName = `sub\*.tx?`
	msg, b = testRequest(t, CmdQueryDirectory, &req)
	n := int(le16(b, 26))
	if n != 18 || DecodeUTF16LE(msg[96:96+n]) != `sub\*.tx?` || len(b) != 32+18 {
		t.Fatalf("pattern length %d body %d", n, len(b))
	}

	// An empty pattern sends offset 0, length 0 and the one Buffer byte.
	req.FileName = ""
	_, b = testRequest(t, CmdQueryDirectory, &req)
	if len(b) != 33 || le16(b, 24) != 0 || le16(b, 26) != 0 || b[32] != 0 {
		t.Fatalf("empty pattern body % x", b)
	}

	// A pattern longer than the 16-bit length field is cut at a character boundary.
	req.FileName = string(bytes.Repeat([]byte("é"), 40000))
	_, b = testRequest(t, CmdQueryDirectory, &req)
	if le16(b, 26) != MaxQueryDirectoryPatternBytes || len(b) != 32+MaxQueryDirectoryPatternBytes {
		t.Fatalf("long pattern: length %d body %d", le16(b, 26), len(b))
	}
}

func TestQueryDirectoryRequestAllocs(t *testing.T) {
	req := QueryDirectoryRequest{FileInformationClass: FileIDBothDirectoryInformationClass, FileName: "*",
		OutputBufferLength: 65536}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("QueryDirectoryRequest encode allocates %v times", n)
	}
}

// testDirEntry is one directory entry for the tests to encode; a class encodes the fields it has.
type testDirEntry struct {
	fileIndex  uint32
	times      [4]uint64
	eof, alloc int64
	attrs, ea  uint32
	short      string
	fileID     uint64
	name       string
}

// appendTestDirEntry encodes e in the given class, field by field in MS-FSCC order, with
// NextEntryOffset 0.
func appendTestDirEntry(b []byte, class uint8, e *testDirEntry) []byte {
	le := binary.LittleEndian
	name := AppendUTF16LE(nil, e.name)
	b = le.AppendUint32(b, 0) // NextEntryOffset
	b = le.AppendUint32(b, e.fileIndex)
	if class == FileNamesInformationClass { // 2.4.32
		b = le.AppendUint32(b, uint32(len(name)))
		return append(b, name...)
	}
	for _, ft := range e.times {
		b = le.AppendUint64(b, ft)
	}
	b = le.AppendUint64(b, uint64(e.eof))
	b = le.AppendUint64(b, uint64(e.alloc))
	b = le.AppendUint32(b, e.attrs)
	b = le.AppendUint32(b, uint32(len(name)))
	short := func() {
		s := AppendUTF16LE(nil, e.short)
		b = append(b, byte(len(s)), 0) // ShortNameLength, Reserved
		var field [24]byte
		copy(field[:], s)
		b = append(b, field[:]...)
	}
	switch class {
	case FileDirectoryInformationClass: // 2.4.10
	case FileFullDirectoryInformationClass: // 2.4.14
		b = le.AppendUint32(b, e.ea)
	case FileBothDirectoryInformationClass: // 2.4.8
		b = le.AppendUint32(b, e.ea)
		short()
	case FileIDBothDirectoryInformationClass: // 2.4.17
		b = le.AppendUint32(b, e.ea)
		short()
		b = le.AppendUint16(b, 0) // Reserved2
		b = le.AppendUint64(b, e.fileID)
	case FileIDFullDirectoryInformationClass: // 2.4.18
		b = le.AppendUint32(b, e.ea)
		b = le.AppendUint32(b, 0) // Reserved
		b = le.AppendUint64(b, e.fileID)
	default:
		panic("class")
	}
	return append(b, name...)
}

// testDirBuffer chains entries 8-byte aligned, as servers do, and returns the buffer and each
// entry's offset.
func testDirBuffer(class uint8, entries ...testDirEntry) ([]byte, []int) {
	var b []byte
	var offs []int
	for i := range entries {
		if i > 0 {
			for len(b)%8 != 0 {
				b = append(b, 0)
			}
			prev := offs[i-1]
			binary.LittleEndian.PutUint32(b[prev:], uint32(len(b)-prev))
		}
		offs = append(offs, len(b))
		b = appendTestDirEntry(b, class, &entries[i])
	}
	return b, offs
}

func testDirEntries() []testDirEntry {
	return []testDirEntry{
		{fileIndex: 0, times: [4]uint64{133000000000000001, 133000000000000002, 133000000000000003, 133000000000000004},
			eof: 0, alloc: 0, attrs: FileAttributeDirectory, short: "", fileID: 0x100000001, name: "."},
		{fileIndex: 7, times: [4]uint64{1, 2, 3, 4}, eof: 0, alloc: 0, attrs: FileAttributeDirectory, fileID: 2, name: ".."},
		{fileIndex: 9, times: [4]uint64{5, 6, 7, 8}, eof: 0x1_2345_6789, alloc: 0x1_2346_0000,
			attrs: FileAttributeArchive | FileAttributeHidden, ea: 0xa000000c, short: "LONGFI~1.TXT",
			fileID: 0xfedcba9876543210, name: "long file name ünïcode 😀.txt"},
	}
}

var testDirClasses = []uint8{FileDirectoryInformationClass, FileFullDirectoryInformationClass,
	FileBothDirectoryInformationClass, FileNamesInformationClass, FileIDBothDirectoryInformationClass,
	FileIDFullDirectoryInformationClass}

// testQueryDirectoryResponse builds a whole QUERY_DIRECTORY response.
func testQueryDirectoryResponse(out []byte, off, n int) []byte {
	body := make([]byte, 8)
	binary.LittleEndian.PutUint16(body[0:], 9)
	binary.LittleEndian.PutUint16(body[2:], uint16(off))
	binary.LittleEndian.PutUint32(body[4:], uint32(n))
	return testResponse(CmdQueryDirectory, append(body, out...))
}

func TestDirectoryIteratorClasses(t *testing.T) {
	want := testDirEntries()
	for _, class := range testDirClasses {
		t.Run(fmt.Sprint(class), func(t *testing.T) {
			out, _ := testDirBuffer(class, want...)
			r := QueryDirectoryResponse(testQueryDirectoryResponse(out, 72, len(out)))
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r.OutputBuffer(), out) {
				t.Fatal("output buffer differs")
			}
			it := r.Entries(class)
			var e DirectoryEntry
			i := 0
			for ; it.Next(&e); i++ {
				w := want[i]
				hasTimes := class != FileNamesInformationClass
				hasEA := class != FileNamesInformationClass && class != FileDirectoryInformationClass
				hasShort := class == FileBothDirectoryInformationClass || class == FileIDBothDirectoryInformationClass
				hasID := class == FileIDBothDirectoryInformationClass || class == FileIDFullDirectoryInformationClass
				if e.FileIndex != w.fileIndex || DecodeUTF16LE(e.FileName) != w.name {
					t.Errorf("entry %d: index %d name %q", i, e.FileIndex, DecodeUTF16LE(e.FileName))
				}
				if hasTimes != (e.CreationTime == w.times[0] && e.LastAccessTime == w.times[1] &&
					e.LastWriteTime == w.times[2] && e.ChangeTime == w.times[3] && e.EndOfFile == w.eof &&
					e.AllocationSize == w.alloc && e.FileAttributes == w.attrs) {
					t.Errorf("entry %d: times/sizes/attributes %+v", i, e)
				}
				if !hasTimes && (e.CreationTime|e.ChangeTime|uint64(e.EndOfFile)|uint64(e.FileAttributes)) != 0 {
					t.Errorf("entry %d: fields the class lacks are set: %+v", i, e)
				}
				if (hasEA && e.EASize != w.ea) || (!hasEA && e.EASize != 0) {
					t.Errorf("entry %d: EaSize %#x", i, e.EASize)
				}
				if (hasShort && DecodeUTF16LE(e.ShortName) != w.short) || (!hasShort && e.ShortName != nil) {
					t.Errorf("entry %d: short name %q", i, DecodeUTF16LE(e.ShortName))
				}
				if (hasID && e.FileID != w.fileID) || (!hasID && e.FileID != 0) {
					t.Errorf("entry %d: FileId %#x", i, e.FileID)
				}
			}
			if it.Err() != nil || i != len(want) {
				t.Fatalf("%d entries, err %v", i, it.Err())
			}
			if it.Next(&e) {
				t.Fatal("Next after the end returned an entry")
			}
			expectTruncationsFail(t, r, func(b []byte) error { return QueryDirectoryResponse(b).Validate() })
		})
	}
}

// TestFileIDBothDirectoryInformationOffsets pins the FILE_ID_BOTH_DIR_INFORMATION field
// offsets (MS-FSCC 2.4.17) with distinct byte patterns, independently of the encoder above.
func TestFileIDBothDirectoryInformationOffsets(t *testing.T) {
	b := make([]byte, 104+4)
	le := binary.LittleEndian
	le.PutUint32(b[4:], 0x04040404)
	le.PutUint64(b[8:], 0x0808080808080808)
	le.PutUint64(b[16:], 0x1010101010101010)
	le.PutUint64(b[24:], 0x1818181818181818)
	le.PutUint64(b[32:], 0x2020202020202020)
	le.PutUint64(b[40:], 0x2828282828282828)
	le.PutUint64(b[48:], 0x3030303030303030)
	le.PutUint32(b[56:], 0x38383838)
	le.PutUint32(b[60:], 4) // FileNameLength
	le.PutUint32(b[64:], 0x40404040)
	b[68] = 2             // ShortNameLength
	b[70], b[71] = 'S', 0 // ShortName
	le.PutUint64(b[96:], 0x6060606060606060)
	copy(b[104:], []byte{'n', 0, 'm', 0})
	it := NewDirectoryIterator(b, FileIDBothDirectoryInformationClass)
	var e DirectoryEntry
	if !it.Next(&e) {
		t.Fatal(it.Err())
	}
	if e.FileIndex != 0x04040404 || e.CreationTime != 0x0808080808080808 || e.LastAccessTime != 0x1010101010101010 ||
		e.LastWriteTime != 0x1818181818181818 || e.ChangeTime != 0x2020202020202020 ||
		e.EndOfFile != 0x2828282828282828 || e.AllocationSize != 0x3030303030303030 ||
		e.FileAttributes != 0x38383838 || e.EASize != 0x40404040 || e.FileID != 0x6060606060606060 ||
		string(e.ShortName) != "S\x00" || DecodeUTF16LE(e.FileName) != "nm" {
		t.Fatalf("%+v", e)
	}
	if it.Next(&e) || it.Err() != nil {
		t.Fatalf("second entry or error: %v", it.Err())
	}
	// EndOfFile and AllocationSize are signed 64-bit values.
	le.PutUint64(b[40:], 1<<63)
	it = NewDirectoryIterator(b, FileIDBothDirectoryInformationClass)
	if !it.Next(&e) || e.EndOfFile >= 0 {
		t.Fatal("EndOfFile is a signed LARGE_INTEGER")
	}
}

// iterate runs the iterator to its end and returns the entries seen and its error.
func iterate(buf []byte, class uint8) (int, error) {
	it := NewDirectoryIterator(buf, class)
	var e DirectoryEntry
	n := 0
	for it.Next(&e) {
		n++
	}
	return n, it.Err()
}

func TestDirectoryIteratorTruncation(t *testing.T) {
	for _, class := range testDirClasses {
		out, _ := testDirBuffer(class, testDirEntries()...)
		for n := 1; n < len(out); n++ {
			p := append([]byte(nil), out[:n]...)
			if _, err := iterate(p, class); err == nil {
				t.Fatalf("class %d: buffer truncated to %d of %d bytes iterated without error", class, n, len(out))
			}
		}
		if n, err := iterate(out, class); err != nil || n != 3 {
			t.Fatalf("class %d: whole buffer: %d entries, %v", class, n, err)
		}
	}
	if n, err := iterate(nil, FileIDBothDirectoryInformationClass); n != 0 || err != nil {
		t.Fatalf("empty buffer: %d entries, %v", n, err)
	}
}

func TestDirectoryIteratorHostile(t *testing.T) {
	const class = FileIDBothDirectoryInformationClass
	le := binary.LittleEndian
	base, offs := testDirBuffer(class, testDirEntries()...)
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), base...)
		f(b)
		return b
	}
	entry1Size := 104 + 2*len("..") // FileName of the second entry
	cases := []struct {
		name   string
		buf    []byte
		target error
		seen   int // entries returned before the error
	}{
		{"next entry offset 4 (inside the entry)", mod(func(b []byte) { le.PutUint32(b[0:], 4) }), ErrBadOffset, 0},
		{"next entry offset one short of the fixed part", mod(func(b []byte) { le.PutUint32(b[0:], 103) }), ErrBadOffset, 0},
		{"next entry offset inside the name", mod(func(b []byte) { le.PutUint32(b[offs[1]:], uint32(entry1Size-1)) }), ErrBadOffset, 1},
		{"next entry offset 0xffffffff", mod(func(b []byte) { le.PutUint32(b[offs[1]:], 0xffffffff) }), ErrBadOffset, 1},
		{"next entry offset to the end", mod(func(b []byte) { le.PutUint32(b[offs[1]:], uint32(len(b)-offs[1])) }), ErrBadOffset, 1},
		{"next entry offset leaves a short tail", mod(func(b []byte) { le.PutUint32(b[offs[1]:], uint32(len(b)-offs[1]-8)) }), ErrShort, 2},
		{"file name length one past the end", mod(func(b []byte) { le.PutUint32(b[offs[2]+60:], uint32(len(b)-offs[2]-104+1)) }), ErrBadOffset, 2},
		{"file name length 0xffffffff", mod(func(b []byte) { le.PutUint32(b[60:], 0xffffffff) }), ErrTooLarge, 0},
		{"file name length past the cap", mod(func(b []byte) { le.PutUint32(b[60:], MaxFileNameBytes+2) }), ErrTooLarge, 0},
		{"short name length 25", mod(func(b []byte) { b[offs[1]+68] = 25 }), ErrMalformed, 1},
		{"short name length 255", mod(func(b []byte) { b[68] = 255 }), ErrMalformed, 0},
	}
	for _, c := range cases {
		n, err := iterate(c.buf, class)
		expectErr(t, err, c.target, c.name)
		if n != c.seen {
			t.Errorf("%s: %d entries before the error, want %d", c.name, n, c.seen)
		}
	}
	if _, err := iterate(base, 99); err == nil {
		t.Fatal("unsupported class accepted")
	} else {
		expectErr(t, err, ErrMalformed, "unsupported class")
	}

	// A zero NextEntryOffset ends the listing even though bytes follow.
	if n, err := iterate(mod(func(b []byte) { le.PutUint32(b[0:], 0) }), class); n != 1 || err != nil {
		t.Fatalf("zero next entry offset: %d entries, %v", n, err)
	}
	// ShortNameLength 24 (the whole field) is fine.
	if n, err := iterate(mod(func(b []byte) { b[68] = 24 }), class); n != 3 || err != nil {
		t.Fatalf("short name length 24: %d entries, %v", n, err)
	}
	// Unaligned entries and gaps between entries are tolerated.
	var un []byte
	e := testDirEntries()
	un = appendTestDirEntry(un, class, &e[2])
	second := len(un) + 3 // 3 bytes of gap, not 8-byte aligned
	le.PutUint32(un[0:], uint32(second))
	un = append(un, 0xee, 0xee, 0xee)
	un = appendTestDirEntry(un, class, &e[0])
	if second%8 == 0 {
		t.Fatal("test entry accidentally aligned")
	}
	if n, err := iterate(un, class); n != 2 || err != nil {
		t.Fatalf("unaligned chain: %d entries, %v", n, err)
	}
}

func TestDirectoryIteratorEntryCap(t *testing.T) {
	// MaxDirectoryEntries+1 empty FILE_NAMES_INFORMATION entries of 12 bytes, unaligned.
	const n = MaxDirectoryEntries + 1
	buf := make([]byte, 12*n)
	for i := 0; i < n-1; i++ {
		binary.LittleEndian.PutUint32(buf[12*i:], 12)
	}
	got, err := iterate(buf, FileNamesInformationClass)
	expectErr(t, err, ErrTooLarge, "entry cap")
	if got != MaxDirectoryEntries {
		t.Fatalf("%d entries before the cap", got)
	}
	if got, err := iterate(buf[:12*(n-1)], FileNamesInformationClass); err == nil || got != n-2 {
		// The last kept entry points 12 bytes further, to the end: rejected.
		t.Fatalf("cut chain: %d entries, %v", got, err)
	}
	binary.LittleEndian.PutUint32(buf[12*(n-2):], 0)
	if got, err := iterate(buf[:12*(n-1)], FileNamesInformationClass); err != nil || got != MaxDirectoryEntries {
		t.Fatalf("exactly the cap: %d entries, %v", got, err)
	}
}

func TestQueryDirectoryResponseHostile(t *testing.T) {
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
		expectErr(t, QueryDirectoryResponse(testQueryDirectoryResponse(out, c.off, c.n)).Validate(), ErrBadOffset, c.name)
	}
	empty := QueryDirectoryResponse(testQueryDirectoryResponse(nil, 0, 0))
	if err := empty.Validate(); err != nil || empty.OutputBuffer() != nil {
		t.Fatalf("empty output: %v", err)
	}
	it := empty.Entries(FileIDBothDirectoryInformationClass)
	var e DirectoryEntry
	if it.Next(&e) || it.Err() != nil {
		t.Fatal("empty output yields entries")
	}
	bad := testQueryDirectoryResponse(out, 72, 24)
	bad[12] = byte(CmdQueryInfo)
	expectErr(t, QueryDirectoryResponse(bad).Validate(), ErrBadCommand, "command")
}

func TestQueryDirectoryResponseAllocs(t *testing.T) {
	out, _ := testDirBuffer(FileIDBothDirectoryInformationClass, testDirEntries()...)
	r := QueryDirectoryResponse(testQueryDirectoryResponse(out, 72, len(out)))
	var sink uint64
	var e DirectoryEntry
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		it := r.Entries(FileIDBothDirectoryInformationClass)
		for it.Next(&e) {
			sink += e.CreationTime + uint64(e.EndOfFile) + e.FileID + uint64(len(e.FileName)+len(e.ShortName))
		}
		if it.Err() != nil {
			panic("iteration failed")
		}
	}); n != 0 {
		t.Fatalf("QueryDirectoryResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkQueryDirectoryRequestAppend(b *testing.B) {
	req := QueryDirectoryRequest{FileInformationClass: FileIDBothDirectoryInformationClass, FileName: "*",
		OutputBufferLength: 65536}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkQueryDirectoryResponse100Entries(b *testing.B) {
	var entries []testDirEntry
	for i := range 100 {
		entries = append(entries, testDirEntry{fileIndex: uint32(i), eof: int64(i), short: "FILE~1.TXT",
			name: fmt.Sprintf("file number %03d.txt", i)})
	}
	out, _ := testDirBuffer(FileIDBothDirectoryInformationClass, entries...)
	r := QueryDirectoryResponse(testQueryDirectoryResponse(out, 72, len(out)))
	var e DirectoryEntry
	b.ReportAllocs()
	b.SetBytes(int64(len(r)))
	for b.Loop() {
		if r.Validate() != nil {
			b.Fatal("invalid")
		}
		it := r.Entries(FileIDBothDirectoryInformationClass)
		n := 0
		for it.Next(&e) {
			n++
		}
		if n != 100 {
			b.Fatal(it.Err())
		}
	}
}

func FuzzQueryDirectoryResponse(f *testing.F) {
	for _, class := range testDirClasses {
		out, _ := testDirBuffer(class, testDirEntries()...)
		f.Add(testQueryDirectoryResponse(out, 72, len(out)))
	}
	f.Add(testQueryDirectoryResponse(nil, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := QueryDirectoryResponse(data)
		if r.Validate() != nil {
			return
		}
		o := r.OutputBuffer()
		if uint64(len(o)) != uint64(le32(data, HeaderSize+4)) {
			t.Fatalf("output %d bytes, field says %d", len(o), le32(data, HeaderSize+4))
		}
		for _, class := range testDirClasses {
			it := r.Entries(class)
			var e DirectoryEntry
			n := 0
			for it.Next(&e) {
				n++
				if len(e.FileName) > MaxFileNameBytes || len(e.ShortName) > MaxShortNameBytes || n > MaxDirectoryEntries {
					t.Fatalf("class %d entry %d: name %d short %d", class, n, len(e.FileName), len(e.ShortName))
				}
				_ = DecodeUTF16LE(e.FileName) + DecodeUTF16LE(e.ShortName)
			}
			if n*12 > len(o) {
				t.Fatalf("class %d: %d entries from %d bytes", class, n, len(o))
			}
		}
	})
}
