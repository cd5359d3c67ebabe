package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestIoctlRequestFieldOffsets(t *testing.T) {
	in := []byte("\x05\x00\x00\x03\x10\x00\x00\x00dcerpc request")
	req := IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: NewFileID(0x0102030405060708, 0x1112131415161718),
		MaxInputResponse: 0, MaxOutputResponse: 4280, Flags: IoctlIsFSCTL, Input: in}
	msg, b := testRequest(t, CmdIoctl, &req)
	// MS-SMB2 2.2.31 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 57},
		{"Reserved", uint64(le16(b, 2)), 0},
		{"CtlCode", uint64(le32(b, 4)), 0x0011c017},
		{"FileId.Persistent", le64(b, 8), 0x0102030405060708},
		{"FileId.Volatile", le64(b, 16), 0x1112131415161718},
		{"InputOffset", uint64(le32(b, 24)), 120},
		{"InputCount", uint64(le32(b, 28)), uint64(len(in))},
		{"MaxInputResponse", uint64(le32(b, 32)), 0},
		{"OutputOffset", uint64(le32(b, 36)), 0},
		{"OutputCount", uint64(le32(b, 40)), 0},
		{"MaxOutputResponse", uint64(le32(b, 44)), 4280},
		{"Flags", uint64(le32(b, 48)), 1},
		{"Reserved2", uint64(le32(b, 52)), 0},
		{"body size", uint64(len(b)), uint64(56 + len(in))},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if off := int(le32(b, 24)); !bytes.Equal(msg[off:], in) {
		t.Fatal("input not at InputOffset")
	}

	// A handle-less FSCTL with no input: all-ones FileId, offset and count 0, one Buffer byte.
	req = IoctlRequest{CtlCode: FsctlQueryNetworkInterfaceInfo, FileID: NoFileID(), MaxOutputResponse: 65536,
		Flags: IoctlIsFSCTL}
	_, b = testRequest(t, CmdIoctl, &req)
	if len(b) != 57 || le32(b, 24) != 0 || le32(b, 28) != 0 || b[56] != 0 {
		t.Fatalf("empty input body % x", b)
	}
	if !bytes.Equal(b[8:24], bytes.Repeat([]byte{0xff}, 16)) {
		t.Fatalf("NoFileID % x", b[8:24])
	}
}

func TestIoctlConstants(t *testing.T) {
	// Values from MS-SMB2 2.2.31 / MS-FSCC 2.3.
	for _, c := range []struct {
		got, want uint32
	}{
		{FsctlPipeTransceive, 0x0011C017},
		{FsctlDFSGetReferrals, 0x00060194},
		{FsctlValidateNegotiateInfo, 0x00140204},
		{FsctlQueryNetworkInterfaceInfo, 0x001401FC},
		{FsctlPipeWait, 0x00110018},
		{IoctlIsFSCTL, 1},
	} {
		if c.got != c.want {
			t.Errorf("%#08x, want %#08x", c.got, c.want)
		}
	}
}

func TestIoctlRequestAllocs(t *testing.T) {
	req := IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: NewFileID(1, 2), MaxOutputResponse: 4280,
		Flags: IoctlIsFSCTL, Input: make([]byte, 160)}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(200, func() { buf = req.AppendTo(buf[:0]); _ = req.Size() }); n != 0 {
		t.Fatalf("IoctlRequest encode allocates %v times", n)
	}
}

// ioctlResp describes an IOCTL response for the tests to build.
type ioctlResp struct {
	status        uint32
	ctl           uint32
	fid           FileID
	inOff, inN    uint32
	outOff, outN  uint32
	flags         uint32
	payload       []byte // placed right after the fixed body, at offset 112
	structureSize uint16
}

func (s *ioctlResp) build() []byte {
	le := binary.LittleEndian
	body := make([]byte, 48)
	ss := s.structureSize
	if ss == 0 {
		ss = 49
	}
	le.PutUint16(body[0:], ss)
	le.PutUint32(body[4:], s.ctl)
	copy(body[8:24], s.fid[:])
	le.PutUint32(body[24:], s.inOff)
	le.PutUint32(body[28:], s.inN)
	le.PutUint32(body[32:], s.outOff)
	le.PutUint32(body[36:], s.outN)
	le.PutUint32(body[40:], s.flags)
	msg := testResponse(CmdIoctl, append(body, s.payload...))
	le.PutUint32(msg[8:], s.status)
	return msg
}

// transceiveResp is a PIPE_TRANSCEIVE reply as Windows and Samba shape it: no input (but
// InputOffset still 112), output at 112.
func transceiveResp(status uint32, out []byte) *ioctlResp {
	return &ioctlResp{status: status, ctl: FsctlPipeTransceive, fid: NewFileID(5, 6), inOff: 112,
		outOff: 112, outN: uint32(len(out)), payload: out}
}

