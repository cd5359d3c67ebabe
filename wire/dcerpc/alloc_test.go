package dcerpc

import "testing"

func TestAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	bind := NewBind(1, SRVSVCSyntax)
	req := NetShareEnumRequest{ServerName: `\\server😀`, ResumeHandle: 1}
	stub := make([]byte, 0, 512)
	golden := readGolden(t, "samba-4.17-netshareenum-response.bin")
	ack := BindAck(readGolden(t, "samba-4.17-bind-ack.bin"))
	frags := fragment(2, Response(golden).Stub(), 100)
	joined := make([]byte, 0, 1024)
	fault := Fault(buildFault(2, FaultOpRangeError))
	var sink int

	for name, f := range map[string]func(){
		"Bind.AppendTo": func() { buf = bind.AppendTo(buf[:0]); sink += bind.Size() },
		"NetShareEnumRequest.AppendPDU": func() {
			buf = req.AppendPDU(buf[:0], 2, 0)
			sink += req.PDUSize()
		},
		"Request.AppendTo+FinishRequest": func() {
			stub = req.AppendTo(stub[:0])
			r := Request{CallID: 2, Opnum: OpNetrShareEnum, Stub: stub}
			buf = r.AppendTo(buf[:0])
			buf = (&Request{CallID: 3}).AppendTo(buf[:0])
			buf = req.AppendTo(buf)
			if FinishRequest(buf) != nil {
				panic("FinishRequest")
			}
		},
		"BindAck.Validate": func() {
			if ack.Validate() != nil {
				panic("ack")
			}
			ok, _ := ack.Accepted(0)
			r, _ := ack.Result(0)
			if !ok || r.TransferSyntax != NDRSyntax || len(ack.SecondaryAddress()) == 0 || ack.MaxXmitFrag() == 0 {
				panic("ack fields")
			}
		},
		"Fault.Validate": func() {
			if fault.Validate() != nil || FaultName(fault.Status()) == "" {
				panic("fault")
			}
		},
		"Reassembler+Decode+Next": func() {
			var r Reassembler
			r.Reset(joined, 2, 0)
			for _, f := range frags {
				if _, _, err := r.Add(f); err != nil {
					panic(err)
				}
			}
			var e ShareEnum
			if NetShareEnumResponse(r.Stub()).Decode(&e) != nil {
				panic("decode")
			}
			var s ShareInfo1
			for e.Next(&s) {
				sink += len(s.Name) + len(s.Remark) + len(ShareTypeName(s.Type))
			}
			sink += len(WErrorName(e.WError))
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
	_ = sink
}

func BenchmarkBindAppend(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	bind := NewBind(1, SRVSVCSyntax)
	for b.Loop() {
		buf = bind.AppendTo(buf[:0])
	}
}

func BenchmarkNetShareEnumRequestAppendPDU(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	req := NetShareEnumRequest{ServerName: `\\fileserver01.example.com`}
	for b.Loop() {
		buf = req.AppendPDU(buf[:0], 2, 0)
	}
}

func BenchmarkBindAckValidate(b *testing.B) {
	b.ReportAllocs()
	ack := BindAck(readGolden(b, "samba-4.17-bind-ack.bin"))
	for b.Loop() {
		if ack.Validate() != nil {
			b.Fatal("invalid")
		}
		if ok, _ := ack.Accepted(0); !ok {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkReassemble(b *testing.B) {
	b.ReportAllocs()
	golden := readGolden(b, "samba-4.17-netshareenum-response.bin")
	frags := fragment(2, Response(golden).Stub(), 100)
	buf := make([]byte, 0, 1024)
	var r Reassembler
	for b.Loop() {
		r.Reset(buf, 2, 0)
		for _, f := range frags {
			if _, _, err := r.Add(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkNetShareEnumDecode(b *testing.B) {
	b.ReportAllocs()
	stub := Response(readGolden(b, "samba-4.17-netshareenum-response.bin")).Stub()
	var e ShareEnum
	var s ShareInfo1
	for b.Loop() {
		if err := NetShareEnumResponse(stub).Decode(&e); err != nil {
			b.Fatal(err)
		}
		for e.Next(&s) {
		}
	}
}

func BenchmarkNetShareEnumDecode1000(b *testing.B) {
	b.ReportAllocs()
	shares := make([]tshare, 1000)
	for i := range shares {
		shares[i] = tshare{name: sp("share-name"), remark: sp("a remark of moderate length"), typ: 0}
	}
	stub := buildShareEnum(shareEnumStub{level: 1, shares: shares, total: 1000})
	b.SetBytes(int64(len(stub)))
	var e ShareEnum
	var s ShareInfo1
	for b.Loop() {
		if err := NetShareEnumResponse(stub).Decode(&e); err != nil {
			b.Fatal(err)
		}
		for e.Next(&s) {
		}
	}
}
