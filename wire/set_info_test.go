package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSetInfoRequestFieldOffsets(t *testing.T) {
	buf := AppendFileDispositionInformation(nil, true)
	req := SetInfoRequest{InfoType: InfoFile, FileInfoClass: FileDispositionInformationClass,
		AdditionalInformation: 0x44, FileID: NewFileID(0x0102030405060708, 0x1112131415161718), Buffer: buf}
	msg, b := testRequest(t, CmdSetInfo, &req)
	// MS-SMB2 2.2.39 offsets within the body.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"StructureSize", uint64(le16(b, 0)), 33},
		{"InfoType", uint64(b[2]), 1},
		{"FileInfoClass", uint64(b[3]), 13},
		{"BufferLength", uint64(le32(b, 4)), 1},
		{"BufferOffset", uint64(le16(b, 8)), 96},
		{"Reserved", uint64(le16(b, 10)), 0},
		{"AdditionalInformation", uint64(le32(b, 12)), 0x44},
		{"FileId.Persistent", le64(b, 16), 0x0102030405060708},
		{"FileId.Volatile", le64(b, 24), 0x1112131415161718},
		{"body size", uint64(len(b)), 33},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if msg[96] != 1 {
		t.Fatalf("DeletePending byte %d", msg[96])
	}

	req.FileInfoClass = FileEndOfFileInformationClass
	req.Buffer = AppendFileEndOfFileInformation(nil, 0x1_0000_0001)
	msg, b = testRequest(t, CmdSetInfo, &req)
	if le32(b, 4) != 8 || len(b) != 40 || b[3] != 20 || le64(msg, 96) != 0x1_0000_0001 {
		t.Fatalf("end of file body % x", b)
	}

	req.Buffer = nil
	_, b = testRequest(t, CmdSetInfo, &req)
	if le32(b, 4) != 0 || len(b) != 33 || b[32] != 0 {
		t.Fatalf("empty buffer body % x", b)
	}
}

func TestSetInfoBuffers(t *testing.T) {
	if got := AppendFileDispositionInformation([]byte{9}, false); !bytes.Equal(got, []byte{9, 0}) {
		t.Fatalf("disposition false: % x", got)
	}
	if got := AppendFileDispositionInformation(nil, true); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("disposition true: % x", got)
	}
	for _, v := range []int64{0, 1, 1 << 40, -1, -1 << 63} {
		got := AppendFileEndOfFileInformation(nil, v)
		if len(got) != 8 || int64(binary.LittleEndian.Uint64(got)) != v {
			t.Fatalf("end of file %d: % x", v, got)
		}
	}
	if FileDispositionInformationClass != 13 || FileEndOfFileInformationClass != 20 {
		t.Fatal("class numbers differ from MS-FSCC 2.4")
	}
}

func TestSetInfoAllocs(t *testing.T) {
	req := SetInfoRequest{InfoType: InfoFile, FileInfoClass: FileEndOfFileInformationClass, FileID: NewFileID(1, 2)}
	var info [8]byte
	buf := make([]byte, 0, 128)
	resp := SetInfoResponse(testResponse(CmdSetInfo, []byte{2, 0}))
	if n := testing.AllocsPerRun(200, func() {
		req.Buffer = AppendFileEndOfFileInformation(info[:0], 4096)
		buf = req.AppendTo(buf[:0])
		buf = AppendFileDispositionInformation(buf, true)
		if resp.Validate() != nil {
			panic("invalid")
		}
	}); n != 0 {
		t.Fatalf("SET_INFO encode/decode allocates %v times", n)
	}
}

func TestSetInfoResponse(t *testing.T) {
	resp := testResponse(CmdSetInfo, []byte{2, 0})
	expectTruncationsFail(t, resp, func(b []byte) error { return SetInfoResponse(b).Validate() })
	expectErr(t, SetInfoResponse(testResponse(CmdSetInfo, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0})).Validate(),
		ErrBadStructureSize, "error body")
	bad := append([]byte(nil), resp...)
	bad[12] = byte(CmdQueryInfo)
	expectErr(t, SetInfoResponse(bad).Validate(), ErrBadCommand, "command")
}

func BenchmarkSetInfoRequestAppend(b *testing.B) {
	req := SetInfoRequest{InfoType: InfoFile, FileInfoClass: FileDispositionInformationClass, FileID: NewFileID(1, 2),
		Buffer: []byte{1}}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendTo(buf[:0])
	}
}

func BenchmarkSetInfoResponseDecode(b *testing.B) {
	resp := SetInfoResponse(testResponse(CmdSetInfo, []byte{2, 0}))
	b.ReportAllocs()
	for b.Loop() {
		if resp.Validate() != nil {
			b.Fatal("invalid")
		}
	}
}

func FuzzSetInfoResponse(f *testing.F) {
	f.Add(testResponse(CmdSetInfo, []byte{2, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if SetInfoResponse(data).Validate() == nil &&
			(len(data) < HeaderSize+2 || le16(data, HeaderSize) != 2 || le16(data, 12) != uint16(CmdSetInfo)) {
			t.Fatal("accepted something that is not a SET_INFO response")
		}
	})
}
