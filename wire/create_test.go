package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestCreateRequestFieldOffsets(t *testing.T) {
	req := CreateRequest{
		RequestedOplockLevel: OplockLevelII, ImpersonationLevel: ImpersonationImpersonation,
		DesiredAccess: AccessReadAttributes | AccessSynchronize, FileAttributes: FileAttributeNormal,
		ShareAccess:       FileShareRead | FileShareWrite | FileShareDelete,
		CreateDisposition: DispositionOpen, CreateOptions: CreateOptNonDirectoryFile | CreateOptDeleteOnClose,
		Name: `dir\sub\файл.txt`,
	}
	msg, b := testRequest(t, CmdCreate, &req)
	// MS-SMB2 2.2.13 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 57},
		{"SecurityFlags", uint64(b[2]), 0},
		{"RequestedOplockLevel", uint64(b[3]), uint64(OplockLevelII)},
		{"ImpersonationLevel", uint64(le32(b, 4)), 2},
		{"SmbCreateFlags", le64(b, 8), 0},
		{"Reserved", le64(b, 16), 0},
		{"DesiredAccess", uint64(le32(b, 24)), 0x100080},
		{"FileAttributes", uint64(le32(b, 28)), 0x80},
		{"ShareAccess", uint64(le32(b, 32)), 7},
		{"CreateDisposition", uint64(le32(b, 36)), 1},
		{"CreateOptions", uint64(le32(b, 40)), 0x1040},
		{"NameOffset", uint64(le16(b, 44)), 120},
		{"NameLength", uint64(le16(b, 46)), uint64(UTF16Len(req.Name))},
		{"CreateContextsOffset", uint64(le32(b, 48)), 0},
		{"CreateContextsLength", uint64(le32(b, 52)), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if got := DecodeUTF16LE(msg[120 : 120+int(le16(b, 46))]); got != req.Name {
		t.Errorf("name round trip %q", got)
	}
	if len(b) != 56+UTF16Len(req.Name) {
		t.Errorf("body %d bytes", len(b))
	}
}

func TestCreateRequestShareRoot(t *testing.T) {
	req := CreateRequest{DesiredAccess: AccessReadAttributes, CreateDisposition: DispositionOpen,
		CreateOptions: CreateOptDirectoryFile}
	_, b := testRequest(t, CmdCreate, &req)
	// An empty name: NameLength 0, but Buffer still holds one byte.
	if len(b) != 57 || le16(b, 44) != 120 || le16(b, 46) != 0 || b[56] != 0 {
		t.Fatalf("share root: body %d bytes, name offset %d length %d", len(b), le16(b, 44), le16(b, 46))
	}
}

func TestCreateRequestContexts(t *testing.T) {
	ctx := []byte("\x00\x00\x00\x00\x10\x00\x04\x00\x00\x00\x18\x00\x00\x00\x00\x00MxAc\x00\x00\x00\x00")
	for _, name := range []string{"", "a", "abcd", `x\y.txt`} {
		req := CreateRequest{Name: name, CreateContexts: ctx, CreateDisposition: DispositionOpen}
		msg, b := testRequest(t, CmdCreate, &req)
		off, n := int(le32(b, 48)), int(le32(b, 52))
		if off%8 != 0 || off < 120+UTF16Len(name) || n != len(ctx) || !bytes.Equal(msg[off:off+n], ctx) {
			t.Fatalf("%q: contexts at %d len %d", name, off, n)
		}
		if off+n != len(msg) {
			t.Fatalf("%q: trailing bytes after contexts", name)
		}
		if got := DecodeUTF16LE(msg[120 : 120+int(le16(b, 46))]); got != name {
			t.Fatalf("name %q", got)
		}
	}
}

func TestCreateRequestAllocs(t *testing.T) {
	req := CreateRequest{Name: `some\path\file.txt`, DesiredAccess: AccessGenericRead, CreateDisposition: DispositionOpen}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("CreateRequest encode allocates %v times", n)
	}
}

func TestFileID(t *testing.T) {
	f := NewFileID(0x0102030405060708, 0x1112131415161718)
	if f.Persistent() != 0x0102030405060708 || f.Volatile() != 0x1112131415161718 || f[0] != 8 || f[8] != 0x18 {
		t.Fatalf("FileID %x", f[:])
	}
}

type createResp struct {
	oplock               uint8
	action               uint32
	times                [4]uint64
	alloc, eof           uint64
	attrs                uint32
	fid                  FileID
	contexts             []byte
	ctxOffset, ctxLength int64 // -1: derive
	structureSize        uint16
}

func (s *createResp) build() []byte {
	le := binary.LittleEndian
	body := make([]byte, 88)
	ss := s.structureSize
	if ss == 0 {
		ss = 89
	}
	le.PutUint16(body[0:], ss)
	body[2] = s.oplock
	le.PutUint32(body[4:], s.action)
	for i, v := range s.times {
		le.PutUint64(body[8+8*i:], v)
	}
	le.PutUint64(body[40:], s.alloc)
	le.PutUint64(body[48:], s.eof)
	le.PutUint32(body[56:], s.attrs)
	copy(body[64:80], s.fid[:])
	off, n := int64(0), int64(len(s.contexts))
	if n > 0 {
		off = HeaderSize + 88
	}
	if s.ctxOffset >= 0 {
		off = s.ctxOffset
	}
	if s.ctxLength >= 0 {
		n = s.ctxLength
	}
	le.PutUint32(body[80:], uint32(off))
	le.PutUint32(body[84:], uint32(n))
	return testResponse(CmdCreate, append(body, s.contexts...))
}

