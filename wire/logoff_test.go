package wire

import "testing"

func TestLogoff(t *testing.T) {
	_, b := testRequest(t, CmdLogoff, LogoffRequest{})
	if len(b) != 4 || le16(b, 0) != 4 || le16(b, 2) != 0 {
		t.Fatalf("request body % x", b)
	}
	resp := testResponse(CmdLogoff, []byte{4, 0, 0, 0})
	expectTruncationsFail(t, resp, func(b []byte) error { return LogoffResponse(b).Validate() })
	bad := append([]byte(nil), resp...)
	bad[12] = byte(CmdTreeDisconnect)
	expectErr(t, LogoffResponse(bad).Validate(), ErrBadCommand, "command")
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		buf = LogoffRequest{}.AppendTo(buf[:0])
		if LogoffResponse(resp).Validate() != nil {
			panic("invalid")
		}
	}); n != 0 {
		t.Fatalf("logoff allocates %v times", n)
	}
}

func BenchmarkLogoff(b *testing.B) {
	resp := LogoffResponse(testResponse(CmdLogoff, []byte{4, 0, 0, 0}))
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = LogoffRequest{}.AppendTo(buf[:0])
		if resp.Validate() != nil {
			b.Fatal("invalid")
		}
	}
}

func FuzzLogoffResponse(f *testing.F) {
	f.Add(testResponse(CmdLogoff, []byte{4, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if LogoffResponse(data).Validate() == nil && len(data) < HeaderSize+4 {
			t.Fatal("accepted a short message")
		}
	})
}
