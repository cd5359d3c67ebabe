package smb1

import "testing"

// Codec benchmarks of the session layer (make bench): every encode and every decode of a
// captured reply must report 0 allocs/op.

func BenchmarkSessionSetupRequest(b *testing.B) {
	b.ReportAllocs()
	h := Header{Command: CommandSessionSetupAndX, Flags2: ProbeFlags2}
	r := SessionSetupRequest{Unicode: true, SecurityBlob: make([]byte, 120), NativeOS: "Unix", NativeLanMan: "smbsweep"}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = r.AppendTo(h.AppendTo(buf[:0]))
	}
}

func BenchmarkTransactionRequest(b *testing.B) {
	b.ReportAllocs()
	h := Header{Command: CommandTransaction2, Flags2: ProbeFlags2}
	p := FindFirst2Params{SearchAttributes: SearchAttributesAll, SearchCount: 512, InformationLevel: InfoFindFileBothDirectory,
		FileName: `dir\sub\*`, Unicode: true}
	var pbuf [128]byte
	setup := [1]uint16{Trans2FindFirst2}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		r := TransactionRequest{Command: CommandTransaction2, MaxDataCount: 0xffff, Setup: setup[:], Unicode: true,
			Parameters: p.AppendTo(pbuf[:0])}
		buf = r.AppendTo(h.AppendTo(buf[:0]))
	}
}

func BenchmarkFileRequests(b *testing.B) {
	b.ReportAllocs()
	h := Header{Command: CommandNTCreateAndX, Flags2: ProbeFlags2}
	c := NTCreateRequest{FileName: `dir\file.txt`, Unicode: true, CreateDisposition: FileOpen}
	rd := ReadAndXRequest{FID: 1, Offset: 1 << 33, Count: 60 << 10}
	wr := WriteAndXRequest{FID: 1, Data: make([]byte, 4096)}
	cl := CloseRequest{FID: 1}
	buf := make([]byte, 0, 8192)
	for b.Loop() {
		buf = c.AppendTo(h.AppendTo(buf[:0]))
		buf = rd.AppendTo(h.AppendTo(buf[:0]))
		buf = wr.AppendTo(h.AppendTo(buf[:0]))
		buf = cl.AppendTo(h.AppendTo(buf[:0]))
	}
}

func benchDecode(b *testing.B, step string) {
	b.ReportAllocs()
	msg := sessionGolden(b, step)
	var text [256]byte
	var pbuf, dbuf [4096]byte
	dec := func() { decodeAll(msg, text[:0], pbuf[:0], dbuf[:0]) }
	if msg[offCommand] == CommandTransaction || msg[offCommand] == CommandTransaction2 {
		dec = func() { decodeTransaction(step, msg, text[:0], pbuf[:0], dbuf[:0]) }
	}
	for b.Loop() {
		dec()
	}
}

func BenchmarkSessionSetupResponse(b *testing.B) { benchDecode(b, "session-setup-ext") }
func BenchmarkTreeConnectResponse(b *testing.B)  { benchDecode(b, "tree-connect-disk") }
func BenchmarkNTCreateResponse(b *testing.B)     { benchDecode(b, "nt-create") }
func BenchmarkReadAndXResponse(b *testing.B)     { benchDecode(b, "read-andx") }
func BenchmarkFindResponse(b *testing.B)         { benchDecode(b, "find-first2") }
func BenchmarkQueryPathInfoResponse(b *testing.B) {
	benchDecode(b, "query-path-info")
}
func BenchmarkTransactNmPipeResponse(b *testing.B) { benchDecode(b, "transact-nmpipe") }