func TestIoctlResponse(t *testing.T) {
	out := []byte("\x05\x00\x02\x03\x10\x00\x00\x00dcerpc response body")
	for _, status := range []uint32{0, 0x80000005} { // STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW
		r := IoctlResponse(transceiveResp(status, out).build())
		if err := r.Validate(); err != nil {
			t.Fatalf("status %#x: %v", status, err)
		}
		if r.CtlCode() != FsctlPipeTransceive || r.FileID() != NewFileID(5, 6) || r.Flags() != 0 ||
			!bytes.Equal(r.Output(), out) || r.Input() != nil {
			t.Fatalf("fields: %#x %x %d %q %q", r.CtlCode(), r.FileID(), r.Flags(), r.Output(), r.Input())
		}
		if cap(r.Output()) != len(out) {
			t.Fatal("Output's capacity reaches past the output")
		}
		expectTruncationsFail(t, r, func(b []byte) error { return IoctlResponse(b).Validate() })
	}
	// Input echoed back and output after it (e.g. a server echoing its input).
	s := &ioctlResp{ctl: FsctlValidateNegotiateInfo, fid: NoFileID(), inOff: 112, inN: 4, outOff: 116, outN: 24,
		payload: append([]byte("ECHO"), bytes.Repeat([]byte{7}, 24)...)}
	r := IoctlResponse(s.build())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if string(r.Input()) != "ECHO" || len(r.Output()) != 24 || r.Output()[0] != 7 || r.FileID() != NoFileID() {
		t.Fatalf("input %q output % x", r.Input(), r.Output())
	}
	// No output at all (e.g. FSCTL_PIPE_WAIT): offsets may be anything.
	s = &ioctlResp{ctl: FsctlPipeWait, fid: NoFileID(), inOff: 0xdeadbeef, outOff: 0xffffffff}
	r = IoctlResponse(s.build())
	if err := r.Validate(); err != nil || r.Output() != nil || r.Input() != nil {
		t.Fatalf("empty: %v", err)
	}
}

func TestIoctlResponseHostile(t *testing.T) {
	out := make([]byte, 32)
	for _, c := range []struct {
		name   string
		mutate func(s *ioctlResp)
	}{
		{"output offset inside fixed body", func(s *ioctlResp) { s.outOff = 111 }},
		{"output offset zero", func(s *ioctlResp) { s.outOff = 0 }},
		{"output count past end", func(s *ioctlResp) { s.outN = 33 }},
		{"output count 0xffffffff", func(s *ioctlResp) { s.outN = 0xffffffff }},
		{"output offset 0xffffffff", func(s *ioctlResp) { s.outOff = 0xffffffff }},
		{"output offset past end", func(s *ioctlResp) { s.outOff = 112 + 33 }},
		{"input count past end", func(s *ioctlResp) { s.inN = 33 }},
		{"input offset inside header", func(s *ioctlResp) { s.inN, s.inOff = 4, 20 }},
		{"input count 0xffffffff", func(s *ioctlResp) { s.inN = 0xffffffff }},
	} {
		s := transceiveResp(0, out)
		c.mutate(s)
		expectErr(t, IoctlResponse(s.build()).Validate(), ErrBadOffset, c.name)
	}
	s := transceiveResp(0xc000000d, out)
	s.structureSize = 9
	expectErr(t, IoctlResponse(s.build()).Validate(), ErrBadStructureSize, "error body")
	bad := transceiveResp(0, out).build()
	bad[12] = byte(CmdRead)
	expectErr(t, IoctlResponse(bad).Validate(), ErrBadCommand, "command")
}

func TestIoctlResponseAllocs(t *testing.T) {
	r := IoctlResponse(transceiveResp(0, make([]byte, 256)).build())
	var sink int
	if n := testing.AllocsPerRun(200, func() {
		if r.Validate() != nil {
			panic("invalid")
		}
		fid := r.FileID()
		sink += len(r.Output()) + len(r.Input()) + int(r.CtlCode()) + int(r.Flags()) + int(fid[0])
	}); n != 0 {
		t.Fatalf("IoctlResponse decode allocates %v times", n)
	}
	_ = sink
}

func BenchmarkIoctlRequestAppend(b *testing.B) {
	req := IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: NewFileID(1, 2), MaxOutputResponse: 4280,
		Flags: IoctlIsFSCTL, Input: make([]byte, 160)}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkIoctlResponseDecode(b *testing.B) {
	r := IoctlResponse(transceiveResp(0, make([]byte, 1024)).build())
	b.ReportAllocs()
	for b.Loop() {
		if r.Validate() != nil || len(r.Output()) != 1024 {
			b.Fatal("invalid")
		}
	}
}

func FuzzIoctlResponse(f *testing.F) {
	f.Add(transceiveResp(0, []byte("rpc")).build())
	f.Add(transceiveResp(0x80000005, bytes.Repeat([]byte{1}, 64)).build())
	f.Add((&ioctlResp{ctl: FsctlValidateNegotiateInfo, inOff: 112, inN: 4, outOff: 116, outN: 4,
		payload: []byte("ECHOOUT!")}).build())
	f.Fuzz(func(t *testing.T, data []byte) {
		r := IoctlResponse(data)
		if r.Validate() != nil {
			return
		}
		if uint64(len(r.Output())) != uint64(le32(data, HeaderSize+36)) ||
			uint64(len(r.Input())) != uint64(le32(data, HeaderSize+28)) {
			t.Fatal("buffer lengths differ from their counts")
		}
		_ = r.CtlCode() + r.Flags()
		_ = r.FileID()
	})
}
