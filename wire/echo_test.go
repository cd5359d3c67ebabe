package wire

import "testing"

func TestEcho(t *testing.T) {
	_, b := testRequest(t, CmdEcho, EchoRequest{})
	// MS-SMB2 2.2.28: StructureSize 4, Reserved 0.
	if len(b) != 4 || le16(b, 0) != 4 || le16(b, 2) != 0 {
		t.Fatalf("request body % x", b)
	}
	resp := testResponse(CmdEcho, []byte{4, 0, 0, 0})
	expectTruncationsFail(t, resp, func(b []byte) error { return EchoResponse(b).Validate() })
	bad := append([]byte(nil), resp...)
	bad[12] = byte(CmdLogoff)
	expectErr(t, EchoResponse(bad).Validate(), ErrBadCommand, "command")
	bad = testResponse(CmdEcho, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0})
	expectErr(t, EchoResponse(bad).Validate(), ErrBadStructureSize, "error body")
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		buf = EchoRequest{}.AppendTo(buf[:0])
		if EchoResponse(resp).Validate() != nil {
			panic("invalid")
		}
	}); n != 0 {
		t.Fatalf("echo allocates %v times", n)
	}
}

func BenchmarkEcho(b *testing.B) {
	resp := EchoResponse(testResponse(CmdEcho, []byte{4, 0, 0, 0}))
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = EchoRequest{}.AppendTo(buf[:0])
		if resp.Validate() != nil {
			b.Fatal("invalid")
		}
	}
}

func FuzzEchoResponse(f *testing.F) {
	f.Add(testResponse(CmdEcho, []byte{4, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if EchoResponse(data).Validate() == nil &&
			(len(data) < HeaderSize+4 || le16(data, HeaderSize) != 4 || le16(data, 12) != uint16(CmdEcho)) {
			t.Fatal("accepted something that is not an ECHO response")
		}
	})
}