func fullCreateResp() *createResp {
	return &createResp{
		oplock: OplockLevelBatch, action: CreateActionOpened,
		times: [4]uint64{132000000000000001, 132000000000000002, 132000000000000003, 132000000000000004},
		alloc: 0x1_0000_2000, eof: 0x1_0000_1234, attrs: FileAttributeArchive | FileAttributeSparseFile,
		fid: NewFileID(0xaaaa, 0xbbbb), contexts: []byte("\x00\x00\x00\x00\x10\x00\x08\x00\x00\x00\x18\x00\x08\x00\x00\x00MxAc\x00\x00\x00\x00\x00\x00\x00\x00\xff\x01\x1f\x00"),
		ctxOffset: -1, ctxLength: -1,
	}
}

func TestCreateResponse(t *testing.T) {
	s := fullCreateResp()
	r := CreateResponse(s.build())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.OplockLevel() != OplockLevelBatch || r.Flags() != 0 || r.CreateAction() != CreateActionOpened {
		t.Errorf("oplock %d action %d", r.OplockLevel(), r.CreateAction())
	}
	if r.CreationTime() != s.times[0] || r.LastAccessTime() != s.times[1] || r.LastWriteTime() != s.times[2] || r.ChangeTime() != s.times[3] {
		t.Errorf("times %d %d %d %d", r.CreationTime(), r.LastAccessTime(), r.LastWriteTime(), r.ChangeTime())
	}
	// Sizes above 4 GiB keep all 64 bits.
	if r.AllocationSize() != 0x1_0000_2000 || r.EndOfFile() != 0x1_0000_1234 {
		t.Errorf("sizes %#x %#x", r.AllocationSize(), r.EndOfFile())
	}
	if r.FileAttributes() != 0x220 || r.FileID() != s.fid || !bytes.Equal(r.CreateContexts(), s.contexts) {
		t.Errorf("attrs %x fid %x contexts %q", r.FileAttributes(), r.FileID(), r.CreateContexts())
	}
	expectTruncationsFail(t, r, func(b []byte) error { return CreateResponse(b).Validate() })

	s.contexts = nil
	r = CreateResponse(s.build())
	if err := r.Validate(); err != nil || r.CreateContexts() != nil {
		t.Fatalf("no contexts: %v", err)
	}
}

func TestCreateResponseHostile(t *testing.T) {
	for _, c := range []struct {
		name   string
		off, n int64
	}{
		{"contexts offset inside fixed part", 151, -1},
		{"contexts offset zero with length", 0, -1},
		{"contexts length past end", -1, 33},
		{"contexts length 0xffffffff", -1, 0xffffffff},
		{"contexts offset 0xffffffff", 0xffffffff, -1},
		{"offset+length wraps 32 bits", 0xfffffff0, 0x20},
	} {
		s := fullCreateResp()
		s.ctxOffset, s.ctxLength = c.off, c.n
		expectErr(t, CreateResponse(s.build()).Validate(), ErrBadOffset, c.name)
	}
	s := fullCreateResp()
	s.structureSize = 9
	expectErr(t, CreateResponse(s.build()).Validate(), ErrBadStructureSize, "error body")
}

func TestCreateResponseAllocs(t *testing.T) {
	r := CreateResponse(fullCreateResp().build())
	var sink uint64
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		f := r.FileID()
		sink += uint64(r.OplockLevel()) + uint64(r.CreateAction()) + r.CreationTime() + r.LastAccessTime() +
			r.LastWriteTime() + r.ChangeTime() + r.AllocationSize() + r.EndOfFile() + uint64(r.FileAttributes()) +
			f.Persistent() + uint64(len(r.CreateContexts()))
	}); n != 0 {
		t.Fatalf("CreateResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkCreateRequestAppend(b *testing.B) {
	req := CreateRequest{Name: `some\path\file.txt`, DesiredAccess: AccessGenericRead, CreateDisposition: DispositionOpen}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkCreateResponseDecode(b *testing.B) {
	r := CreateResponse(fullCreateResp().build())
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || r.EndOfFile() == 0 || len(r.CreateContexts()) == 0 {
			b.Fatal("invalid")
		}
	}
}

func FuzzCreateResponse(f *testing.F) {
	f.Add(fullCreateResp().build())
	s := fullCreateResp()
	s.contexts = nil
	f.Add(s.build())
	f.Fuzz(func(t *testing.T, data []byte) {
		r := CreateResponse(data)
		if r.Validate() != nil {
			return
		}
		_ = uint64(r.OplockLevel()) + uint64(r.Flags()) + uint64(r.CreateAction()) + r.CreationTime() +
			r.LastAccessTime() + r.LastWriteTime() + r.ChangeTime() + r.AllocationSize() + r.EndOfFile()
		_ = FileAttributeNames(nil, r.FileAttributes())
		_ = r.FileID().Volatile()
		if c := r.CreateContexts(); uint64(len(c)) != uint64(le32(data, HeaderSize+84)) {
			t.Fatalf("contexts %d bytes, field says %d", len(c), le32(data, HeaderSize+84))
		}
	})
}
